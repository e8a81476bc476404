"""`voiceclone`: the command-line client of the REST API, the local stack and the vendor sandboxes."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from voiceclone_cli.client import ApiError, VoicecloneClient

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "CHECK_FAILED"}
REPO_ROOT = Path(__file__).resolve().parents[2]
# Recordings of the standard script (every vendor's sentences are drawn from it).
SAMPLES = REPO_ROOT / "samples" / "tencent_vrs"
SAMPLE_LETTER = REPO_ROOT / "samples" / "authorization-letter.pdf"


def _out(text: str = "") -> None:
    print(text, flush=True)


def cmd_texts(args: argparse.Namespace) -> int:
    texts = VoicecloneClient().training_texts(args.vendor)
    if args.json:
        _out(json.dumps(texts, ensure_ascii=False, indent=2))
    else:
        for t in texts:
            _out(f"{t['text_id']}  {t['text']}")
    return 0


def _describe_failure(job: dict[str, Any]) -> list[str]:
    lines = []
    if job["status"] == "CHECK_FAILED":
        lines.append("These recordings must be made again:")
        for s in job["sentences"]:
            if s["status"] != "PASSED":
                check = s.get("check") or {}
                lines.append(f"  {s['text_id']} «{s['text']}»: {check.get('message') or s['status']}")
                lines += [f"      - {tip}" for tip in check.get("tips") or []][:5]
    error = job.get("error") or {}
    if job["status"] == "FAILED" and error:
        vendor = f"{error.get('vendor')} " if error.get("vendor") else ""
        lines.append(f"Job failed: {vendor}{error.get('code')}: {error.get('message')}")
    return lines


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
) -> int:
    """Create a job, upload one recording per sentence, follow it to the end. Returns the exit code."""
    info = client.vendor_info(vendor)
    texts = info["texts"]
    missing = [t["text_id"] for t in texts if not (directory / f"{t['text_id']}.wav").is_file()]
    if missing:
        _out(f"error: {directory} lacks recordings for: {', '.join(missing)} (expected <text_id>.wav files;")
        _out(f"       list the sentences with: voiceclone texts --vendor {vendor})")
        return 2
    documents = documents or {}
    missing_docs = [d for d in info.get("documents", []) if d not in documents]
    if missing_docs:
        flags = " ".join(f"--document {d}=FILE.pdf" for d in missing_docs)
        _out(f"error: {vendor} requires {', '.join(missing_docs)}: pass {flags}")
        return 2
    job = client.create_job(vendor, name, gender, options=options)
    job_id = job["job_id"]
    if not as_json:
        _out(f"job {job_id} created ({vendor}, {len(job['sentences'])} sentences)")

    uploaded = 0

    def upload(sentence: dict[str, Any]) -> None:
        client.upload(sentence["upload"], directory / f"{sentence['text_id']}.wav")

    for document in job.get("documents") or []:
        client.upload(document["upload"], Path(documents[document["name"]]))
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in pool.map(upload, job["sentences"]):
            uploaded += 1
            if not as_json:
                print(f"\ruploaded {uploaded}/{len(job['sentences'])}", end="", flush=True)
    if not as_json:
        _out()

    deadline = time.monotonic() + timeout
    last = ""
    while True:
        job = client.get_job(job_id)
        line = f"{job['status']}: checks {job['checks_done']}/{job['checks_total']}"
        if job["status"] == "TRAINING":
            line = f"TRAINING at {vendor} (task {job.get('vendor_task_id')})"
        if line != last and not as_json:
            _out(line)
            last = line
        if job["status"] in TERMINAL:
            break
        if time.monotonic() > deadline:
            _out(
                f"error: job {job_id} still {job['status']} after {timeout:.0f} s; follow it with: "
                f"voiceclone jobs get {job_id}"
            )
            return 3
        time.sleep(interval)

    if as_json:
        _out(json.dumps(job, ensure_ascii=False, indent=2))
    elif job["status"] == "SUCCEEDED":
        voice = job.get("voice") or {}
        _out(f"voice ready: {job['voice_id']}")
        for key, value in voice.items():
            _out(f"  {key}: {value}")
    else:
        for line in _describe_failure(job):
            _out(line)
    return 0 if job["status"] == "SUCCEEDED" else 1


def cmd_clone(args: argparse.Namespace) -> int:
    return clone(
        VoicecloneClient(),
        args.vendor,
        args.name,
        Path(args.directory),
        args.gender,
        args.timeout,
        as_json=args.json,
        options=_options(args.option),
        documents=_options(args.document),
    )


def _options(pairs: list[str] | None) -> dict[str, str]:
    """KEY=VALUE arguments as a dict."""
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: expected KEY=VALUE, got {pair!r}")
        options[key] = value
    return options


def cmd_jobs(args: argparse.Namespace) -> int:
    client = VoicecloneClient()
    if args.jobs_command == "get":
        job = client.get_job(args.job_id)
        if args.json:
            _out(json.dumps(job, ensure_ascii=False, indent=2))
        else:
            _out(f"{job['job_id']}  {job['vendor']}  {job['status']}  {job.get('voice_id') or ''}")
            for line in _describe_failure(job):
                _out(line)
        return 0
    page = client.list_jobs(limit=args.limit, cursor=args.cursor)
    if args.json:
        _out(json.dumps(page, ensure_ascii=False, indent=2))
    else:
        for j in page["items"]:
            _out(f"{j['job_id']}  {j['created_at']}  {j['vendor']:<12} {j['status']:<13} {j['voice_name']}")
        if page.get("next_cursor"):
            _out(f"more: voiceclone jobs list --cursor {page['next_cursor']}")
    return 0


def cmd_local(args: argparse.Namespace) -> int:
    from voiceclone_local.stack import LocalStack

    if args.local_command == "up":
        stack = LocalStack(api_port=args.port).start()
        _out(f"voiceclone local stack is up: API {stack.api_url}")
        _out(f"  export VOICECLONE_API_URL={stack.api_url}")
        if stack.sandbox:
            _out(f"  tencent_vrs sandbox at {stack.sandbox.url}")
        _out("Ctrl-C stops it.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            stack.stop()
        return 0
    # demo: the whole clone on a stack that lives for this command only
    _out("starting the local stack (moto + sandboxes; synthesizing the CDK app)...")
    started = time.monotonic()
    with LocalStack(quiet=True) as stack:
        _out(f"local stack up in {time.monotonic() - started:.1f} s: API {stack.api_url}")
        directory = Path(args.directory) if args.directory else SAMPLES
        # The sample letter stands in for a signed one; the sandbox only checks one was uploaded.
        documents = {"authorization_letter": str(SAMPLE_LETTER), **_options(args.document)}
        code = clone(
            VoicecloneClient(stack.api_url),
            args.vendor,
            args.name,
            directory,
            args.gender,
            args.timeout,
            options=_options(args.option),
            documents=documents,
        )
    return code


def cmd_sandbox(args: argparse.Namespace) -> int:
    from voiceclone_local.stack import SANDBOXES, sandbox_class

    if args.vendor not in SANDBOXES:
        _out(f"error: no sandbox for {args.vendor!r}; available: {', '.join(SANDBOXES)}")
        return 2
    sandbox = sandbox_class(args.vendor)(port=args.port)
    _out(f"{args.vendor} sandbox on {sandbox.url} (Ctrl-C stops it)")
    with contextlib.suppress(KeyboardInterrupt):
        sandbox.serve_forever()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voiceclone", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("texts", help="print the sentences to record for a vendor")
    p.add_argument("--vendor", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_texts)

    p = sub.add_parser("clone", help="clone a voice from a folder of <text_id>.wav recordings")
    p.add_argument("--vendor", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--gender", choices=["female", "male"], default="female")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds to follow the job (default 3600)")
    p.add_argument(
        "--option", action="append", metavar="KEY=VALUE", help="a vendor option, e.g. speaker_id=S_1"
    )
    p.add_argument(
        "--document", action="append", metavar="NAME=FILE", help="a document the vendor requires (PDF)"
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("directory")
    p.set_defaults(func=cmd_clone)

    p = sub.add_parser("jobs", help="list or show jobs")
    jobs = p.add_subparsers(dest="jobs_command", required=True)
    g = jobs.add_parser("get")
    g.add_argument("job_id")
    g.add_argument("--json", action="store_true")
    g = jobs.add_parser("list")
    g.add_argument("--limit", type=int, default=20)
    g.add_argument("--cursor")
    g.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("local", help="the embedded local stack")
    local = p.add_subparsers(dest="local_command", required=True)
    g = local.add_parser("up", help="run the local stack in the foreground and print its API URL")
    g.add_argument("--port", type=int, default=0, help="API port (default: a free one)")
    g = local.add_parser("demo", help="start the local stack and clone a voice from the sample recordings")
    g.add_argument("--vendor", default="tencent_vrs")
    g.add_argument("--name", default="demo-voice")
    g.add_argument("--gender", choices=["female", "male"], default="female")
    g.add_argument("--timeout", type=float, default=300.0)
    g.add_argument("--option", action="append", metavar="KEY=VALUE", help="a vendor option")
    g.add_argument(
        "--document", action="append", metavar="NAME=FILE", help="default: samples/authorization-letter.pdf"
    )
    g.add_argument(
        "directory", nargs="?", help="recordings (default: samples/tencent_vrs, the standard script)"
    )
    p.set_defaults(func=cmd_local)

    p = sub.add_parser("sandbox", help="run a vendor sandbox standalone")
    p.add_argument("vendor")
    p.add_argument("--port", type=int, default=9001)
    p.set_defaults(func=cmd_sandbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ApiError as exc:
        print(f"error: {exc.error}: {exc.message}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
