"""Blind listening: which pair a listener hears next, and the ranking the votes make.

A listener hears the same probe sentence spoken by two of a comparison's voices, as A and B in a
random order, without their vendors' names, and says which sounds better, or that they sound the
same. Votes are counted per pair of vendors; the ranking is shown once every pair has
``MIN_VOTES_PER_PAIR`` votes, so no vendor leads on one listener's first impression.

The ranking is the Bradley–Terry model: each vendor ``i`` has a strength ``p_i`` such that ``i`` is
preferred to ``j`` with probability ``p_i / (p_i + p_j)``. It is fitted by the minorise-maximise
iteration of Hunter (2004, "MM algorithms for generalized Bradley–Terry models", Annals of
Statistics 32(1)), which converges to the maximum-likelihood strengths whenever every vendor has
won and lost against the others at least in part. So that a vendor with no win (or no loss) yet
keeps a finite strength, every pair starts with one virtual "same" vote; a "same" counts half a
win to each side. The strengths are scaled to sum to 1 and shown beside the plain win rate, which
a reader can check by hand.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Literal

from voiceclone.domain.base import BaseModel

MIN_VOTES_PER_PAIR = 3
# The virtual "same" vote each pair starts with (half a win to each side): the prior that keeps a
# vendor with no win or no loss yet at a finite strength.
PRIOR_SAME_VOTES = 1.0
ITERATIONS = 200
TOLERANCE = 1e-10

Choice = Literal["a", "b", "same"]


class Vote(BaseModel):
    """One listener's answer to one pair: ``first`` was played as A, ``second`` as B."""

    first: str
    second: str
    choice: Choice


class RankedVendor(BaseModel):
    vendor: str
    rank: int
    strength: float
    wins: int
    losses: int
    same: int
    win_rate: float  # (wins + same / 2) / votes


def pair_key(a: str, b: str) -> tuple[str, str]:
    """The pair as one key, whatever order it was played in."""
    return (a, b) if a <= b else (b, a)


def votes_per_pair(vendors: Sequence[str], votes: Iterable[Vote]) -> dict[tuple[str, str], int]:
    counts = Counter(pair_key(v.first, v.second) for v in votes)
    return {pair: counts.get(pair, 0) for pair in (pair_key(a, b) for a, b in combinations(vendors, 2))}


def ranking_ready(vendors: Sequence[str], votes: Iterable[Vote]) -> bool:
    """Every pair of vendors heard at least MIN_VOTES_PER_PAIR times (two vendors or more)."""
    counts = votes_per_pair(vendors, votes)
    return bool(counts) and min(counts.values()) >= MIN_VOTES_PER_PAIR


def next_pair(
    vendors: Sequence[str], probes: Sequence[str], votes: Iterable[Vote], rng: random.Random
) -> tuple[str, str, str]:
    """The pair to play next: (vendor played as A, vendor played as B, probe id).

    A pair with the fewest votes so far (ties broken at random), a random probe, and a random
    order, so neither the position nor the sequence tells the listener which vendor is which.
    """
    if len(vendors) < 2 or not probes:
        raise ValueError("a pair needs two voices and a probe to speak")
    counts = votes_per_pair(vendors, votes)
    fewest = min(counts.values())
    a, b = rng.choice(sorted(pair for pair, n in counts.items() if n == fewest))
    if rng.random() < 0.5:
        a, b = b, a
    return a, b, rng.choice(list(probes))


def _wins(vendors: Sequence[str], votes: Iterable[Vote]) -> dict[tuple[str, str], float]:
    """wins[(i, j)]: how often i was preferred to j, a "same" and the prior counting half to each."""
    wins = {(i, j): PRIOR_SAME_VOTES / 2 for i in vendors for j in vendors if i != j}
    for vote in votes:
        if vote.first not in vendors or vote.second not in vendors or vote.first == vote.second:
            continue  # a vote about a vendor no longer compared (its voice was deleted)
        if vote.choice == "same":
            wins[(vote.first, vote.second)] += 0.5
            wins[(vote.second, vote.first)] += 0.5
        else:
            winner, loser = (vote.first, vote.second) if vote.choice == "a" else (vote.second, vote.first)
            wins[(winner, loser)] += 1.0
    return wins


def bradley_terry(vendors: Sequence[str], votes: Iterable[Vote]) -> dict[str, float]:
    """Each vendor's Bradley–Terry strength (summing to 1), by Hunter's MM iteration."""
    wins = _wins(vendors, votes)
    strength = dict.fromkeys(vendors, 1.0 / len(vendors))
    for _ in range(ITERATIONS):
        updated = {}
        for i in vendors:
            won = sum(wins[(i, j)] for j in vendors if j != i)
            pace = sum((wins[(i, j)] + wins[(j, i)]) / (strength[i] + strength[j]) for j in vendors if j != i)
            updated[i] = won / pace
        total = sum(updated.values())
        updated = {v: s / total for v, s in updated.items()}
        change = max(abs(updated[v] - strength[v]) for v in vendors)
        strength = updated
        if change < TOLERANCE:
            break
    return strength


def rank(vendors: Sequence[str], votes: Sequence[Vote]) -> list[RankedVendor]:
    """The vendors, strongest first (ties in strength by name), with their counts beside."""
    if len(vendors) < 2:
        raise ValueError("a ranking needs two voices")
    strength = bradley_terry(vendors, votes)
    tally = {v: Counter[str]() for v in vendors}
    for vote in votes:
        if vote.first not in tally or vote.second not in tally or vote.first == vote.second:
            continue
        if vote.choice == "same":
            tally[vote.first]["same"] += 1
            tally[vote.second]["same"] += 1
        else:
            winner, loser = (vote.first, vote.second) if vote.choice == "a" else (vote.second, vote.first)
            tally[winner]["wins"] += 1
            tally[loser]["losses"] += 1
    order = sorted(vendors, key=lambda v: (-strength[v], v))
    ranked = []
    for place, vendor in enumerate(order, start=1):
        t = tally[vendor]
        heard = t["wins"] + t["losses"] + t["same"]
        ranked.append(
            RankedVendor(
                vendor=vendor,
                rank=place,
                strength=round(strength[vendor], 4),
                wins=t["wins"],
                losses=t["losses"],
                same=t["same"],
                win_rate=round((t["wins"] + t["same"] / 2) / heard, 4) if heard else 0.0,
            )
        )
    return ranked
