"""What both workflows' callbacks share: the callback secret's check, and answering a task token.

Both workflows wait for a vendor's callback with a Step Functions task token (``.waitForTaskToken``)
and fall back to polling when the wait times out; a callback proves itself with a secret in its URL.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from voiceclone.observability import logger

# Step Functions' answers for a token the execution no longer waits on: it timed out to the poll,
# was answered already, or the execution ended. None of them is an error of the caller's.
TOKEN_GONE = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


def token_matches(given: str | None, expected: str | None) -> bool:
    """The callback's secret against the stored one, in constant time; no stored secret accepts nothing."""
    return bool(given and expected) and hmac.compare_digest(
        (given or "").encode("utf-8", "replace"), (expected or "").encode()
    )


def answer_task(send: Callable[[], Any], what: str) -> bool:
    """Send a task token's answer (``send``); False when the execution no longer waits on the token."""
    from botocore.exceptions import ClientError

    try:
        send()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in TOKEN_GONE:
            logger.info(f"the {what} no longer waits for this token", extra={"reason": code})
            return False
        raise
    return True
