"""The jobs app's errors: one base class, narrow subclasses where they live.

Pure Python, so that the pure modules (schedule, script paths, runner) can
raise them too. Callers that only need "any expected jobs failure" catch
`JobsError`; the API's exception handler maps it to 400.
"""


class JobsError(Exception):
    """An expected failure of a jobs operation, with a message for the user."""
