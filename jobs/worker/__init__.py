"""The worker behind ``manage.py runworker``: scheduler and executor.

`loop.WorkerLoop` strings the steps together (heartbeat, lost-run recovery,
scheduling due slots, claiming, waiting); `execution.RunExecutor` runs one
claimed run's process and records how it ended.
"""

from jobs.policies import CAUSE_CANCEL, CAUSE_SHUTDOWN, outcome_for
from jobs.worker.execution import InFlight, RunExecutor, backoff_seconds
from jobs.worker.loop import CANCEL_CHECK_SECONDS, WorkerLoop, default_worker_name

__all__ = [
    "CANCEL_CHECK_SECONDS",
    "CAUSE_CANCEL",
    "CAUSE_SHUTDOWN",
    "InFlight",
    "RunExecutor",
    "WorkerLoop",
    "backoff_seconds",
    "default_worker_name",
    "outcome_for",
]
