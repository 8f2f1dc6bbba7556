"""The jobs app's models, one module per area, re-exported here.

`from jobs.models import Job` keeps working everywhere, and the migrations'
`jobs.models.default_timezone` stays importable.
"""

from jobs.models.jobs import (
    MSG_CHOICES_ONLY_FOR_CHOICE,
    MSG_PARAMETER_DUPLICATE,
    Job,
    JobParameter,
    JobRun,
    JobVersion,
    RunEvent,
    RunEventConsumer,
    RunEventReceipt,
    Schedule,
    Script,
    ScriptReview,
    Secret,
    Worker,
    default_timezone,
)

__all__ = [
    "MSG_CHOICES_ONLY_FOR_CHOICE",
    "MSG_PARAMETER_DUPLICATE",
    "Job",
    "JobParameter",
    "JobRun",
    "JobVersion",
    "RunEvent",
    "RunEventConsumer",
    "RunEventReceipt",
    "Schedule",
    "Script",
    "ScriptReview",
    "Secret",
    "Worker",
    "default_timezone",
]
