"""What each `voiceclone` subcommand does; main.py parses the arguments and maps errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from voiceclone_cli.client import ApiError, StreamCut, VoicecloneClient
from voiceclone_cli.output import TERMINAL, Output, Progress

REPO_ROOT = Path(__file__).resolve().parents[2]
# Recordings of the standard script (every vendor's sentences are drawn from it).
SAMPLES = REPO_ROOT / "samples" / "tencent_vrs"
SAMPLE_LETTER = REPO_ROOT / "samples" / "authorization-letter.pdf"
# What `voiceclone local demo` (and so `make run`) has the new voice say.
DEMO_SENTENCE = "你好，这是我克隆的声音。欢迎使用语音克隆服务！"
# The text id of the speaker's consent statement among a job's sentences.
CONSENT = "consent"
# Who the demo's stand-in reader is said to be (the voice is eSpeak NG's, as in samples/).
DEMO_SPEAKER = "Demo Speaker"
# Sentences `jobs reupload` sends again: the rejected ones, and any never uploaded.
TO_RECORD = ("REJECTED", "PENDING_UPLOAD")
UPLOAD_WORKERS = 4
POLL_INTERVAL = 0.5  # seconds between two looks at a followed job


class CliError(Exception):
    """A failure the CLI explains itself: `error: message`, `hint: hint`, and the exit code."""

    def __init__(self, message: str, hint: str | None = None, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


def usage_error(message: str, hint: str | None = None) -> CliError:
    return CliError(message, hint, code=2)


def _output(args: argparse.Namespace) -> Output:
    return Output(as_json=bool(getattr(args, "json", False)))


def options(pairs: list[str] | None) -> dict[str, str]:
    """KEY=VALUE arguments as a dict."""
    parsed = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise usage_error(f"expected KEY=VALUE, got {pair!r}")
        parsed[key] = value
    return parsed


# Jobs: following one to the end and telling how it ended


def describe_failure(job: dict[str, Any]) -> list[str]:
    lines = []
    if job["status"] == "CHECK_FAILED":
        lines.append("These recordings must be made again:")
        for s in job.get("sentences") or []:
            if s["status"] != "PASSED":
                check = s.get("check") or {}
                lines.append(f"  {s['text_id']} «{s['text']}»: {check.get('message') or s['status']}")
                lines += [f"      - {tip}" for tip in check.get("tips") or []][:5]
        lines.append(
            "Record them again as DIR/<text_id>.wav, then: "
            f"voiceclone jobs reupload {job['job_id']} DIR --wait"
        )
    error = job.get("error") or {}
    if job["status"] == "FAILED" and error:
        vendor = f"{error.get('vendor')} " if error.get("vendor") else ""
        lines.append(f"Job failed: {vendor}{error.get('code')}: {error.get('message')}")
    if job["status"] == "CANCELLED":
        lines.append(f"Job {job['job_id']} was cancelled.")
    if job["status"] == "EXPIRED":
        # The service's reason says how long it waited ("the recordings did not arrive within 7 days; ...").
        reason = error.get("message") or "the recordings did not arrive in time; create a new job"
        lines.append(f"Job {job['job_id']} expired: {reason}")
        lines.append(
            "Its recordings were deleted. Start again: voiceclone clone --vendor VENDOR --name NAME DIR"
        )
    return lines


def _fingerprint(job: dict[str, Any]) -> str:
    sentences = [(s["text_id"], s["status"], s.get("check")) for s in job.get("sentences") or []]
    return json.dumps([job["status"], job.get("updated_at"), sentences], sort_keys=True, default=str)


def _settled(job: dict[str, Any], baseline: dict[str, Any] | None) -> bool:
    """Nothing more will happen by itself. After a re-upload (`baseline`: the job before it), a
    CHECK_FAILED counts only once the new recordings were checked, not while the old verdict stands."""
    if job["status"] not in TERMINAL:
        return False
    if baseline is None or job["status"] != "CHECK_FAILED":
        return True
    awaiting_check = any(s["status"] == "UPLOADED" for s in job.get("sentences") or [])
    return not awaiting_check and _fingerprint(job) != _fingerprint(baseline)


def follow(
    client: VoicecloneClient,
    job_id: str,
    progress: Progress,
    timeout: float,
    interval: float = 0.5,
    baseline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Poll the job until it settles, showing its checks and training; the final job."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get_job(job_id)
        progress.job(job)
        if _settled(job, baseline):
            return job
        if time.monotonic() > deadline:
            raise CliError(
                f"job {job_id} still {job['status']} after {timeout:.0f} s (it goes on without the CLI)",
                hint=f"follow it with: voiceclone jobs get {job_id}",
            )
        time.sleep(interval)


def report(out: Output, job: dict[str, Any]) -> int:
    """The outcome of a followed job; 0 when its voice is ready."""
    if out.as_json:
        out.json(job)
    elif job["status"] == "SUCCEEDED":
        out.line(f"voice ready: {job['voice_id']}")
        for key, value in (job.get("voice") or {}).items():
            out.line(f"  {key}: {value}")
    else:
        for line in describe_failure(job):
            out.line(line)
    return 0 if job["status"] == "SUCCEEDED" else 1


def recording_path(directory: Path, text_id: str) -> Path | None:
    """DIR's recording of one sentence: <text_id>.wav, else <text_id> in any accepted format."""
    from voiceclone_cli.client import AUDIO_CONTENT_TYPES

    wav = directory / f"{text_id}.wav"
    if wav.is_file():
        return wav
    candidates = (directory / f"{text_id}{ext}" for ext in AUDIO_CONTENT_TYPES)
    return next((path for path in candidates if path.is_file()), None)


def _upload_all(
    client: VoicecloneClient,
    directory: Path,
    text_ids: list[str],
    target: Callable[[str], dict[str, Any]],
    progress: Progress,
) -> None:
    """Upload each sentence's recording (DIR/<text_id>.<ext>) to its target(text_id), a few at a time.

    Every file is tried; the refusals are reported together, each with its file and its cause.
    """

    def send(text_id: str) -> ApiError | None:
        path = recording_path(directory, text_id) or directory / f"{text_id}.wav"
        form = target(text_id)  # the API's refusal to give one stops everything, as before
        try:
            client.upload(form, path)
        except ApiError as exc:
            if exc.status == 0:  # the network: no other file would get through either
                raise
            return exc
        return None

    progress.uploads(0, len(text_ids))
    failures: list[ApiError] = []
    with ThreadPoolExecutor(max_workers=UPLOAD_WORKERS) as pool:
        for done, failure in enumerate(pool.map(send, text_ids), start=1):
            progress.uploads(done, len(text_ids))
            if failure is not None:
                failures.append(failure)
    if failures:
        lines = "; ".join(f"{f.message} ({f.error})" for f in failures)
        hints = sorted({f.hint for f in failures if f.hint})
        raise CliError(
            f"{len(failures)} of {len(text_ids)} uploads were refused: {lines}", hint="; ".join(hints) or None
        )


def run_check(client: VoicecloneClient, vendor: str, directory: Path) -> Any:
    """The service's own check of DIR's recordings for this vendor (voiceclone_cli.check)."""
    from voiceclone_cli.check import check_directory

    if not directory.is_dir():
        raise usage_error(f"{directory} is not a directory", hint="pass the folder of recordings")
    info = client.vendor_info(vendor)
    return check_directory(directory, vendor, info["texts"])


