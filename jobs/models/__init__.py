"""The jobs app's models, one module per area, re-exported here.

`from jobs.models import Job` keeps working everywhere, and the migrations'
`jobs.models.default_timezone` stays importable.
"""

from jobs.models.blackouts import BlackoutCalendar, BlackoutWindow
from jobs.models.dependencies import JobDependency, JobRunUpstream
from jobs.models.events import RunEvent, RunEventConsumer, RunEventReceipt
from jobs.models.jobs import Job, Schedule, default_timezone
from jobs.models.metrics import (
    JobLastOutcome,
    JobMetricHour,
    JobWeek,
    MetricHour,
    MetricTotal,
)
from jobs.models.parameters import (
    MSG_CHOICES_ONLY_FOR_CHOICE,
    MSG_PARAMETER_DUPLICATE,
    JobParameter,
)
from jobs.models.runs import JobRun, RunArtifact, Worker
from jobs.models.scripts import Script, ScriptReview
from jobs.models.secrets import Secret
from jobs.models.templates import JobTemplate, JobTemplateVersion
from jobs.models.versions import JobVersion, SnapshotVersion

__all__ = [
    "MSG_CHOICES_ONLY_FOR_CHOICE",
    "MSG_PARAMETER_DUPLICATE",
    "BlackoutCalendar",
    "BlackoutWindow",
    "Job",
    "JobDependency",
    "JobLastOutcome",
    "JobMetricHour",
    "JobParameter",
    "JobRun",
    "JobRunUpstream",
    "JobTemplate",
    "JobTemplateVersion",
    "JobVersion",
    "JobWeek",
    "MetricHour",
    "MetricTotal",
    "RunArtifact",
    "RunEvent",
    "RunEventConsumer",
    "RunEventReceipt",
    "Schedule",
    "Script",
    "ScriptReview",
    "Secret",
    "SnapshotVersion",
    "Worker",
    "default_timezone",
]
