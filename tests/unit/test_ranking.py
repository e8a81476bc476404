"""Blind listening's arithmetic: the pair played next, when a ranking is shown, and Bradley–Terry."""

from __future__ import annotations

import random
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voiceclone.domain.ranking import (
    MIN_VOTES_PER_PAIR,
    PRIOR_SAME_VOTES,
    Vote,
    bradley_terry,
    next_pair,
    rank,
    ranking_ready,
    votes_per_pair,
)

VENDORS = ("huawei", "qiniu", "tencent_vrs", "volcengine")


def votes(first: str, second: str, choice: str, n: int) -> list[Vote]:
    return [Vote(first=first, second=second, choice=choice) for _ in range(n)]  # type: ignore[arg-type]


def test_two_vendors_strengths_are_their_share_of_the_wins_prior_included() -> None:
    # Given A preferred three times, B once, played in both orders
    heard = votes("a", "b", "a", 2) + votes("b", "a", "b", 1) + votes("a", "b", "b", 1)
    # Then A's strength is its share of the wins, the virtual "same" vote counting half to each
    half = PRIOR_SAME_VOTES / 2
    assert bradley_terry(["a", "b"], heard)["a"] == pytest.approx((3 + half) / (4 + 2 * half))


def test_a_same_vote_counts_half_a_win_to_each() -> None:
    heard = votes("a", "b", "a", 1) + votes("a", "b", "same", 2)
    half = PRIOR_SAME_VOTES / 2
    assert bradley_terry(["a", "b"], heard)["a"] == pytest.approx((2 + half) / (3 + 2 * half))


@given(
    st.lists(
        st.tuples(st.sampled_from(VENDORS), st.sampled_from(VENDORS), st.sampled_from(["a", "b", "same"])),
        max_size=40,
    )
)
def test_the_fitted_strengths_solve_the_likelihood_equations(raw: list[tuple[str, str, str]]) -> None:
    heard = [Vote(first=f, second=s, choice=c) for f, s, c in raw if f != s]  # type: ignore[arg-type]
    p = bradley_terry(VENDORS, heard)
    assert sum(p.values()) == pytest.approx(1.0)
    # Maximum likelihood: each vendor's expected wins equal its wins (prior and halves included)
    half = PRIOR_SAME_VOTES / 2
    for i in VENDORS:
        won = expected = 0.0
        for j in VENDORS:
            if j == i:
                continue
            i_won = ((i, j, "a"), (j, i, "b"))
            pair = [v for v in heard if {v.first, v.second} == {i, j}]
            w_ij = half + sum(_won_by_i(v, i_won) for v in pair)
            n_ij = PRIOR_SAME_VOTES + len(pair)
            won += w_ij
            expected += n_ij * p[i] / (p[i] + p[j])
        assert expected == pytest.approx(won, rel=1e-6)


def _won_by_i(vote: Vote, i_won: tuple[tuple[str, str, str], ...]) -> float:
    return 1.0 if (vote.first, vote.second, vote.choice) in i_won else 0.5 * (vote.choice == "same")


def test_a_vendor_preferred_in_every_pair_ranks_first_and_the_order_follows_the_votes() -> None:
    order = ["volcengine", "huawei", "tencent_vrs", "qiniu"]
    heard = []
    for better, worse in combinations(order, 2):
        heard += votes(better, worse, "a", 2) + votes(worse, better, "b", 1) + votes(better, worse, "same", 1)
    ranked = rank(sorted(order), heard)
    assert [r.vendor for r in ranked] == order
    assert [r.rank for r in ranked] == [1, 2, 3, 4]
    top = ranked[0]
    assert (top.wins, top.losses, top.same) == (9, 0, 3)
    assert top.win_rate == pytest.approx((9 + 1.5) / 12, abs=1e-4)


def test_votes_about_a_vendor_no_longer_compared_are_left_out() -> None:
    heard = votes("a", "b", "a", 3) + votes("a", "gone", "b", 5)
    assert bradley_terry(["a", "b"], heard) == bradley_terry(["a", "b"], votes("a", "b", "a", 3))
    assert [r.wins for r in rank(["a", "b"], heard)] == [3, 0]


def test_the_ranking_waits_until_every_pair_has_its_votes() -> None:
    vendors = ["a", "b", "c"]
    heard = votes("a", "b", "a", MIN_VOTES_PER_PAIR) + votes("c", "a", "same", MIN_VOTES_PER_PAIR)
    assert not ranking_ready(vendors, heard)
    heard += votes("b", "c", "b", MIN_VOTES_PER_PAIR - 1)
    assert not ranking_ready(vendors, heard)
    heard += votes("c", "b", "a", 1)  # the pair counts whichever order it was played in
    assert ranking_ready(vendors, heard)
    assert votes_per_pair(vendors, heard) == {("a", "b"): 3, ("a", "c"): 3, ("b", "c"): 3}


def test_the_next_pair_is_one_heard_least_in_either_order_with_any_probe() -> None:
    vendors = ["a", "b", "c"]
    heard = votes("a", "b", "a", 2) + votes("a", "c", "a", 1)
    rng = random.Random(5)
    drawn = [next_pair(vendors, ["p1", "p2"], heard, rng) for _ in range(200)]
    assert {frozenset(d[:2]) for d in drawn} == {frozenset({"b", "c"})}
    assert {d[:2] for d in drawn} == {("b", "c"), ("c", "b")}  # both orders played
    assert {d[2] for d in drawn} == {"p1", "p2"}


def test_a_pair_needs_two_voices_and_a_probe() -> None:
    with pytest.raises(ValueError):
        next_pair(["a"], ["p1"], [], random.Random(1))
    with pytest.raises(ValueError):
        next_pair(["a", "b"], [], [], random.Random(1))
    with pytest.raises(ValueError):
        rank(["a"], [])
