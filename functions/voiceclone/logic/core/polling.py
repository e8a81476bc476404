"""Where a poll starts: the first wait and the cap, from the vendor's pace unless configuration sets one.

Both workflows poll a vendor task the same way (voiceclone.domain.polling.PollState grows the wait
by the backoff up to the cap, within a deadline); each starts its poll here.
"""

from __future__ import annotations

import time

from voiceclone.domain.polling import PollState
from voiceclone.logic.core.services import Services


def now() -> float:
    """The clock the poll deadlines run on (tests replace it to pass hours in a moment)."""
    return time.time()


def first_poll(svc: Services, vendor_initial_seconds: int, vendor_max_seconds: int) -> PollState:
    """The first wait and the cap: the vendor's pace, or the configured one (the local stack's seconds)."""
    settings = svc.settings
    return PollState.start(
        initial_seconds=settings.poll_initial_seconds or vendor_initial_seconds,
        max_seconds=settings.poll_max_seconds or vendor_max_seconds,
        now=now(),
    )