def clone(
    client: VoicecloneClient,
    vendor: str,
    name: str,
    directory: Path,
    gender: str = "female",
    timeout: float = 600.0,
    interval: float = 0.5,
    as_json: bool = False,
    options: dict[str, str] | None = None,
    documents: dict[str, str] | None = None,
    out: Output | None = None,
    force: bool = False,
    *,
    speaker: str,
    stand_in_consent: bool = False,
    consent_document: str | None = None,
) -> int:
    """Check the recordings, create a job, upload one recording per sentence, get the consent, follow it.

    While the check finds a problem no job is created (exit 2, the table on stderr); `force`
    uploads anyway. The speaker's consent statement is made with the job (its phrase is new), so
    it is recorded then: read by the person at the prompt, or by the stand-in reader
    (`stand_in_consent`: eSpeak NG, for demos and tests only); without either the job waits for
    `voiceclone jobs consent JOB_ID FILE`. Returns the exit code."""
    out = out or Output(as_json=as_json)
    info = client.vendor_info(vendor)
    if not force:
        from voiceclone_cli.check import print_table, summary

        checked = run_check(client, vendor, directory)
        if not checked.ok:
            print_table(checked)
            check_again = (
                f"fix them and run: voiceclone check --vendor {vendor} {directory} "
                "(or clone --force to upload anyway)"
            )
            absent = [s.text_id for s in checked.problems if s.problems[0][0] == "MISSING"]
            if absent:
                raise usage_error(
                    f"{directory} lacks recordings for: {', '.join(absent)} (expected <text_id>.wav "
                    f"files); no job created: {summary(checked)}",
                    hint=f"list the sentences with: voiceclone texts {vendor}; {check_again}",
                )
            raise usage_error(f"no job created: {summary(checked)}", hint=check_again)
    missing = [t["text_id"] for t in info["texts"] if recording_path(directory, t["text_id"]) is None]
    if missing:
        raise usage_error(
            f"{directory} lacks recordings for: {', '.join(missing)} (expected <text_id>.wav files)",
            hint=f"list the sentences with: voiceclone texts {vendor}",
        )
    documents = documents or {}
    missing_docs = [d for d in info.get("documents", []) if d not in documents]
    if missing_docs:
        flags = " ".join(f"--document {d}=FILE.pdf" for d in missing_docs)
        raise usage_error(f"{vendor} requires {', '.join(missing_docs)}", hint=f"pass {flags}")
    absent = [f for f in documents.values() if not Path(f).is_file()]
    if absent:
        raise usage_error(f"no such file: {', '.join(absent)}")

    job = client.create_job(vendor, name, gender, speaker, options=options, consent_document=consent_document)
    job_id = job["job_id"]
    training = [s for s in job["sentences"] if s["text_id"] != CONSENT]
    out.line(f"job {job_id} created ({vendor}, {len(training)} sentences and the consent statement)")
    for document in job.get("documents") or []:
        if document.get("upload"):
            client.upload(document["upload"], Path(documents[document["name"]]))
    with out.progress() as progress:
        targets = {s["text_id"]: s["upload"] for s in training}
        _upload_all(client, directory, list(targets), targets.__getitem__, progress)
    if not give_consent(client, job, out, stand_in_consent):
        return 0
    with out.progress() as progress:
        job = follow(client, job_id, progress, timeout, interval)
    return report(out, job)


def _consent_sentence(job: dict[str, Any]) -> dict[str, Any] | None:
    return next((s for s in job.get("sentences") or [] if s["text_id"] == CONSENT), None)


def give_consent(client: VoicecloneClient, job: dict[str, Any], out: Output, stand_in: bool) -> bool:
    """Upload the job's consent take; False when it is left for later (the job waits for it).

    The statement is shown; the stand-in reads it, or a person at a terminal records it and names
    the file; otherwise the command that uploads it later is printed."""
    sentence = _consent_sentence(job)
    if sentence is None or sentence["status"] == "PASSED":
        return True  # a consent document, or a take already checked
    job_id = job["job_id"]
    out.line("The speaker reads this consent statement aloud and records it:")
    out.line(f"  {sentence['text']}")
    if stand_in:
        from voiceclone_cli.stand_in import write_consent_take

        out.warn("the statement is read by the stand-in reader (eSpeak NG): this is not a person's consent")
        with tempfile.TemporaryDirectory() as tmp:
            client.upload(_consent_target(client, job_id, sentence), write_consent_take(job, Path(tmp)))
        return True
    if sys.stdin.isatty() and not out.as_json:
        answer = input("Record it, then give the recording's file (empty: later): ").strip()
        if answer:
            client.upload(_consent_target(client, job_id, sentence), Path(answer).expanduser())
            return True
    out.line(f"job {job_id} waits for it: voiceclone jobs consent {job_id} FILE --wait")
    if out.as_json:
        out.json(client.get_job(job_id))
    return False


def _consent_target(client: VoicecloneClient, job_id: str, sentence: dict[str, Any]) -> dict[str, Any]:
    """The consent take's form: the one the job came with, else a fresh one."""
    target: dict[str, Any] | None = sentence.get("upload")
    return target or client.new_upload_url(job_id, CONSENT)


def reupload(
    client: VoicecloneClient,
    job_id: str,
    directory: Path,
    out: Output,
    wait: bool = False,
    timeout: float = 3600.0,
    interval: float = 0.5,
) -> int:
    """Send the rejected (or never uploaded) sentences again from DIR/<text_id>.wav, each to a fresh URL."""
    job = client.get_job(job_id)
    status = job["status"]
    if status not in ("AWAITING_AUDIO", "CHECK_FAILED"):
        hints = {
            "SUCCEEDED": f"its voice is ready: voiceclone voices get {job.get('voice_id')}",
            "CHECKING": f"its recordings are being checked; follow it: voiceclone jobs get {job_id}",
            "TRAINING": f"it is training; follow it: voiceclone jobs get {job_id}",
        }
        raise CliError(
            f"job {job_id} is {status}: it takes no recordings now",
            hint=hints.get(status, "start a new job: voiceclone clone --vendor VENDOR --name NAME DIR"),
        )
    todo = [s for s in job.get("sentences") or [] if s["status"] in TO_RECORD]
    if directory.is_dir() and recording_path(directory, CONSENT) is None:
        # The consent statement is recorded on its own (voiceclone jobs consent), unless DIR holds it.
        if any(s["text_id"] == CONSENT for s in todo) and not out.as_json:
            out.warn(f"job {job_id} waits for the consent statement: voiceclone jobs consent {job_id} FILE")
        todo = [s for s in todo if s["text_id"] != CONSENT]
    if not directory.is_dir():
        raise usage_error(
            f"{directory} is not a directory", hint="pass the folder of <text_id>.wav recordings"
        )
    missing = [s["text_id"] for s in todo if recording_path(directory, s["text_id"]) is None]
    if missing:
        raise usage_error(
            f"{directory} lacks recordings for: {', '.join(missing)} (expected <text_id>.wav files)",
            hint=f"the sentences and why they were rejected: voiceclone jobs get {job_id}",
        )
    pending_docs = [d["name"] for d in job.get("documents") or [] if not d.get("uploaded")]
    if pending_docs and not out.as_json:
        out.warn(f"job {job_id} still lacks {', '.join(pending_docs)}: it starts once they are uploaded")
    if not todo:
        out.line(f"job {job_id}: no sentence to record again")
    final: dict[str, Any] | None = None
    with out.progress() as progress:
        if todo:
            _upload_all(
                client,
                directory,
                [s["text_id"] for s in todo],
                partial(client.new_upload_url, job_id),
                progress,
            )
        if wait:
            final = follow(client, job_id, progress, timeout, interval, baseline=job)
    if final is not None:
        return report(out, final)
    if out.as_json:
        out.json(client.get_job(job_id))
    else:
        out.line(
            f"re-uploaded {len(todo)} recordings of job {job_id}: {', '.join(s['text_id'] for s in todo)}"
        )
        out.line(f"follow it with: voiceclone jobs get {job_id}")
    return 0


