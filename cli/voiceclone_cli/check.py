"""`voiceclone check`: the service's own inspection of every recording, run here before anything is paid.

The verdicts come from the very module CheckSentence runs (voiceclone.domain.audio), with the
vendor's limits from its adapter's capabilities: what passes here passes there, and what fails
says why in the same words.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceclone_cli.client import AUDIO_CONTENT_TYPES
from voiceclone_cli.output import escape

COLUMNS = ("SENTENCE", "FILE", "SECONDS", "LEVEL dBFS", "SNR dB", "PROBLEMS")


@dataclass
class SentenceResult:
    """One sentence (or one stray file): its file, what was measured, and every problem found."""

    text_id: str
    file: str | None = None
    measurements: dict[str, Any] | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)
    # False for what is only worth knowing (a file no sentence uses): it blocks nothing.
    blocking: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "text_id": self.text_id,
            "file": self.file,
            "measurements": self.measurements,
            "problems": [{"code": c, "message": m} for c, m in self.problems],
            "blocking": self.blocking and bool(self.problems),
        }


@dataclass
class CheckResult:
    vendor: str
    sentences: list[SentenceResult]
    files: dict[str, Path]  # text_id -> the recording to upload

    @property
    def problems(self) -> list[SentenceResult]:
        return [s for s in self.sentences if s.problems and s.blocking]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"vendor": self.vendor, "ok": self.ok, "sentences": [s.as_dict() for s in self.sentences]}

    def rows(self) -> list[list[str]]:
        rows = []
        for s in self.sentences:
            m = s.measurements or {}
            rows.append(
                [
                    s.text_id,
                    s.file or "-",
                    _num(m.get("duration_seconds"), "{:.1f}"),
                    _num(m.get("speech_dbfs"), "{:.0f}"),
                    _num(m.get("snr_db"), "{:.0f}"),
                    "; ".join(f"{c}: {msg}" for c, msg in s.problems) or "ok",
                ]
            )
        return rows


def _num(value: Any, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def find_recordings(directory: Path, text_ids: list[str]) -> tuple[dict[str, list[Path]], list[Path]]:
    """The files of each sentence (any name <text_id>.<ext>), and the files no sentence uses."""
    wanted = set(text_ids)
    found: dict[str, list[Path]] = {t: [] for t in text_ids}
    extra: list[Path] = []
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.stem in wanted and path.suffix.lower() in AUDIO_CONTENT_TYPES:
            found[path.stem].append(path)
        else:
            extra.append(path)
    return found, extra


def check_directory(directory: Path, vendor: str, texts: list[dict[str, Any]]) -> CheckResult:
    """Inspect DIR's recording of each of the vendor's sentences as the service will."""
    from voiceclone.domain.audio import (
        WindowMiss,
        choose_for_window,
        limits_for,
    )
    from voiceclone.domain.audio_decode import ACCEPTED_LIST
    from voiceclone.domain.recording import inspect_recording
    from voiceclone.vendors.registry import capabilities

    caps = capabilities(vendor)
    limits = limits_for(
        caps.sample_rate, caps.min_sentence_seconds, caps.max_sentence_seconds, caps.joined_seconds
    )
    text_ids = [t["text_id"] for t in texts]
    found, extra = find_recordings(directory, text_ids)
    results: list[SentenceResult] = []
    files: dict[str, Path] = {}
    durations: dict[str, float] = {}
    for text_id in text_ids:
        paths = found[text_id]
        result = SentenceResult(text_id)
        results.append(result)
        if not paths:
            result.problems.append(
                (
                    "MISSING",
                    f"no recording: record the sentence and save it as {text_id}.wav "
                    f"(or .m4a, .mp3, .flac, .ogg, .webm)",
                )
            )
            continue
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            result.file = names
            result.problems.append(("DUPLICATE", f"{names}: keep only the take to upload"))
            continue
        path = paths[0]
        result.file = path.name
        files[text_id] = path
        recording = inspect_recording(path.read_bytes(), limits, ext=path.suffix)
        if recording.measurements is not None:
            result.measurements = recording.measurements.model_dump(exclude_none=True)
        result.problems.extend((str(f.problem), f.message) for f in recording.report.findings)
        if recording.report.ok and recording.measurements is not None:
            durations[text_id] = recording.measurements.duration_seconds
    for path in extra:
        hint = (
            f"not an accepted format ({ACCEPTED_LIST})"
            if path.stem in text_ids
            else f"no sentence {path.stem} in {vendor}'s script"
        )
        results.append(
            SentenceResult(
                "(extra)", path.name, problems=[("EXTRA", f"{hint}: not uploaded")], blocking=False
            )
        )
    if caps.joined_seconds is not None and durations and len(durations) == len(text_ids):
        try:
            choose_for_window(durations, *caps.joined_seconds)
        except WindowMiss as miss:
            results.append(SentenceResult("(joined)", problems=[("WINDOW", str(miss))]))
    return CheckResult(vendor, results, files)


def print_table(result: CheckResult, stream: Any = None) -> None:
    """The table as plain text (for stderr, where clone puts it when it refuses to start)."""
    stream = stream or sys.stderr
    rows = [list(COLUMNS), *result.rows()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    for row in rows:
        cells = [v.ljust(w) for v, w in zip(row, widths, strict=False)] + [row[-1]]
        print(escape("  ".join(cells).rstrip()), file=stream, flush=True)


def summary(result: CheckResult) -> str:
    """One line: how many sentences need something, and what."""
    bad = result.problems
    if not bad:
        return f"all {len(result.files)} recordings pass {result.vendor}'s checks"
    named = ", ".join(f"{s.text_id} ({s.problems[0][0]})" for s in bad)
    return f"{len(bad)} problem{'s' if len(bad) != 1 else ''} to fix before cloning: {named}"
