"""Vendor tasks that call back: their callback URL and secret, the callback's checks, and waking the workflow.

A job's training and an asynchronous speech's synthesis are each a task at the vendor that the
service waits on with a Step Functions task token (``.waitForTaskToken``), falling back to
polling when the wait times out. The vendor calls back at ``/v1/callbacks/{vendor}/{id}?token=…``
(the id says whose task: voiceclone.logic.core.ids). Every callback goes through :func:`handle`:

1. a body over MAX_CALLBACK_BYTES is a 413, an id the service never issues a 404;
2. the owner (the job or the speech) is loaded; unknown, or another vendor's: 404;
3. the secret in the URL is compared in constant time: 401 unless it is the owner's;
4. the adapter reads the body (any failure to read it is the body's: 400);
5. the owner's kind acts on it: confirms with the vendor (the body is a hint only) and wakes the
   workflow's wait. A vendor that is throttled or down while confirming is a 503 (the vendor may
   call again; else the wait times out to the poll), noted on the owner where its kind says so.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from botocore.exceptions import ClientError

from voiceclone.domain.errors import VendorError, VendorThrottled, VendorUnavailable
from voiceclone.logic.core.ids import ID
from voiceclone.logic.core.services import Services
from voiceclone.observability import logger
from voiceclone.vendors.base import VendorAdapter

# The largest callback body taken: every vendor's callback is a small JSON document (a few KB at
# most); anything bigger is refused with 413 before it is read.
MAX_CALLBACK_BYTES = 256 * 1024
# Step Functions' answers for a token the execution no longer waits on: it timed out to the poll,
# was answered already, or the execution ended. None of them is an error of the caller's.
TOKEN_GONE = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


def new_callback_token() -> str:
    """The secret a vendor task's callback URL carries (made once per job or speech)."""
    return secrets.token_urlsafe(32)


def callback_url(api_url: str, vendor: str, owner_id: str, token: str | None) -> str | None:
    """Where the vendor calls back for ``owner_id``'s task; None without an API URL or a token (polled)."""
    if not api_url or not token:
        return None
    return f"{api_url.rstrip('/')}/v1/callbacks/{vendor}/{owner_id}?token={token}"


def token_matches(given: str | None, expected: str | None) -> bool:
    """The callback's secret against the stored one, in constant time; no stored secret accepts nothing."""
    return bool(given and expected) and hmac.compare_digest(
        (given or "").encode("utf-8", "replace"), (expected or "").encode()
    )


def answer_task(send: Callable[[], Any], what: str) -> bool:
    """Send a task token's answer (``send``); False when the execution no longer waits on the token."""
    try:
        send()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in TOKEN_GONE:
            logger.info(f"the {what} no longer waits for this token", extra={"reason": code})
            return False
        raise
    return True


@dataclass(frozen=True)
class CallbackResult:
    status_code: int
    message: str
    # Set on every refusal (4xx, 5xx): a stable name of what went wrong, as the REST API's `error`.
    error: str | None = None

    def body(self) -> dict[str, str]:
        return {"error": self.error, "message": self.message} if self.error else {"message": self.message}


class TaskOwner(Protocol):
    """What waits on a vendor task: a job or a speech."""

    @property
    def vendor(self) -> str: ...

    @property
    def callback_token(self) -> str | None: ...


Owner = TypeVar("Owner", bound=TaskOwner)
Hint = TypeVar("Hint")


class CallbackKind(Protocol, Generic[Owner, Hint]):
    """One kind of vendor task (training, speech synthesis): how its callbacks are read and acted on."""

    # The owner in words and the 404's error code ("job", "JobNotFound").
    what: str
    not_found: str

    def load(self, svc: Services, owner_id: str) -> Owner | None:
        """The owner the callback's id names, of any tenant (a vendor names no tenant)."""

    def parse(self, adapter: VendorAdapter) -> Callable[[bytes], Hint]:
        """The adapter's reader of this kind's callback bodies."""

    def act(self, svc: Services, adapter: VendorAdapter, owner: Owner, hint: Hint) -> CallbackResult:
        """Confirm with the vendor and wake the workflow; VendorThrottled/Unavailable may propagate."""

    def vendor_unavailable(self, svc: Services, owner: Owner, error: VendorError) -> None:
        """The vendor could not confirm now (throttled, down): keep that on the owner where it shows."""


def handle(
    svc: Services,
    kind: CallbackKind[Owner, Hint],
    vendor: str,
    owner_id: str,
    token: str | None,
    body: bytes,
) -> CallbackResult:
    """A vendor's callback for ``owner_id``'s task, checked and acted on (the module's steps)."""
    if len(body) > MAX_CALLBACK_BYTES:
        return CallbackResult(413, f"the callback body is over {MAX_CALLBACK_BYTES} bytes", "PayloadTooLarge")
    if not ID.match(vendor) or not ID.match(owner_id):
        return CallbackResult(404, f"unknown {kind.what}", kind.not_found)
    owner = kind.load(svc, owner_id)
    if owner is None or owner.vendor != vendor:
        return CallbackResult(404, f"unknown {kind.what}", kind.not_found)
    # Constant-time comparison; an owner without a token (nothing submitted yet) accepts no callback.
    if not token_matches(token, owner.callback_token):
        logger.warning(f"{kind.what} callback with a wrong token rejected", extra={"owner_id": owner_id})
        return CallbackResult(401, "invalid callback token", "InvalidCallbackToken")
    adapter = svc.adapter_for(vendor)
    hint = parse_callback_body(kind.parse(adapter), body, vendor, kind.what, owner_id)
    if isinstance(hint, CallbackResult):
        return hint
    # The body is a hint only: the kind asks the vendor. When the vendor's API is throttled or down,
    # 503 asks it to call again; should it not, the wait times out to the poll: the outage fails nothing.
    try:
        return kind.act(svc, adapter, owner, hint)
    except (VendorThrottled, VendorUnavailable) as exc:
        kind.vendor_unavailable(svc, owner, exc)
        return CallbackResult(
            503, f"cannot confirm with {vendor} now ({exc.code}): call again later", type(exc).__name__
        )


def parse_callback_body(
    parse: Callable[[bytes], Hint], body: bytes, vendor: str, what: str, owner_id: str
) -> Hint | CallbackResult:
    """The adapter's reading of a callback body, or the 400 that says the body is no callback of `vendor`'s.

    Parsing does no I/O, so whatever it raises is the body's fault; the unexpected is logged with
    the owner's id.
    """
    try:
        return parse(body)
    except VendorError as exc:
        return CallbackResult(400, exc.message, "BadCallback")
    except Exception as exc:  # noqa: BLE001 - parsing only, no I/O: whatever fails is the body's fault
        logger.warning(
            f"unreadable {what} callback body", extra={"owner_id": owner_id, "error": type(exc).__name__}
        )
        return CallbackResult(400, f"the callback body is not a {vendor} callback", "BadCallback")
