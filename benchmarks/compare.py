"""The facts per cloned voice for every vendor: a voice cloned at each on a local stack, the probes spoken.

For each vendor (in the registry's order) a voice is cloned from the sample recordings through the
API, as ``benchmarks/speech.py`` clones, then measured by ``voiceclone.logic.comparisons.facts.measure``
exactly as a comparison measures it: every probe of the voice's language spoken once through the
vendor's adapter (its stream where it has one, else its whole answer, an async vendor's job polled
at its declared pace), the audio measured. One row per vendor: how the audio came, the time to the
first audio and the real-time factor (median and range over the probes), the speech level, the
clipping and the silences (medians), the probes spoken, and the configured price per 1,000
characters (``VOICECLONE_<VENDOR>_PRICE_PER_1K_CHARS``; "not configured" without one).

On the local stack these are the sandboxes' figures: their configured delays (``--vendor-latency-ms``,
``--first-chunk-ms``, the async sandboxes' job time) and slices of the speaker's own recordings
played back. They show that the measurement works and what it reports, not how the real vendors
compare. Prints figures; asserts nothing about time. Run with ``python benchmarks/compare.py`` (and
by ``make benchmark``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.speech import clone  # noqa: E402 - after the path fix above

if TYPE_CHECKING:
    from voiceclone.domain.facts import Spread, VoiceFacts
    from voiceclone_local.sandboxes.base import SandboxConfig


def sandbox_configs(vendor_latency_ms: int, first_chunk_ms: int) -> dict[str, SandboxConfig]:
    """Each sandbox's local configuration, quick to train, with the delays given where it has them."""
    from voiceclone.vendors.registry import vendor_ids
    from voiceclone_local.sandboxes.base import SandboxBase

    knobs = {
        "training_seconds": 0.5,
        "tts_latency_ms": vendor_latency_ms,
        "stream_first_chunk_delay_ms": first_chunk_ms,
    }
    configs: dict[str, SandboxConfig] = {}
    for vendor in vendor_ids():
        cls = SandboxBase.for_vendor(vendor)
        if cls is not None:
            config = cls.local_config()
            update = {k: v for k, v in knobs.items() if k in type(config).model_fields}
            configs[vendor] = config.model_copy(update=update)
    return configs


def _figure(spread: Spread | None, scale: float = 1.0, unit: str = "", digits: int = 0) -> str:
    if spread is None:
        return "-"
    low, high = f"{spread.low * scale:.{digits}f}", f"{spread.high * scale:.{digits}f}"
    return f"{spread.median * scale:.{digits}f}{unit} ({low}-{high})"


def _median(spread: Spread | None, scale: float = 1.0, unit: str = "", digits: int = 2) -> str:
    return "-" if spread is None else f"{spread.median * scale:.{digits}f}{unit}"


def row(facts: VoiceFacts) -> list[str]:
    """One vendor's line of the table."""
    if not facts.speaks:
        return [facts.vendor, "does not speak here", *["-"] * 7, facts.price_text()]
    s = facts.summary
    return [
        facts.vendor,
        "stream" if facts.streamed else "whole (not streamed)",
        _figure(s.first_audio_seconds, 1000, " ms"),
        _figure(s.real_time_factor, digits=3),
        _median(s.speech_dbfs, unit=" dBFS", digits=1),
        _median(s.clipped_fraction, 100, " %", digits=3),
        f"{_median(s.leading_silence_seconds)} / {_median(s.trailing_silence_seconds)} s",
        _median(s.silence_seconds, unit=" s"),
        f"{facts.probes_spoken}/{len(facts.probes)}",
        facts.price_text(),
    ]


HEADER = [
    "vendor",
    "audio",
    "first audio, median (range)",
    "RTF, median (range)",
    "speech level",
    "clipped",
    "silence lead / trail",
    "silence, all",
    "probes",
    "price / 1k chars",
]


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    for line in [HEADER, ["-" * w for w in widths], *rows]:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def run(vendor_latency_ms: int = 200, first_chunk_ms: int = 100) -> None:
    from voiceclone.domain.probes import PROBE_SET_VERSION, probes_for
    from voiceclone.logic.comparisons.facts import measure
    from voiceclone.store import Store
    from voiceclone.vendors import config
    from voiceclone.vendors.registry import get_adapter, vendor_ids
    from voiceclone_cli.client import VoicecloneClient
    from voiceclone_local.stack import LocalStack

    print(
        f"Facts per cloned voice on the local stack (probe set {PROBE_SET_VERSION}): the sandboxes answer "
        f"after {vendor_latency_ms} ms (whole answers), stream after {first_chunk_ms} ms, "
        "and speak slices of the speaker's recordings"
    )
    rows: list[list[str]] = []
    with LocalStack(sandbox_configs=sandbox_configs(vendor_latency_ms, first_chunk_ms), quiet=True) as stack:
        client = VoicecloneClient(stack.api_url, api_key=stack.api_key)
        store = Store(stack.table_name, stack.client("dynamodb"))
        for vendor in vendor_ids():
            voice = store.voices.get(clone(client, vendor))
            assert voice is not None, vendor
            facts = measure(
                get_adapter(vendor),
                voice.vendor_voice,
                probes_for(voice.language),
                language=voice.language,
                price=config.price(vendor),
            )
            rows.append(row(facts))
            for probe in facts.probes:
                if probe.failure is not None:
                    print(f"  {vendor} {probe.probe_id}: {probe.failure.code}: {probe.failure.message}")
    print_table(rows)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--vendor-latency-ms", type=int, default=200, help="the sandboxes' whole-answer delay"
    )
    parser.add_argument(
        "--first-chunk-ms", type=int, default=100, help="the sandboxes' delay before a stream"
    )
    args = parser.parse_args()
    run(args.vendor_latency_ms, args.first_chunk_ms)


if __name__ == "__main__":
    main()
