"""How the benchmarks print a measured figure: its median and its range, as the facts per voice keep them."""

from __future__ import annotations

from collections.abc import Iterable

from voiceclone.domain.facts import Spread


def ms(seconds: Iterable[float]) -> str:
    """Seconds as "median ms (lowest-highest)": one format for every benchmark's latency columns."""
    spread = Spread.of(seconds)
    if spread is None:
        return "no figures"
    return f"{spread.median * 1000:6.1f} ms ({spread.low * 1000:.0f}-{spread.high * 1000:.0f})"