# Subcommands


def cmd_texts(args: argparse.Namespace) -> int:
    out = _output(args)
    vendor = args.vendor or args.vendor_option
    if not vendor:
        raise usage_error(
            "name the vendor: voiceclone texts VENDOR", hint="e.g. voiceclone texts tencent_vrs"
        )
    info = VoicecloneClient().vendor_info(vendor)
    if out.as_json:
        out.json(info)
        return 0
    for t in info["texts"]:
        out.line(f"{t['text_id']}  {t['text']}")
    out.line()
    out.line(f"{len(info['texts'])} sentences: record each as DIR/<text_id>.wav")
    if info.get("documents"):
        out.line(f"documents: {', '.join(info['documents'])} (pass --document NAME=FILE.pdf to clone)")
    if info.get("options"):
        out.line(f"options: {', '.join(info['options'])} (pass --option KEY=VALUE to clone)")
    return 0


def cmd_clone(args: argparse.Namespace) -> int:
    return clone(
        VoicecloneClient(),
        args.vendor,
        args.name,
        Path(args.directory),
        args.gender,
        args.timeout,
        POLL_INTERVAL,
        options=options(args.option),
        documents=options(args.document),
        out=_output(args),
        force=bool(getattr(args, "force", False)),
        speaker=args.speaker,
        stand_in_consent=args.stand_in_consent,
        consent_document=args.consent_document,
    )


# Comparisons: one session of recordings, a voice at several vendors

# A comparison's statuses that end it (voiceclone.domain.comparison.ComparisonStatus).
COMPARISON_ENDED = ("SUCCEEDED", "PARTLY_SUCCEEDED", "FAILED", "EXPIRED")


def vendor_options(pairs: list[str] | None) -> dict[str, dict[str, str]]:
    """VENDOR.KEY=VALUE arguments as each vendor's options."""
    parsed: dict[str, dict[str, str]] = {}
    for key, value in options(pairs).items():
        vendor, dot, name = key.partition(".")
        if not dot or not vendor or not name:
            raise usage_error(
                f"expected VENDOR.KEY=VALUE, got {key}={value!r}", hint="e.g. volcengine.speaker_id=S_1"
            )
        parsed.setdefault(vendor, {})[name] = value
    return parsed


def compare(
    client: VoicecloneClient,
    vendors: list[str],
    name: str,
    directory: Path,
    out: Output,
    *,
    speaker: str,
    gender: str = "female",
    vendor_opts: dict[str, dict[str, str]] | None = None,
    documents: dict[str, str] | None = None,
    stand_in_consent: bool = False,
    consent_file: Path | None = None,
    wait: bool = False,
    timeout: float = 3600.0,
    interval: float = POLL_INTERVAL,
) -> int:
    """Create a comparison, upload each take once (DIR/<text_id>.<ext>), the documents and the consent.

    The takes are asked for by the service (the fewest that serve every vendor); DIR must hold them
    all before anything is created. Returns the exit code."""
    if not directory.is_dir():
        raise usage_error(f"{directory} is not a directory", hint="pass the folder of recordings")
    documents = documents or {}
    absent = [f for f in documents.values() if not Path(f).is_file()]
    if absent:
        raise usage_error(f"no such file: {', '.join(absent)}")
    comparison = client.create_comparison(vendors, name, gender, speaker, options=vendor_opts)
    cid = comparison["comparison_id"]
    takes = {s["text_id"]: s["upload"] for s in comparison["sentences"] if s["text_id"] != CONSENT}
    out.line(f"comparison {cid} created ({', '.join(vendors)}: {len(takes)} takes and the consent statement)")
    missing = [t for t in takes if recording_path(directory, t) is None]
    needed = [d["name"] for d in comparison.get("documents") or [] if d["name"] not in documents]
    if missing or needed:
        flags = " ".join(f"--document {d}=FILE.pdf" for d in needed)
        raise usage_error(
            f"comparison {cid} waits for: {', '.join(missing + needed)}",
            hint=f"record {', '.join(missing) or 'nothing more'} into {directory}; {flags}".strip("; "),
        )
    for document in comparison.get("documents") or []:
        client.upload(document["upload"], Path(documents[document["name"]]))
    with out.progress() as progress:
        _upload_all(client, directory, list(takes), takes.__getitem__, progress)
    if not _comparison_consent(client, comparison, out, stand_in_consent, consent_file):
        return 0
    if not wait:
        out.line(f"every take is in: follow it with: voiceclone compare status {cid} --wait")
        return 0
    return show_comparison(out, follow_comparison(client, cid, timeout, interval))


def _comparison_consent(
    client: VoicecloneClient,
    comparison: dict[str, Any],
    out: Output,
    stand_in: bool,
    consent_file: Path | None,
) -> bool:
    """Upload the comparison's consent take (one statement, every vendor named); False: left for later."""
    sentence = _consent_sentence(comparison)
    if sentence is None:
        return True  # a consent document
    out.line("The speaker reads this consent statement aloud and records it:")
    out.line(f"  {sentence['text']}")
    if consent_file is not None:
        client.upload(sentence["upload"], consent_file)
        return True
    if stand_in:
        from voiceclone_cli.stand_in import write_consent_take

        out.warn("the statement is read by the stand-in reader (eSpeak NG): this is not a person's consent")
        with tempfile.TemporaryDirectory() as tmp:
            client.upload(sentence["upload"], write_consent_take(comparison, Path(tmp)))
        return True
    out.line(f"comparison {comparison['comparison_id']} waits for it: run compare create with --consent FILE")
    return False


def follow_comparison(
    client: VoicecloneClient, comparison_id: str, timeout: float, interval: float = POLL_INTERVAL
) -> dict[str, Any]:
    """Poll the comparison until every vendor has ended; the final comparison."""
    deadline = time.monotonic() + timeout
    while True:
        comparison = client.get_comparison(comparison_id)
        if comparison["status"] in COMPARISON_ENDED:
            return comparison
        if time.monotonic() > deadline:
            raise CliError(
                f"comparison {comparison_id} still {comparison['status']} after {timeout:.0f} s "
                "(it goes on without the CLI)",
                hint=f"follow it with: voiceclone compare status {comparison_id}",
            )
        time.sleep(interval)


# How a comparison ends when some vendor made no voice: its jobs may end otherwise than FAILED (a take
# rejected, CHECK_FAILED, cannot be recorded again within the comparison; EXPIRED; CANCELLED).
COMPARISON_NOT_ALL_READY = ("PARTLY_SUCCEEDED", "FAILED", "EXPIRED")


def show_comparison(out: Output, comparison: dict[str, Any]) -> int:
    """The per-vendor table; 0 once every vendor's voice is ready or still on its way, 1 if any failed
    (a vendor's job FAILED, or the comparison ended without every voice)."""
    if out.as_json:
        out.json(comparison)
    else:
        out.line(f"comparison {comparison['comparison_id']}: {comparison['status']}")
        rows = [
            [
                v["vendor"],
                v["status"],
                v.get("voice_id") or "",
                "" if v.get("seconds_to_ready") is None else f"{v['seconds_to_ready']:.1f}",
                _vendor_error(v.get("error")),
            ]
            for v in comparison["vendors"]
        ]
        out.table(["vendor", "status", "voice id", "seconds to ready", "error"], rows)
    failed = comparison["status"] in COMPARISON_NOT_ALL_READY
    return 1 if failed or any(v["status"] == "FAILED" for v in comparison["vendors"]) else 0


