"""The behaviour knobs every sandbox has: how long training takes, and the faults it injects.

Faults (:class:`Fault`) come from counters ("the next N requests are throttled") or at random, with
a probability per kind drawn from one seeded ``random.Random`` per sandbox (:class:`FaultDice`);
voiceclone_local.sandboxes.base injects both, in requests and in callbacks, for every vendor.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from voiceclone.vendors.config import env_name


def env_or(vendor_id: str, field_name: str, default: str) -> Callable[[], str]:
    """A default factory: the vendor's setting variable (the adapter reads it too), else a fixed value."""
    return lambda: os.environ.get(env_name(vendor_id, field_name)) or default


class Fault(StrEnum):
    """What a sandbox can do wrong; each kind is counted as injected (SandboxBase.faults_injected)."""

    # Refusals, in the vendor's own terms (fault_error), to authenticated requests only.
    THROTTLE = "throttle"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"
    # Transport faults, on any request: an answer after the caller's timeout, a closed connection.
    TIMEOUT = "timeout"
    DROPPED = "dropped"
    # Callbacks: one never sent, one sent several times at once.
    LOST_CALLBACK = "lost_callback"
    DUPLICATE_CALLBACK = "duplicate_callback"


REFUSALS = (Fault.THROTTLE, Fault.INTERNAL, Fault.UNAVAILABLE)
TRANSPORT_FAULTS = (Fault.TIMEOUT, Fault.DROPPED)
CALLBACK_FAULTS = (Fault.LOST_CALLBACK, Fault.DUPLICATE_CALLBACK)


class FaultRates(BaseModel):
    """The probability of each fault: per request for the request faults, per callback for the others.

    A request draws once among the kinds that apply to it, a callback once among the callback
    kinds, so each group's probabilities add up to at most 1.
    """

    model_config = ConfigDict(frozen=True)

    throttle: float = Field(default=0.0, ge=0, le=1)
    internal: float = Field(default=0.0, ge=0, le=1)
    unavailable: float = Field(default=0.0, ge=0, le=1)
    timeout: float = Field(default=0.0, ge=0, le=1)
    dropped: float = Field(default=0.0, ge=0, le=1)
    lost_callback: float = Field(default=0.0, ge=0, le=1)
    duplicate_callback: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _each_group_at_most_one(self) -> Self:
        for group in (REFUSALS + TRANSPORT_FAULTS, CALLBACK_FAULTS):
            total = sum(self.of(kind) for kind in group)
            if total > 1:
                names = ", ".join(kind.value for kind in group)
                raise ValueError(f"the probabilities of {names} add up to {total:g}, more than 1")
        return self

    def of(self, kind: Fault) -> float:
        rate: float = getattr(self, kind.value)
        return rate


class FaultDice:
    """Faults at random: one ``random.Random`` per sandbox, one draw per request or callback.

    A seed names a sequence of draws (one seed, one sequence); which request
    gets which draw depends on the order requests arrive in, which a concurrent run does not fix.
    """

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def draw(self, rates: FaultRates, kinds: Sequence[Fault]) -> Fault | None:
        """One of ``kinds`` with its probability in ``rates``, or None (no fault) with what is left."""
        point = self._random.random()
        for kind in kinds:
            rate = rates.of(kind)
            if point < rate:
                return kind
            point -= rate
        return None


class SandboxConfig(BaseModel):
    """Behaviour knobs every sandbox has; mutable at runtime (tests change them between jobs)."""

    model_config = ConfigDict(validate_assignment=True)

    # Time from create to success/failure; the first fifth of it the task is queued (PENDING).
    training_seconds: float = Field(default=2.0, ge=0)
    fail_training: str | None = None  # the vendor's failure reason, when set
    # The next N authenticated requests are refused as the vendor refuses them: rate limited
    # (HTTP 429), failed inside (500), unavailable (503); each answer carries the vendor's own code.
    throttle_first: int = Field(default=0, ge=0)
    internal_error_first: int = Field(default=0, ge=0)
    unavailable_first: int = Field(default=0, ge=0)
    # The next N create calls are performed and then the connection is dropped without an answer.
    drop_create_response_first: int = Field(default=0, ge=0)
    # Checked when a task finishes, so turning it off also silences tasks already running.
    callback_enabled: bool = True
    # Delivery attempts per callback (first try included) and the base of the exponential pause between them.
    callback_attempts: int = Field(default=3, ge=1)
    callback_retry_seconds: float = Field(default=0.2, ge=0)
    # The next N requests of any kind (presigned uploads and file downloads too) answer late: held
    # past the caller's vendor timeout, then performed and answered (to nobody, if the caller gave up).
    timeout_first: int = Field(default=0, ge=0)
    # The next N requests of any kind are performed, then the connection is closed unanswered.
    drop_response_first: int = Field(default=0, ge=0)
    # The next N callbacks are never sent; the next N after those are sent `callback_copies` times at once.
    lose_callback_first: int = Field(default=0, ge=0)
    duplicate_callback_first: int = Field(default=0, ge=0)
    callback_copies: int = Field(default=2, ge=2)
    # How long a late answer is held; None: the service's vendor timeout (VOICECLONE_VENDOR_TIMEOUT_SECONDS,
    # read when the fault happens, as the local stack sets it for its functions) and one second more.
    late_answer_seconds: float | None = Field(default=None, gt=0)
    # Faults at random (the soak): each kind's probability per request or per callback, drawn from one
    # random.Random per sandbox seeded with `fault_seed` and the vendor id (FaultDice).
    fault_rates: FaultRates = Field(default_factory=FaultRates)
    fault_seed: int = 0


# The counter each fault consumes, in the order they are consumed.
FAULT_KNOBS = (
    (Fault.THROTTLE, "throttle_first"),
    (Fault.INTERNAL, "internal_error_first"),
    (Fault.UNAVAILABLE, "unavailable_first"),
    (Fault.TIMEOUT, "timeout_first"),
    (Fault.DROPPED, "drop_response_first"),
)
CALLBACK_KNOBS = (
    (Fault.LOST_CALLBACK, "lose_callback_first"),
    (Fault.DUPLICATE_CALLBACK, "duplicate_callback_first"),
)
