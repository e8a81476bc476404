"""The error taxonomy: what may be retried, what is final, and what the client is told.

The class name is the error name Step Functions sees (Lambda's ``errorType``),
so the state machine retries on ``VendorThrottled`` and ``VendorUnavailable``
and catches everything else into MarkFailed. ``str(error)`` is a JSON object
with the vendor's code and message, so MarkFailed can keep them on the job.
"""

from __future__ import annotations

import json
from typing import Any

# Error names the workflow retries (the CDK Retry blocks use this tuple).
RETRYABLE_ERRORS: tuple[str, ...] = ("VendorThrottled", "VendorUnavailable")


class VoicecloneError(Exception):
    """Base of every error this service raises on purpose."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "code": self.code, "message": self.message, **self.details}

    def __str__(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)


class VendorError(VoicecloneError):
    """A vendor said no, or could not be reached. Carries the vendor's own code and message."""

    retryable = False

    def __init__(self, vendor: str, code: str, message: str, **details: Any) -> None:
        super().__init__(code, message, vendor=vendor, **details)
        self.vendor = vendor


class VendorThrottled(VendorError):
    """Rate limited: retry later with backoff."""

    retryable = True


# The code of a VendorUnavailable that waited the whole timeout for the vendor's answer.
TIMEOUT_CODE = "Timeout"


class VendorUnavailable(VendorError):
    """Network failure, timeout, 5xx or the vendor's internal error: retry later."""

    retryable = True


class VendorRejected(VendorError):
    """The request itself is wrong (parameters, quota, state): retrying will not help."""


class VendorAuthError(VendorError):
    """Credentials are wrong, expired or lack permission: fix the configuration."""


class TrainingFailed(VendorError):
    """The vendor accepted the task and later reported that training failed."""


class TrainingTimedOut(VoicecloneError):
    """No result within the configured training deadline: the job is failed, not left waiting."""


class NotFound(VoicecloneError):
    """The resource does not exist for this tenant (never says whether it exists for another)."""


class InvalidRequest(VoicecloneError):
    """The request is well-formed but cannot be served as asked (e.g. an option the vendor lacks)."""


class InvalidField(InvalidRequest):
    """One field breaks a rule its schema cannot state (e.g. the vendor's name length): the API's 422.

    ``loc`` is where, as in a validation error's detail: ``("body", "voice_name")``.
    """

    def __init__(self, loc: tuple[str, ...], code: str, message: str, **details: Any) -> None:
        super().__init__(code, message, **details)
        self.loc = loc


class InvalidFields(InvalidRequest):
    """Several fields break rules their schema cannot state, all named at once (the API's 422).

    ``problems`` holds each as (loc, code, message), ``loc`` as in a validation error's detail.
    """

    def __init__(self, problems: list[tuple[tuple[str, ...], str, str]]) -> None:
        super().__init__(problems[0][1], "; ".join(f"{'.'.join(loc)}: {msg}" for loc, _, msg in problems))
        self.problems = problems


class Conflict(VoicecloneError):
    """The request conflicts with the record's state (the API's 409), or a write kept losing to others."""


class VersionConflict(Conflict):
    """A versioned write lost: someone else changed the record since it was read (read it again)."""


class UploadRefused(Conflict):
    """An upload the job no longer waits for: its job moved on, or its sentence already passed."""


class PhraseTaken(Conflict):
    """The one-time phrase drawn for a new job was issued before: draw another (never reuse one)."""


class ConsentMissing(VoicecloneError):
    """No consent on record for a job: no vendor task is created for it (the job ends FAILED)."""


class StorageError(VoicecloneError):
    """S3 or DynamoDB refused a write the service needs; retrying later may help."""


class InvalidTransition(VoicecloneError):
    """A job status change that the lifecycle does not allow."""


def parse_cause(cause: str | None) -> dict[str, Any]:
    """Recover ``{error, code, message, ...}`` from a Step Functions ``Cause``.

    A Lambda error's Cause is JSON holding ``errorMessage``; ours is in turn the
    JSON of :meth:`VoicecloneError.to_dict`. Anything else is kept as text.
    """
    if not cause:
        return {}
    try:
        outer = json.loads(cause)
    except ValueError:
        return {"message": cause}
    if not isinstance(outer, dict):
        return {"message": cause}
    inner = outer.get("errorMessage")
    if isinstance(inner, str):
        try:
            parsed = json.loads(inner)
        except ValueError:
            return {"error": outer.get("errorType"), "message": inner}
        if isinstance(parsed, dict):
            return parsed
        return {"error": outer.get("errorType"), "message": inner}
    return outer