def _vendor_error(error: dict[str, Any] | None) -> str:
    """The error, its code where it is not the error's name again, and its message."""
    if not error:
        return ""
    name, code = error.get("error", ""), error.get("code") or ""
    return f"{name}{f' {code}' if code and code != name else ''}: {error.get('message', '')}"


def cmd_compare(args: argparse.Namespace) -> int:
    out = _output(args)
    client = VoicecloneClient()
    if args.compare_command == "create":
        return compare(
            client,
            args.vendor,
            args.name,
            Path(args.recordings),
            out,
            speaker=args.speaker,
            gender=args.gender,
            vendor_opts=vendor_options(args.option),
            documents=options(args.document),
            stand_in_consent=args.stand_in_consent,
            consent_file=Path(args.consent) if args.consent else None,
            wait=args.wait,
            timeout=args.timeout,
        )
    if args.compare_command == "ranking":
        return show_ranking(out, client, args.comparison_id)
    if args.compare_command == "keep":
        return keep_voice(out, client, args.comparison_id, args.vendor, asked=not args.yes)
    if args.wait:
        return show_comparison(out, follow_comparison(client, args.comparison_id, args.timeout))
    return show_comparison(out, client.get_comparison(args.comparison_id))


# The exit code of `compare ranking` while pairs still need votes (the table is not there yet).
RANKING_NOT_READY = 3


def show_ranking(out: Output, client: VoicecloneClient, comparison_id: str) -> int:
    """The ranking table, the facts beside each vendor; or what the listening still needs (exit 3)."""
    try:
        ranked = client.ranking(comparison_id)
    except ApiError as exc:
        if exc.error != "RankingNotReady":
            raise
        if out.as_json:
            out.json({"error": exc.error, "message": exc.message, "details": exc.details})
        else:
            out.line(f"comparison {comparison_id}: no ranking yet: {exc.message}")
            out.line("listen and vote in the studio's Compare view")
        return RANKING_NOT_READY
    if out.as_json:
        out.json(ranked)
        return 0
    out.line(
        f"comparison {comparison_id}: {ranked['votes']} blind votes, ranked by {ranked['method']} "
        f"(at least {ranked['needed_per_pair']} votes per pair)"
    )
    out.table(
        ["rank", "vendor", "strength", "wins", "losses", "same", "win rate", "first audio s", "RTF",
         "speech dBFS", "price / 1k chars", "seconds to ready"],
        [_ranking_row(v) for v in ranked["vendors"]],
    )  # fmt: skip
    if ranked.get("kept"):
        out.line(f"kept: {ranked['kept']} (the other voices were deleted)")
    return 0


def _ranking_row(vendor: dict[str, Any]) -> list[str]:
    facts = vendor.get("facts") or {}

    def shown(value: Any, pattern: str) -> str:
        return "" if value is None else pattern.format(value)

    return [
        str(vendor["rank"]),
        vendor["vendor"],
        f"{vendor['strength']:.3f}",
        str(vendor["wins"]),
        str(vendor["losses"]),
        str(vendor["same"]),
        f"{vendor['win_rate']:.0%}",
        shown(facts.get("first_audio_seconds"), "{:.2f}"),
        shown(facts.get("real_time_factor"), "{:.2f}"),
        shown(facts.get("speech_dbfs"), "{:.1f}"),
        facts.get("price") or "",
        shown(vendor.get("seconds_to_ready"), "{:.1f}"),
    ]


def keep_voice(out: Output, client: VoicecloneClient, comparison_id: str, vendor: str, asked: bool) -> int:
    """Keep one vendor's voice, deleting the comparison's other voices (asked first, on a terminal)."""
    question = (
        f"keep {vendor}'s voice and delete comparison {comparison_id}'s other voices, at their vendors too?"
    )
    if asked and not out.as_json and not _confirm(question):
        raise CliError("nothing deleted", hint="pass --yes to keep it without asking")
    kept = client.keep(comparison_id, vendor)
    if out.as_json:
        out.json(kept)
        return 0
    out.line(f"kept {kept['kept']}'s voice {kept['voice_id']}")
    for deleted in kept["deleted"]:
        note = f" (note: {deleted['note']})" if deleted.get("note") else ""
        out.line(f"deleted {deleted['vendor']}'s voice {deleted['voice_id']}{note}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when every recording passes, 2 while one has a problem (the table says which)."""
    from voiceclone_cli.check import summary

    out = _output(args)
    checked = run_check(VoicecloneClient(), args.vendor, Path(args.directory))
    if out.as_json:
        out.json(checked.as_dict())
    else:
        from voiceclone_cli.check import COLUMNS

        out.table(COLUMNS, checked.rows(), title=f"{args.vendor}: {args.directory}")
        out.line(summary(checked))
    return 0 if checked.ok else 2


def _measured(measurements: dict[str, Any]) -> list[str]:
    """Duration, speech level and SNR of a checked sentence, as the check table shows them."""
    shown = []
    for name, pattern in (("duration_seconds", "{:.1f}"), ("speech_dbfs", "{:.0f}"), ("snr_db", "{:.0f}")):
        value = measurements.get(name)
        shown.append("" if value is None else pattern.format(value))
    return shown


def _job_rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [j["job_id"], j.get("created_at"), j["vendor"], j["status"], j.get("voice_name"), j.get("voice_id")]
        for j in items
    ]


def show_job(out: Output, job: dict[str, Any]) -> None:
    out.fields(
        [
            ("job", job["job_id"]),
            ("vendor", job["vendor"]),
            ("status", job["status"]),
            ("voice name", job.get("voice_name")),
            ("speaker", job.get("speaker_name")),
            ("consent", (job.get("consent") or {}).get("kind")),
            ("language", job.get("language")),
            ("gender", job.get("gender")),
            ("created", job.get("created_at")),
            ("updated", job.get("updated_at")),
            ("vendor task", job.get("vendor_task_id")),
            ("voice id", job.get("voice_id")),
            ("checks", f"{job.get('checks_done', 0)}/{job.get('checks_total', 0)}"),
            # Set only while the job waits for recordings (an empty value is left out).
            ("expires", job.get("expires_at")),
        ]
    )
    for key, value in (job.get("voice") or {}).items():
        out.line(f"  {key}: {value}")
    sentences = job.get("sentences") or []
    if sentences:
        out.line()
        out.table(
            ["TEXT ID", "STATUS", "SECONDS", "LEVEL dBFS", "SNR dB", "CHECK", "TEXT"],
            [
                [
                    s["text_id"],
                    s["status"],
                    *_measured((s.get("check") or {}).get("measurements") or {}),
                    (s.get("check") or {}).get("message"),
                    s["text"],
                ]
                for s in sentences
            ],
        )
    documents = job.get("documents") or []
    if documents:
        out.line()
        out.table(
            ["DOCUMENT", "UPLOADED"], [[d["name"], "yes" if d.get("uploaded") else "no"] for d in documents]
        )
    lines = describe_failure(job)
    if lines:
        out.line()
    for line in lines:
        out.line(line)


def cmd_jobs(args: argparse.Namespace) -> int:
    out = _output(args)
    client = VoicecloneClient()
    command = args.jobs_command
    if command == "list":
        page = client.list_jobs(limit=args.limit, cursor=args.cursor)
        if out.as_json:
            out.json(page)
            return 0
        if not page["items"]:
            out.line("no jobs yet; start one: voiceclone clone --vendor VENDOR --name NAME DIR")
            return 0
        out.table(
            ["JOB ID", "CREATED", "VENDOR", "STATUS", "VOICE NAME", "VOICE ID"], _job_rows(page["items"])
        )
        if page.get("next_cursor"):
            out.line(f"more: voiceclone jobs list --cursor {page['next_cursor']}")
        return 0
    if command == "get":
        job = client.get_job(args.job_id)
        if out.as_json:
            out.json(job)
        else:
            show_job(out, job)
        return 0
    if command == "consent":
        return job_consent(client, args, out)
    if command == "cancel":
        job = client.cancel_job(args.job_id)
        if out.as_json:
            out.json(job)
        else:
            out.line(f"job {job['job_id']} {job['status'].lower()}")
        return 0
    # reupload
    return reupload(
        client,
        args.job_id,
        Path(args.directory),
        out,
        wait=args.wait,
        timeout=args.timeout,
        interval=POLL_INTERVAL,
    )


