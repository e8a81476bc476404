"""Random faults in the sandboxes: which fault a request or a callback gets, reproducible from a seed."""

from __future__ import annotations

from collections import Counter

import pytest
from pydantic import ValidationError
from voiceclone_local.sandboxes.knobs import (
    CALLBACK_FAULTS,
    REFUSALS,
    TRANSPORT_FAULTS,
    Fault,
    FaultDice,
    FaultRates,
    SandboxConfig,
)

REQUEST_FAULTS = REFUSALS + TRANSPORT_FAULTS
RATES = FaultRates(throttle=0.1, internal=0.05, unavailable=0.05, timeout=0.1, dropped=0.2, lost_callback=0.3)


def draws(seed: str, count: int, kinds: tuple[Fault, ...] = REQUEST_FAULTS) -> list[Fault | None]:
    dice = FaultDice(seed)
    return [dice.draw(RATES, kinds) for _ in range(count)]


def test_the_same_seed_draws_the_same_faults_and_another_seed_others() -> None:
    # Given two dice with one seed and one with another / When each draws 200 times
    first, again, other = draws("7:qiniu", 200), draws("7:qiniu", 200), draws("8:qiniu", 200)
    # Then the first two agree draw for draw, and the third does not
    assert first == again
    assert first != other
    # ...and the vendor is part of it: one soak seed gives each sandbox a sequence of its own
    assert first != draws("7:huawei", 200)


def test_each_kind_comes_about_as_often_as_its_probability() -> None:
    # Given 20,000 draws among the request faults (one fixed seed: the counts below are exact)
    counts = Counter(draws("0:tencent_vrs", 20_000))
    # Then each kind's share is its probability, within one point; no fault the rest of the time
    for kind in REQUEST_FAULTS:
        assert counts[kind] / 20_000 == pytest.approx(RATES.of(kind), abs=0.01), kind
    assert counts[None] / 20_000 == pytest.approx(0.5, abs=0.01)
    assert not set(counts) & set(CALLBACK_FAULTS)


def test_a_draw_picks_only_among_the_kinds_that_apply() -> None:
    # A presigned upload can be answered late or lose its answer, but not be throttled in the API's terms
    assert set(draws("1:huawei", 2_000, TRANSPORT_FAULTS)) == {None, Fault.TIMEOUT, Fault.DROPPED}
    # A callback is lost (30 %) or sent as it should be (duplicates are at 0 here)
    assert set(draws("1:huawei", 2_000, CALLBACK_FAULTS)) == {None, Fault.LOST_CALLBACK}


def test_zero_rates_never_inject() -> None:
    dice = FaultDice("3:volcengine")
    assert {dice.draw(FaultRates(), REQUEST_FAULTS) for _ in range(1_000)} == {None}


def test_probabilities_of_one_draw_cannot_add_up_past_one() -> None:
    with pytest.raises(ValidationError, match=r"add up to 1\.2"):
        FaultRates(throttle=0.5, internal=0.5, dropped=0.2)
    with pytest.raises(ValidationError, match=r"add up to 1\.5"):
        FaultRates(lost_callback=0.75, duplicate_callback=0.75)
    # Request and callback faults are separate draws: each group may reach 1 on its own
    assert FaultRates(dropped=1.0, lost_callback=1.0).of(Fault.DROPPED) == 1.0


def test_random_faults_are_off_by_default() -> None:
    config = SandboxConfig()
    assert all(config.fault_rates.of(kind) == 0 for kind in Fault)
    assert (config.timeout_first, config.drop_response_first) == (0, 0)
    assert (config.lose_callback_first, config.duplicate_callback_first) == (0, 0)
