"""Generate samples/tencent_vrs/<TextId>.wav: synthetic Mandarin readings of the 20 VRS training sentences.

Needs espeak-ng (with the Mandarin voice ``cmn``) and sox on PATH; on Debian/Ubuntu:
``apt-get install -y espeak-ng sox``. Run from the repository root with
``PYTHONPATH=functions:local .venv/bin/python scripts/make_sample_audio.py [--force]``.

The files are real speech, so the sandbox's audio checks and the whole local
workflow run on realistic input: 16 kHz, mono, 16-bit PCM, peak normalised to
-3 dBFS (never clipped), 1-15 s each. Idempotent: a file that exists and passes
``inspect_wav`` is left alone unless --force is given; output is deterministic
(sox dithering off), so regenerating gives the same bytes.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from voiceclone.domain.audio import inspect_wav
from voiceclone_local.sandboxes.tencent_vrs import TRAINING_TEXTS

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "samples" / "tencent_vrs"
VOICE = "cmn"
SAMPLE_RATE = 16000
PEAK_DBFS = -3
# espeak-ng words per minute: a little quicker than its default 175 keeps files small; a sentence that
# still runs past MAX_SECONDS is spoken faster, step by step.
SPEEDS = (190, 220, 250, 280)
MAX_SECONDS = 14.0  # a margin under the vendors' 15 s
PAD_SECONDS = 0.2  # silence kept before and after the speech


def _require_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: apt-get install -y espeak-ng sox")


def _synthesise(text: str, speed: int, target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(speed), "-w", str(raw), text], check=True)
        # -D: no dither (deterministic output). Trim espeak's leading/trailing silence, pad a little back,
        # resample to 16 kHz mono 16-bit and normalise the peak so nothing clips.
        subprocess.run(
            [
                "sox", "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
                str(target),
                "silence", "1", "0.02", "0.1%", "reverse", "silence", "1", "0.02", "0.1%", "reverse",
                "pad", str(PAD_SECONDS), str(PAD_SECONDS),
                "norm", str(PEAK_DBFS),
            ],
            check=True,
        )  # fmt: skip


def make_one(text_id: str, text: str, force: bool) -> str:
    target = OUT_DIR / f"{text_id}.wav"
    if target.exists() and not force and inspect_wav(target.read_bytes()).ok:
        return f"{text_id}: kept"
    tmp = target.with_suffix(".tmp.wav")
    for speed in SPEEDS:
        _synthesise(text, speed, tmp)
        report = inspect_wav(tmp.read_bytes())
        if report.duration_seconds is not None and report.duration_seconds <= MAX_SECONDS:
            break
    if not report.ok:
        tmp.unlink(missing_ok=True)
        problems = "; ".join(f.message for f in report.findings)
        sys.exit(f"{text_id}: the generated audio does not pass inspect_wav: {problems}")
    tmp.replace(target)  # atomic: a reader never sees a half-written sample
    return (
        f"{text_id}: {report.duration_seconds:.1f} s at {speed} wpm, peak {report.peak_dbfs} dBFS, "
        f"{target.stat().st_size // 1024} KiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="regenerate files that already pass")
    args = parser.parse_args()
    _require_tools()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for text_id, text in TRAINING_TEXTS:
        print(make_one(text_id, text, args.force))


if __name__ == "__main__":
    main()