def job_consent(client: VoicecloneClient, args: argparse.Namespace, out: Output) -> int:
    """Show a job's consent statement, or upload its take (a file, or the stand-in's reading)."""
    job = client.get_job(args.job_id)
    sentence = _consent_sentence(job)
    terms = job.get("consent") or {}
    if sentence is None:
        what = f"names the consent document {terms['document_reference']!r}" if terms else "has no consent"
        raise CliError(f"job {args.job_id} {what}: there is no statement to record")
    if not args.file and not args.stand_in:
        if out.as_json:
            out.json(terms)
            return 0
        out.fields([("speaker", terms.get("speaker_name")), ("phrase", terms.get("phrase"))])
        out.line(sentence["text"])
        out.line(f"record it, then: voiceclone jobs consent {args.job_id} FILE --wait")
        return 0
    if sentence["status"] == "PASSED":
        raise CliError(f"job {args.job_id}: its consent statement was recorded and passed its check")
    target = client.new_upload_url(args.job_id, CONSENT)
    if args.stand_in:
        from voiceclone_cli.stand_in import write_consent_take

        out.warn("the statement is read by the stand-in reader (eSpeak NG): this is not a person's consent")
        with tempfile.TemporaryDirectory() as tmp:
            client.upload(target, write_consent_take(job, Path(tmp)))
    else:
        client.upload(target, Path(args.file))
    out.line(f"job {args.job_id}: consent statement uploaded")
    if not args.wait:
        return 0
    with out.progress() as progress:
        final = follow(client, args.job_id, progress, args.timeout, POLL_INTERVAL, baseline=job)
    return report(out, final)


def show_consent(out: Output, consent: dict[str, Any]) -> None:
    checks = consent.get("checks") or {}
    requested = consent.get("requested_by") or {}
    out.fields(
        [
            ("voice", consent.get("voice_id")),
            ("job", consent.get("job_id")),
            ("vendor", consent.get("vendor")),
            ("kind", consent.get("kind")),
            ("state", consent.get("state")),
            ("speaker", consent.get("speaker_name")),
            ("organisation", consent.get("organisation_name")),
            ("statement", consent.get("statement")),
            ("phrase", consent.get("phrase")),
            ("document", consent.get("document_reference")),
            ("audio sha256", consent.get("audio_sha256")),
            ("statement sha256", consent.get("statement_sha256")),
            ("asked by", f"{requested.get('tenant_id')} (API key {requested.get('api_key_id')})"),
            ("asked at", consent.get("requested_at")),
            ("recorded at", consent.get("recorded_at")),
            ("deleted at", consent.get("deleted_at")),
            ("audio checks", checks.get("audio_checks")),
            ("phrase heard", checks.get("phrase_heard")),
            ("same speaker", checks.get("same_speaker")),
            ("audio url", consent.get("audio_url")),
        ]
    )


def show_voice(out: Output, voice: dict[str, Any]) -> None:
    out.fields(
        [
            ("voice", voice["voice_id"]),
            ("name", voice.get("name")),
            ("vendor", voice.get("vendor")),
            ("state", voice.get("state")),
            ("language", voice.get("language")),
            ("gender", voice.get("gender")),
            ("job", voice.get("job_id")),
            ("created", voice.get("created_at")),
            ("updated", voice.get("updated_at")),
            ("deleted", voice.get("deleted_at")),
            ("vendor voice id", voice.get("vendor_voice_id")),
        ]
    )
    tts = voice.get("tts") or {}
    if tts:
        out.line("tts:")
        for key, value in tts.items():
            out.line(f"  {key}: {value}")
    if voice.get("note"):
        out.line(f"note: {voice['note']}")


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return True
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def cmd_voices(args: argparse.Namespace) -> int:
    out = _output(args)
    client = VoicecloneClient()
    command = args.voices_command
    if command == "list":
        page = client.list_voices(limit=args.limit, cursor=args.cursor, vendor=args.vendor, state=args.state)
        if out.as_json:
            out.json(page)
            return 0
        if not page["items"]:
            out.line(
                "no voices"
                + (f" in state {args.state}" if args.state else "")
                + (f" at {args.vendor}" if args.vendor else "")
                + "; a voice appears when a clone job succeeds"
            )
            return 0
        out.table(
            ["VOICE ID", "NAME", "VENDOR", "STATE", "LANGUAGE", "GENDER", "CREATED", "JOB ID"],
            [
                [
                    v["voice_id"],
                    v.get("name"),
                    v.get("vendor"),
                    v.get("state"),
                    v.get("language"),
                    v.get("gender"),
                    v.get("created_at"),
                    v.get("job_id"),
                ]
                for v in page["items"]
            ],
        )
        if page.get("next_cursor"):
            out.line(f"more: voiceclone voices list --cursor {page['next_cursor']}")
        return 0
    if command == "speech":
        return _list_speech(out, client, args)
    if command == "consent":
        consent = client.get_consent(args.voice_id)
        if args.output and consent.get("audio_url"):
            Path(args.output).write_bytes(client.download(consent["audio_url"]))
        if out.as_json:
            out.json(consent)
            return 0
        show_consent(out, consent)
        if args.output and consent.get("audio_url"):
            out.line(f"the consent take: {args.output}")
        return 0
    if command == "get":
        voice = client.get_voice(args.voice_id)
    elif command == "rename":
        voice = client.rename_voice(args.voice_id, args.name)
        out.line(f"voice {voice['voice_id']} renamed to {voice.get('name')}")
    else:  # delete
        if (
            not args.yes
            and not out.as_json
            and not _confirm(f"delete voice {args.voice_id}, here and at its vendor?")
        ):
            raise CliError("not deleted", hint="pass --yes to delete without asking")
        voice = client.delete_voice(args.voice_id)
        out.line(f"voice {voice['voice_id']} deleted")
    if out.as_json:
        out.json(voice)
    elif command == "get":
        show_voice(out, voice)
    elif voice.get("note"):
        out.line(f"note: {voice['note']}")
    return 0


def _list_speech(out: Output, client: VoicecloneClient, args: argparse.Namespace) -> int:
    page = client.list_speech(args.voice_id, limit=args.limit, cursor=args.cursor)
    if out.as_json:
        out.json(page)
        return 0
    if not page["items"]:
        out.line(f'voice {args.voice_id} has spoken nothing yet: voiceclone speak {args.voice_id} "text"')
        return 0
    out.table(
        ["SPEECH ID", "CREATED", "FORMAT", "RATE", "SECONDS", "CHARS", "CALLS", "AUDIO URL"],
        [
            [
                s["speech_id"],
                s.get("created_at"),
                s.get("format"),
                s.get("sample_rate"),
                s.get("duration_seconds"),
                s.get("characters"),
                s.get("vendor_calls"),
                s.get("audio_url"),
            ]
            for s in page["items"]
        ],
    )
    if page.get("next_cursor"):
        out.line(f"more: voiceclone voices speech {args.voice_id} --cursor {page['next_cursor']}")
    return 0


