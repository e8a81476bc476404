"""The facts per cloned voice for every vendor that clones from one session: one comparison on a local stack.

One comparison is created through the API across every vendor that clones from the same takes (the
registry's cloning vendors), its takes (the sample recordings), the consent statement and the letter
uploaded once, as ``tests/integration/test_comparisons.py`` does, without failures. The comparison
workflow trains each vendor's voice and then measures it (MeasureVoice: every probe of the voice's
language spoken once through the vendor's adapter, its stream where it has one, else its whole
answer, an async vendor's job polled at the deployment's pace; the audio measured and kept). When it
has ended, the comparison's view is read and one row printed per vendor: seconds from the last take
to its voice being ready (``seconds_to_ready``), how the audio came, the time to the first audio and
the real-time factor (median and range over the probes), the speech level, the clipping and the
silences (medians), the probes spoken, and the configured price per 1,000 characters
(``VOICECLONE_<VENDOR>_PRICE_PER_1K_CHARS``; "not configured" without one).

On the local stack these are the sandboxes' figures: their configured delays (``--vendor-latency-ms``,
``--first-chunk-ms``, the async sandboxes' job time, the local stack's polling) and slices of the
speaker's own recordings played back. They show that the workflow measures and what it reports, not
how the real vendors compare. Prints figures; asserts nothing about time. Run with
``python benchmarks/compare.py`` (and by ``make benchmark``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.speech import LETTER, SAMPLES  # noqa: E402 - after the path fix above

if TYPE_CHECKING:
    from voiceclone.domain.facts import Spread, VoiceFacts
    from voiceclone_cli.client import VoicecloneClient
    from voiceclone_local.sandboxes.base import SandboxConfig

# How long the comparison may take on the local stack before the benchmark gives up.
WAIT_SECONDS = 900


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


def _ready(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"


def row(facts: VoiceFacts, seconds_to_ready: float | None = None) -> list[str]:
    """One vendor's line of the table."""
    if not facts.speaks:
        return [facts.vendor, _ready(seconds_to_ready), "does not speak here", *["-"] * 7, facts.price_text()]
    s = facts.summary
    return [
        facts.vendor,
        _ready(seconds_to_ready),
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
    "ready after",
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


def compared(client: VoicecloneClient, vendors: list[str]) -> dict[str, Any]:
    """One comparison across ``vendors``, every take uploaded once; its view once it has ended."""
    from voiceclone_cli.stand_in import consent_take

    comparison = client.create_comparison(vendors, "bench-compare", "female", "Bench Speaker")
    for document in comparison["documents"]:
        client.upload(document["upload"], LETTER)
    with tempfile.TemporaryDirectory() as tmp:
        consent = Path(tmp) / "consent.wav"
        consent.write_bytes(consent_take(comparison))
        for sentence in comparison["sentences"]:
            text_id = sentence["text_id"]
            client.upload(sentence["upload"], consent if text_id == "consent" else SAMPLES / f"{text_id}.wav")
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        current = client.get_comparison(comparison["comparison_id"])
        if current["status"] not in ("AWAITING_AUDIO", "TRAINING"):
            return current
        time.sleep(1.0)
    raise TimeoutError(f"comparison {comparison['comparison_id']} did not end in {WAIT_SECONDS} s")


def run(vendor_latency_ms: int = 200, first_chunk_ms: int = 100) -> None:
    from voiceclone.domain.facts import VoiceFacts
    from voiceclone.domain.probes import PROBE_SET_VERSION
    from voiceclone.vendors.registry import capabilities, vendor_ids
    from voiceclone_cli.client import VoicecloneClient
    from voiceclone_local.stack import LocalStack

    vendors = [v for v in vendor_ids() if capabilities(v).clones]
    print(
        f"Facts per cloned voice on the local stack (probe set {PROBE_SET_VERSION}), one comparison "
        f"across {', '.join(vendors)}: the sandboxes answer after {vendor_latency_ms} ms (whole "
        f"answers), stream after {first_chunk_ms} ms, and speak slices of the speaker's recordings"
    )
    with LocalStack(sandbox_configs=sandbox_configs(vendor_latency_ms, first_chunk_ms), quiet=True) as stack:
        client = VoicecloneClient(stack.api_url, api_key=stack.api_key)
        final = compared(client, vendors)
    print(f"  the comparison ended {final['status']}")
    rows: list[list[str]] = []
    for entry in final["vendors"]:
        vendor = entry["vendor"]
        if entry["facts"] is None:
            why = entry["facts_error"] or entry["error"] or {"message": "no facts"}
            print(f"  {vendor}: {entry['status']}, no facts: {why.get('code', '')} {why.get('message', '')}")
            continue
        facts = VoiceFacts.model_validate(entry["facts"])
        rows.append(row(facts, entry["seconds_to_ready"]))
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