SPEECH_FORMATS = ("wav", "mp3", "pcm")


def speech_format(output: str | None, chosen: str | None) -> str:
    """The format asked for: --format, else the output file's extension, else wav."""
    if chosen:
        return chosen
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    return suffix if suffix in SPEECH_FORMATS else "wav"


# An asynchronous vendor's speech (the Tencent gateway, Huawei) is RUNNING until the speech workflow
# ends it: GET /v1/speech/{id} every SPEECH_POLL_SECONDS (growing to SPEECH_POLL_MAX_SECONDS) until then.
SPEECH_POLL_SECONDS = 0.5
SPEECH_POLL_MAX_SECONDS = 3.0
SPEECH_WAIT_SECONDS = 900.0


def wait_for_speech(
    client: VoicecloneClient,
    speech: dict[str, Any],
    on_wait: Callable[[dict[str, Any], float], None] | None = None,
    timeout: float = SPEECH_WAIT_SECONDS,
) -> dict[str, Any]:
    """Poll a RUNNING speech until SUCCEEDED (returned) or FAILED (a CliError with the vendor's reason)."""
    started = time.monotonic()
    interval = SPEECH_POLL_SECONDS
    while speech["status"] == "RUNNING":
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            raise CliError(
                f"speech {speech['speech_id']} is still being made after {timeout:.0f} s",
                hint=f"voiceclone voices speech {speech['voice_id']} shows it when it is done",
            )
        if on_wait is not None:
            on_wait(speech, elapsed)
        time.sleep(interval)
        interval = min(interval * 1.5, SPEECH_POLL_MAX_SECONDS)
        speech = client.get_speech(speech["speech_id"])
    if speech["status"] == "FAILED":
        error = speech.get("error") or {}
        code = error.get("code") or error.get("error") or "Failed"
        raise CliError(
            f"speech {speech['speech_id']} failed at {speech['vendor']}: "
            f"{code}: {error.get('message') or 'no reason given'}",
            hint="GET /v1/speech/{id} shows the error; retry, or try a shorter text",
        )
    return speech


def speak_to_file(
    client: VoicecloneClient,
    voice_id: str,
    text: str,
    output: str | None,
    fmt: str,
    sample_rate: int | None = None,
    speed: float | None = None,
    on_wait: Callable[[dict[str, Any], float], None] | None = None,
) -> tuple[dict[str, Any], Path]:
    """Speak (waiting for an asynchronous vendor), download the audio from its URL, write it."""
    speech = client.speak(voice_id, text, fmt, sample_rate=sample_rate, speed=speed)
    speech = wait_for_speech(client, speech, on_wait)
    path = Path(output) if output else Path(f"{speech['speech_id']}.{speech['format']}")
    audio = client.download(speech["audio_url"])
    if path.parent != Path():
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(audio)
    return speech, path


def cmd_speak(args: argparse.Namespace) -> int:
    out = _output(args)
    text = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip():
        raise usage_error("nothing to say: the text is empty", hint='voiceclone speak VOICE_ID "text"')
    fmt = speech_format(args.output, args.format)
    if args.stream or args.play:
        return _speak_streaming(out, args, text, fmt)
    speech, path = speak_to_file(
        VoicecloneClient(),
        args.voice_id,
        text,
        args.output,
        fmt,
        args.sample_rate,
        args.speed,
        on_wait=None if out.as_json else speech_progress(),
    )
    if out.as_json:
        out.json(speech)
        return 0
    out.line(
        f"spoke {speech['characters']} characters with voice {args.voice_id}: {path} "
        f"({speech['duration_seconds']:.1f} s, {speech['format']}, {speech['sample_rate']} Hz, "
        f"{speech['vendor_calls']} {speech['vendor']} call{'s' if speech['vendor_calls'] != 1 else ''})"
    )
    out.line(f"speech {speech['speech_id']}; list it with: voiceclone voices speech {args.voice_id}")
    return 0


# The exit code of a stream that failed after its first audio (what arrived is kept in the file).
STREAM_FAILED_EXIT = 3
# Players that read audio from stdin, by format, the first one found on PATH is used (--play).
PLAYERS: tuple[tuple[str, tuple[str, ...], Callable[[str, int], list[str]]], ...] = (
    ("ffplay", ("wav", "mp3", "pcm"), lambda fmt, rate: [
        "ffplay", "-nodisp", "-autoexit", "-loglevel", "error",
        *(["-f", "s16le", "-ar", str(rate), "-ch_layout", "mono"] if fmt == "pcm" else []), "-i", "-",
    ]),
    ("mpv", ("wav", "mp3", "pcm"), lambda fmt, rate: [
        "mpv", "--no-video", "--really-quiet",
        *(["--demuxer=rawaudio", f"--demuxer-rawaudio-rate={rate}", "--demuxer-rawaudio-channels=1"]
          if fmt == "pcm" else []), "-",
    ]),
    ("aplay", ("wav", "pcm"), lambda fmt, rate: [
        "aplay", "-q",
        *(["-t", "raw", "-f", "S16_LE", "-r", str(rate), "-c", "1"] if fmt == "pcm" else []), "-",
    ]),
)  # fmt: skip


def find_player(fmt: str, rate: int) -> list[str] | None:
    """The command line of a player found on PATH that plays ``fmt`` from stdin; None if there is none."""
    for name, formats, command in PLAYERS:
        if fmt in formats and shutil.which(name):
            return command(fmt, rate)
    return None


class _Sinks:
    """Where streamed audio goes as it arrives: the file, a player's stdin, or both."""

    def __init__(self, path: Path | None, player: list[str] | None) -> None:
        self.file = path.open("wb") if path is not None else None
        self.player = (
            subprocess.Popen(player, stdin=subprocess.PIPE)  # noqa: S603 - a fixed player found on PATH
            if player
            else None
        )

    def write(self, chunk: bytes) -> None:
        if self.file is not None:
            self.file.write(chunk)
            self.file.flush()
        if self.player is not None and self.player.stdin is not None:
            try:
                self.player.stdin.write(chunk)
                self.player.stdin.flush()
            except BrokenPipeError:  # the player was closed: the file still gets the audio
                self.player = None

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.player is not None and self.player.stdin is not None:
            self.player.stdin.close()
            self.player.wait()


def _speak_streaming(out: Output, args: argparse.Namespace, text: str, fmt: str) -> int:
    """``speak --stream`` (``--play``): the audio written (played) as it arrives, the time to first
    audio printed; a stream cut after its first audio is told apart from a complete one (exit 3, with
    the vendor's code)."""
    client = VoicecloneClient()
    started = time.monotonic()
    player: list[str] | None = None
    if args.play:
        player = find_player(fmt, args.sample_rate or 16000)
        if player is None:
            raise usage_error(
                f"no player for {fmt} found on PATH (ffplay, mpv or aplay)",
                hint="install ffmpeg (ffplay), or drop --play and write the audio with -o",
            )
    first_audio: float | None = None
    received = 0
    with client.stream_speech(
        args.voice_id, text, fmt, sample_rate=args.sample_rate, speed=args.speed
    ) as answer:
        if player is not None and fmt == "pcm" and answer.sample_rate:
            player = find_player(fmt, answer.sample_rate)
        path = Path(args.output) if args.output else (None if player else Path(f"{answer.speech_id}.{fmt}"))
        if path is not None and path.parent != Path():
            path.parent.mkdir(parents=True, exist_ok=True)
        sinks = _Sinks(path, player)
        try:
            for chunk in answer.chunks:
                if first_audio is None:
                    first_audio = time.monotonic() - started
                    if not out.as_json:
                        how = "" if answer.delivery == "live" else " (whole: the vendor does not stream)"
                        shown = f"first audio after {first_audio * 1000:.0f} ms{how}"
                        print(shown, file=sys.stderr, flush=True)
                sinks.write(chunk)
                received += len(chunk)
        except StreamCut:
            sinks.close()
            raise _stream_failure(client, answer.speech_id, received, path) from None
        sinks.close()
    speech = client.get_speech(answer.speech_id)
    if speech["status"] != "SUCCEEDED":  # an answer that ended cleanly must be a recorded success
        raise _stream_failure(client, answer.speech_id, received, path, speech)
    total = time.monotonic() - started
    if out.as_json:
        out.json(
            {**speech, "delivery": answer.delivery, "first_audio_ms": round((first_audio or total) * 1000, 1),
             "total_ms": round(total * 1000, 1), "output": str(path) if path else None}
        )  # fmt: skip
        return 0
    where = f": {path}" if path else " (played)"
    out.line(
        f"streamed {speech['characters']} characters with voice {args.voice_id}{where} "
        f"({speech['duration_seconds']:.1f} s, {fmt}, {speech['sample_rate']} Hz; first audio after "
        f"{(first_audio or total) * 1000:.0f} ms, all of it after {total:.1f} s, {answer.delivery})"
    )
    out.line(f"speech {speech['speech_id']}; list it with: voiceclone voices speech {args.voice_id}")
    return 0


def _stream_failure(
    client: VoicecloneClient,
    speech_id: str,
    received: int,
    path: Path | None,
    speech: dict[str, Any] | None = None,
) -> CliError:
    """A stream that did not complete: the reason the speech's record gives (the vendor's code)."""
    try:
        speech = speech or client.get_speech(speech_id)
    except ApiError:
        speech = {}
    error = speech.get("error") or {}
    code = error.get("code") or error.get("error") or "StreamCut"
    vendor = speech.get("vendor") or "the vendor"
    kept = f"; the {received} bytes that arrived are in {path}" if path and received else ""
    return CliError(
        f"the stream of speech {speech_id} failed after {received} bytes of audio at {vendor}: "
        f"{code}: {error.get('message') or 'the answer ended before the audio was complete'}{kept}",
        hint=f"GET /v1/speech/{speech_id} shows the error; retry, or speak without --stream",
        code=STREAM_FAILED_EXIT,
    )


def speech_progress() -> Callable[[dict[str, Any], float], None]:
    """Progress of an async vendor's speech on stderr: one line when it starts, then every 5 s."""
    shown = [-1]

    def show(speech: dict[str, Any], elapsed: float) -> None:
        step = int(elapsed // 5)
        if step == shown[0]:
            return
        shown[0] = step
        jobs = speech.get("vendor_calls", 1)
        print(
            f"speech {speech['speech_id']}: {speech['vendor']} is making it "
            f"({jobs} vendor job{'s' if jobs != 1 else ''}), {elapsed:.0f} s so far",
            file=sys.stderr,
            flush=True,
        )

    return show


def cmd_usage(args: argparse.Namespace) -> int:
    out = _output(args)
    usage = VoicecloneClient().usage(args.start, args.end)
    if out.as_json:
        out.json(usage)
        return 0
    out.line(f"usage from {usage['start']} to {usage['end']} (UTC days)")
    if not usage["vendors"]:
        out.line("nothing used in this period")
        return 0
    out.table(
        ["VENDOR", "CHARACTERS", "SPEECH REQUESTS", "CLONES"],
        [[v["vendor"], v["characters"], v["speech_requests"], v["clones"]] for v in usage["vendors"]],
    )
    return 0


def cmd_webhooks(args: argparse.Namespace) -> int:
    out = _output(args)
    client = VoicecloneClient()
    secret = client.rotate_webhook_secret() if args.rotate else client.webhook_secret()
    if out.as_json:
        out.json(secret)
        return 0
    if args.rotate:
        out.line("rotated: deliveries are signed with this secret from now on")
    out.fields([("secret", secret.get("secret")), ("created", secret.get("created_at"))])
    return 0


def audio_content_type(audio: bytes) -> str:
    """The media type POST /v1/provenance is sent with, from the bytes (the file's name may say nothing)."""
    if audio[:4] == b"RIFF" and audio[8:12] == b"WAVE":
        return "audio/wav"
    if audio[:3] == b"ID3" or (len(audio) > 1 and audio[0] == 0xFF and audio[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return "application/octet-stream"


def _c2pa_line(c2pa: dict[str, Any]) -> str:
    if not c2pa.get("present"):
        return "none"
    made = (
        "made by a trained model"
        if str(c2pa.get("digital_source_type", "")).endswith("/trainedAlgorithmicMedia")
        else f"source {c2pa.get('digital_source_type')}"
    )
    failures = ", ".join(f["code"] for f in c2pa.get("failures") or [])
    return "; ".join(
        part
        for part in (
            str(c2pa.get("state")),
            f"signed by {c2pa['signer']}" if c2pa.get("signer") else "",
            made,
            failures,
        )
        if part
    )


def _aigc_line(aigc: dict[str, Any]) -> str:
    if not aigc.get("present"):
        return "none"
    fields = aigc.get("fields") or {}
    shown = " ".join(f"{k}={v}" for k, v in fields.items() if v) or f"unreadable: {aigc.get('problem')}"
    matches = aigc.get("audio_matches")
    if matches is None:
        return shown
    return f"{shown} ({'matches the audio' if matches else 'does NOT match the audio'})"


def cmd_verify(args: argparse.Namespace) -> int:
    out = _output(args)
    path = Path(args.file)
    audio = path.read_bytes()
    report = VoicecloneClient().verify(audio, audio_content_type(audio))
    if out.as_json:
        out.json(report)
        return 0 if report["ok"] else 1
    out.line(f"{path}: {'the labels hold' if report['ok'] else 'the labels do NOT hold'}")
    speech = report.get("speech") or {}
    yours = report.get("yours")
    heard = report.get("explicit_label")
    audible = None if heard is None else "the AI rhythm at the start" if heard else "none"
    out.fields(
        [
            ("format", report.get("format") or "neither WAV nor MP3"),
            ("C2PA manifest", _c2pa_line(report["c2pa"])),
            ("GB 45438 label", _aigc_line(report["aigc"])),
            ("audible label", audible),
            (
                "speech",
                f"{speech.get('speech_id')} of voice {speech.get('voice_id')} ({speech.get('vendor')})"
                if yours
                else "another tenant's (not shown)"
                if yours is False
                else None,
            ),
        ]
    )
    for finding in report.get("findings") or []:
        out.line(f"  {finding['severity']}: {finding['code']}: {finding['message']}")
    return 0 if report["ok"] else 1


def cmd_labels(args: argparse.Namespace) -> int:
    out = _output(args)
    client = VoicecloneClient()
    if args.explicit_label is None:
        policy = client.label_policy()
    else:
        policy = client.set_label_policy(args.explicit_label == "on")
    if out.as_json:
        out.json(policy)
        return 0
    chosen = "your choice" if policy["explicit_label_source"] == "tenant" else "the deployment's default"
    out.fields(
        [
            ("audible label", f"{'on' if policy['explicit_label'] else 'off'} ({chosen})"),
            ("GB 45438 label", f"always, ContentProducer={policy['content_producer']}"),
            ("C2PA manifest", "always"),
        ]
    )
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    out = _output(args)
    client = VoicecloneClient()
    found = client.update_settings(args.organisation) if args.organisation else client.settings()
    if out.as_json:
        out.json(found)
        return 0
    out.fields(
        [
            (
                "organisation",
                found.get("organisation_name") or "(not set: voiceclone settings --organisation NAME)",
            ),
            ("document consent", "allowed" if found.get("document_consent_allowed") else "not allowed"),
            ("updated", found.get("updated_at")),
        ]
    )
    return 0


def cmd_admin(args: argparse.Namespace) -> int:
    out = _output(args)
    table = args.table or os.environ.get("VOICECLONE_TABLE_NAME")
    if not table:
        raise usage_error(
            "no table: pass --table NAME or set VOICECLONE_TABLE_NAME",
            hint="the stack's table name is in its outputs (aws cloudformation describe-stacks)",
        )
    from botocore.exceptions import BotoCoreError, ClientError
    from voiceclone.store import Store

    # Imported by name: the CLI runs where the service code is installed, loaded only for admin work.
    api_keys = importlib.import_module("voiceclone.logic.account.api_keys")
    tenant_settings = importlib.import_module("voiceclone.logic.account.settings")
    store = Store(table)
    organisation = getattr(args, "organisation", None)
    try:
        if args.admin_command == "tenant":
            allowed = {"allow": True, "deny": False}.get(args.document_consent or "")
            found = tenant_settings.set_policy(
                store.tenants, args.tenant, organisation_name=organisation, document_consent_allowed=allowed
            ).model_dump(mode="json")
        else:
            key = str(api_keys.issue_api_key(store.account, args.tenant))
            if organisation:
                tenant_settings.set_policy(store.tenants, args.tenant, organisation_name=organisation)
    except (BotoCoreError, ClientError) as exc:
        raise CliError(
            f"cannot write tenant {args.tenant} in table {table}: {exc}",
            hint="check your AWS credentials and region (AWS_PROFILE, AWS_REGION) and the table name",
        ) from exc
    if args.admin_command == "tenant":
        if out.as_json:
            out.json({"tenant_id": args.tenant, **found})
            return 0
        out.line(f"tenant {args.tenant}:")
        out.fields(
            [
                ("organisation", found["organisation_name"] or "(not set)"),
                ("document consent", "allowed" if found["document_consent_allowed"] else "not allowed"),
            ]
        )
        return 0
    if out.as_json:
        out.json({"tenant_id": args.tenant, "api_key": key})
        return 0
    out.line(f"API key for tenant {args.tenant} (shown once; store it now):")
    out.line(f"  export VOICECLONE_API_KEY={key}")
    return 0


def cmd_local(args: argparse.Namespace) -> int:
    from voiceclone_local.stack import LocalStack

    out = _output(args)
    if args.local_command == "up":
        stack = LocalStack(api_port=args.port).start()
        out.line(f"voiceclone local stack is up: API {stack.api_url}")
        out.line(f"  export VOICECLONE_API_URL={stack.api_url}")
        api_key = getattr(stack, "api_key", "")
        if api_key:
            out.line(f"  export VOICECLONE_API_KEY={api_key}")
        studio = getattr(stack, "studio_url", "") or "not found (no studio/ folder)"
        out.line(f"  studio (record a voice in the browser): {studio}")
        # Every vendor's sandbox (a vendor whose endpoint was set before the start has none).
        for vendor, sandbox in stack.sandboxes.items():
            out.line(f"  {vendor} sandbox at {sandbox.url}")
            if getattr(sandbox, "stream_url", ""):  # a vendor that streams speech over a WebSocket
                out.line(f"  {vendor} streaming speech at {sandbox.stream_url}")
        out.line("Ctrl-C stops it.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            stack.stop()
        return 0
    # demo: the whole clone on a stack that lives for this command only
    out.line("starting the local stack (moto + sandboxes; synthesizing the CDK app)...")
    started = time.monotonic()
    with LocalStack(quiet=True) as stack:
        out.line(f"local stack up in {time.monotonic() - started:.1f} s: API {stack.api_url}")
        if getattr(stack, "studio_url", ""):
            out.line(f"  studio {stack.studio_url} while the demo runs (`voiceclone local up` keeps it up)")
        directory = Path(args.directory) if args.directory else SAMPLES
        # The sample letter stands in for a signed one; the sandbox only checks one was uploaded.
        documents = {"authorization_letter": str(SAMPLE_LETTER), **options(args.document)}
        client = VoicecloneClient(stack.api_url, api_key=getattr(stack, "api_key", "") or None)
        # No person is there to read the consent statement: the stand-in reader does (docs/consent.md).
        code = clone(
            client,
            args.vendor,
            args.name,
            directory,
            args.gender,
            args.timeout,
            options=options(args.option),
            documents=documents,
            out=out,
            speaker=args.speaker,
            stand_in_consent=True,
        )
        if code == 0:
            code = demo_speech(client, out, args.vendor, args.say, args.speech_file)
    return code


def demo_speech(client: VoicecloneClient, out: Output, vendor: str, text: str, output: str | None) -> int:
    """Have the voice just cloned say a sentence, and tell where to hear it (or why it cannot speak)."""
    voices = client.list_voices(limit=1, vendor=vendor, state="READY")["items"]
    if not voices:
        raise CliError(f"the clone succeeded but no {vendor} voice is listed", hint="voiceclone voices list")
    voice_id = voices[0]["voice_id"]
    path = output or str(Path(".voiceclone") / f"demo-speech-{vendor}.wav")
    try:
        speech, written = speak_to_file(client, voice_id, text, path, "wav", on_wait=speech_progress())
    except ApiError as exc:
        if exc.status == 409:  # a vendor whose speech voiceclone does not offer: the reason is the news
            out.line(f"voice {voice_id} cannot speak through voiceclone: {exc.message}")
            return 0
        raise
    out.line(
        f"the new voice said {text!r} ({speech['duration_seconds']:.1f} s): listen to {written.resolve()}"
    )
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from voiceclone.vendors.registry import vendor_ids
    from voiceclone_local.sandboxes.base import SandboxBase

    out = _output(args)
    found = SandboxBase.for_vendor(args.vendor) if args.vendor in vendor_ids() else None
    if found is None:
        available = [v for v in vendor_ids() if SandboxBase.for_vendor(v) is not None]
        raise usage_error(f"no sandbox for {args.vendor!r}", hint=f"available: {', '.join(available)}")
    sandbox = found(port=args.port)
    out.line(f"{args.vendor} sandbox on {sandbox.url} (Ctrl-C stops it)")
    stream_url = getattr(sandbox, "stream_url", "")  # a vendor that streams speech over a WebSocket
    if stream_url:
        out.line(f"{args.vendor} streaming speech on {stream_url}")
    with contextlib.suppress(KeyboardInterrupt):
        sandbox.serve_forever()
    return 0


def context_hint(args: argparse.Namespace, exc: ApiError) -> str | None:
    """What to do about an API error, given the command that got it."""
    if exc.hint:
        return exc.hint
    command = args.command
    sub = getattr(args, f"{command}_command", None)
    if exc.status == 404 and exc.error == "InvalidCursor":
        return "start again without --cursor"
    if exc.status == 404 and command == "jobs":
        return "list your jobs: voiceclone jobs list"
    if exc.status == 404 and command == "voices":
        return "list your voices: voiceclone voices list"
    if exc.status == 409 and command == "jobs" and sub == "cancel":
        return f"the job already finished; see how: voiceclone jobs get {args.job_id}"
    if exc.status == 409 and command == "jobs":
        return (
            f"only a job AWAITING_AUDIO or CHECK_FAILED takes recordings: voiceclone jobs get {args.job_id}"
        )
    if exc.status == 409 and command == "voices":
        return f"see the voice's state: voiceclone voices get {args.voice_id}"
    if exc.status in (400, 422):
        return f"see: voiceclone {command}{' ' + sub if sub else ''} --help"
    return None
