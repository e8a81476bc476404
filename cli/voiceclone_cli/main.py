"""`voiceclone`: the command-line client of the REST API, the local stack and the vendor sandboxes.

Exit codes: 0 done, 1 the API or the job failed, 2 a usage error. `--json` (before or after the
subcommand) prints the API's JSON alone on stdout; errors go to stderr as `error:` and `hint:` lines.
"""

from __future__ import annotations

import argparse
import sys

from voiceclone_cli import commands
from voiceclone_cli.client import ApiError
from voiceclone_cli.commands import DEMO_SENTENCE, DEMO_SPEAKER, CliError, clone, describe_failure
from voiceclone_cli.output import Output

__all__ = ["build_parser", "clone", "describe_failure", "main"]

EPILOG = """examples:
  voiceclone texts tencent_vrs
  voiceclone check --vendor tencent_vrs recordings/
  voiceclone settings --organisation "Example Audio Ltd"
  voiceclone clone --vendor tencent_vrs --name my-voice --speaker "Li Hua" recordings/
  voiceclone jobs consent JOB_ID consent.wav --wait
  voiceclone voices consent VOICE_ID -o consent.wav
  voiceclone jobs list --json
  voiceclone jobs reupload JOB_ID recordings/ --wait
  voiceclone voices list --state READY
  voiceclone speak VOICE_ID "你好，欢迎使用。" -o hello.wav
  voiceclone verify hello.wav

environment: VOICECLONE_API_URL (the API's base URL), VOICECLONE_API_KEY (its key)."""


def _common() -> argparse.ArgumentParser:
    """Options every subcommand takes, after its name too. SUPPRESS: an absent flag leaves the
    top-level parser's value alone."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the API's JSON (for scripts) instead of tables",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = [_common()]
    parser = argparse.ArgumentParser(
        prog="voiceclone",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--json", action="store_true", help="print the API's JSON (for scripts) instead of tables"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("texts", parents=common, help="the sentences to record for a vendor")
    p.add_argument("vendor", nargs="?", help="e.g. tencent_vrs")
    p.add_argument("--vendor", dest="vendor_option", metavar="VENDOR", help=argparse.SUPPRESS)
    p.set_defaults(func=commands.cmd_texts)

    p = sub.add_parser(
        "clone", parents=common, help="clone a voice from a folder of <text_id>.wav recordings"
    )
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
    p.add_argument("--force", action="store_true", help="upload even when the local check finds problems")
    p.add_argument(
        "--speaker", required=True, help="the person whose voice it is (the consent statement names them)"
    )
    p.add_argument(
        "--stand-in-consent",
        action="store_true",
        help="have eSpeak NG read the consent statement (demos and tests only: not a person's consent)",
    )
    p.add_argument(
        "--consent-document",
        metavar="REFERENCE",
        help="a signed consent kept elsewhere, named instead of the statement (where the operator allows)",
    )
    p.add_argument("directory")
    p.set_defaults(func=commands.cmd_clone)

    p = sub.add_parser(
        "compare", parents=common, help="clone one speaker at several vendors from one set of recordings"
    )
    compare = p.add_subparsers(dest="compare_command", required=True, metavar="ACTION")
    g = compare.add_parser(
        "create", parents=common, help="create a comparison and upload each take once from --recordings DIR"
    )
    g.add_argument("--vendor", action="append", required=True, help="a vendor (twice or more)")
    g.add_argument("--name", default="comparison", help="the voices' display name")
    g.add_argument("--speaker", required=True, help="the person whose voice it is (the statement names them)")
    g.add_argument("--gender", choices=["female", "male"], default="female")
    g.add_argument("--recordings", required=True, metavar="DIR", help="the takes, DIR/<text_id>.<ext>")
    g.add_argument(
        "--option",
        action="append",
        metavar="VENDOR.KEY=VALUE",
        help="a vendor option, e.g. volcengine.speaker_id=S_1",
    )
    g.add_argument(
        "--document", action="append", metavar="NAME=FILE", help="a document a vendor requires (PDF)"
    )
    g.add_argument("--consent", metavar="FILE", help="the speaker's recording of the consent statement")
    g.add_argument(
        "--stand-in-consent",
        action="store_true",
        help="have eSpeak NG read the consent statement (demos and tests only: not a person's consent)",
    )
    g.add_argument("--wait", action="store_true", help="follow it until every vendor has ended")
    g.add_argument("--timeout", type=float, default=3600.0, help="seconds to follow it (default 3600)")
    g = compare.add_parser("status", parents=common, help="a comparison, one row per vendor")
    g.add_argument("comparison_id")
    g.add_argument("--wait", action="store_true", help="follow it until every vendor has ended")
    g.add_argument("--timeout", type=float, default=3600.0, help="seconds to follow it (default 3600)")
    g = compare.add_parser(
        "ranking",
        parents=common,
        help="the vendors ranked by blind votes, facts beside (exit 3 while pairs still need votes)",
    )
    g.add_argument("comparison_id")
    g = compare.add_parser(
        "keep", parents=common, help="keep one vendor's voice, delete the comparison's others"
    )
    g.add_argument("comparison_id")
    g.add_argument("vendor")
    g.add_argument("--yes", "-y", action="store_true", help="do not ask first")
    p.set_defaults(func=commands.cmd_compare)

    p = sub.add_parser(
        "check", parents=common, help="check a folder of recordings for a vendor, as the service will"
    )
    p.add_argument("--vendor", required=True)
    p.add_argument("directory")
    p.set_defaults(func=commands.cmd_check)

    p = sub.add_parser(
        "jobs", parents=common, help="list, show, cancel jobs; upload rejected recordings again"
    )
    jobs = p.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    g = jobs.add_parser("list", parents=common, help="your jobs, newest first")
    g.add_argument("--limit", type=int, default=20)
    g.add_argument("--cursor", help="the next page, as the previous one printed")
    g = jobs.add_parser("get", parents=common, help="a job with its sentences and their checks")
    g.add_argument("job_id")
    g = jobs.add_parser("cancel", parents=common, help="cancel a job that has not finished")
    g.add_argument("job_id")
    g = jobs.add_parser(
        "consent",
        parents=common,
        help="show a job's consent statement, or upload the speaker's recording of it",
    )
    g.add_argument("job_id")
    g.add_argument("file", nargs="?", help="the recording of the statement (any accepted audio format)")
    g.add_argument(
        "--stand-in", action="store_true", help="have eSpeak NG read it (demos and tests only: not consent)"
    )
    g.add_argument("--wait", action="store_true", help="follow the job to the end, with its progress")
    g.add_argument("--timeout", type=float, default=3600.0, help="seconds to follow it (default 3600)")
    g = jobs.add_parser(
        "reupload", parents=common, help="upload the rejected sentences again from DIR/<text_id>.wav"
    )
    g.add_argument("job_id")
    g.add_argument("directory")
    g.add_argument("--wait", action="store_true", help="follow the job to the end, with its progress")
    g.add_argument("--timeout", type=float, default=3600.0, help="seconds to follow it (default 3600)")
    p.set_defaults(func=commands.cmd_jobs)

    p = sub.add_parser("voices", parents=common, help="list, show, rename, delete cloned voices")
    voices = p.add_subparsers(dest="voices_command", required=True, metavar="ACTION")
    g = voices.add_parser("list", parents=common, help="your voices, newest first")
    g.add_argument("--limit", type=int, default=20)
    g.add_argument("--cursor", help="the next page, as the previous one printed")
    g.add_argument("--vendor", help="only this vendor's voices")
    g.add_argument("--state", choices=["READY", "DELETED"], type=str.upper)
    g = voices.add_parser("get", parents=common, help="a voice, with what a TTS call at its vendor needs")
    g.add_argument("voice_id")
    g = voices.add_parser("rename", parents=common, help="rename a voice (at the vendor too where it can)")
    g.add_argument("voice_id")
    g.add_argument("name")
    g = voices.add_parser("delete", parents=common, help="delete a voice, here and at its vendor")
    g.add_argument("voice_id")
    g.add_argument("--yes", "-y", action="store_true", help="do not ask first")
    g = voices.add_parser(
        "consent", parents=common, help="the consent its speaker gave (the audit entry once it is deleted)"
    )
    g.add_argument("voice_id")
    g.add_argument("-o", "--output", help="also write the consent take to this file")
    g = voices.add_parser("speech", parents=common, help="what a voice spoke, newest first")
    g.add_argument("voice_id")
    g.add_argument("--limit", type=int, default=20)
    g.add_argument("--cursor", help="the next page, as the previous one printed")
    p.set_defaults(func=commands.cmd_voices)

    p = sub.add_parser("speak", parents=common, help="speak text with a cloned voice; write the audio")
    p.add_argument("voice_id")
    p.add_argument("text", help="what to say (up to 5000 characters; '-' reads it from stdin)")
    p.add_argument("-o", "--output", help="the audio file (default: <speech_id>.<format>)")
    p.add_argument("--format", choices=["wav", "mp3", "pcm"], default=None, help="default: from -o, else wav")
    p.add_argument("--sample-rate", type=int, help="samples per second (default: the vendor's)")
    p.add_argument("--speed", type=float, help="speaking rate, 1.0 normal (0.5-2.0)")
    p.add_argument(
        "--stream",
        action="store_true",
        help="stream it: write the audio as it arrives and print the time to first audio "
        "(exit 3 when the stream fails after its first audio)",
    )
    p.add_argument(
        "--play", action="store_true", help="stream it to a player (ffplay, mpv or aplay) as it arrives"
    )
    p.set_defaults(func=commands.cmd_speak)

    p = sub.add_parser(
        "verify", parents=common, help="check the labels of an audio file (exit 1 when one does not hold)"
    )
    p.add_argument("file", help="a WAV or MP3 file, e.g. one voiceclone speak wrote")
    p.set_defaults(func=commands.cmd_verify)

    p = sub.add_parser(
        "labels", parents=common, help="the labels your speech gets; turn the audible one on or off"
    )
    p.add_argument(
        "--explicit-label",
        choices=["on", "off"],
        help="start speech with the audible AI label (on) or not (off: your app must say it is synthetic)",
    )
    p.set_defaults(func=commands.cmd_labels)

    p = sub.add_parser("usage", parents=common, help="characters synthesized and voices cloned, per vendor")
    p.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (default: 1st of the month)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day (default: today, UTC)")
    p.set_defaults(func=commands.cmd_usage)

    p = sub.add_parser("webhooks", parents=common, help="the secret that signs job notifications")
    webhooks = p.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    g = webhooks.add_parser("secret", parents=common, help="show the signing secret")
    g.add_argument("--rotate", action="store_true", help="replace it with a new one")
    p.set_defaults(func=commands.cmd_webhooks)

    p = sub.add_parser(
        "settings", parents=common, help="your organisation's name (the consent statements give it)"
    )
    p.add_argument("--organisation", metavar="NAME", help="set it")
    p.set_defaults(func=commands.cmd_settings)

    p = sub.add_parser("admin", parents=common, help="operator tasks on a deployed stack (AWS credentials)")
    admin = p.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    g = admin.add_parser("issue-key", parents=common, help="issue an API key for a tenant (shown once)")
    g.add_argument("--tenant", required=True, help="the tenant id the key acts for")
    g.add_argument("--organisation", metavar="NAME", help="also set the tenant's organisation name")
    g.add_argument("--table", help="the DynamoDB table (default: $VOICECLONE_TABLE_NAME)")
    g = admin.add_parser(
        "tenant", parents=common, help="a tenant's organisation name and consent policy (operator only)"
    )
    g.add_argument("--tenant", required=True)
    g.add_argument("--organisation", metavar="NAME", help="the organisation its consent statements give")
    g.add_argument(
        "--document-consent",
        choices=["allow", "deny"],
        help="allow: its jobs may name a signed consent document instead of a recorded statement",
    )
    g.add_argument("--table", help="the DynamoDB table (default: $VOICECLONE_TABLE_NAME)")
    p.set_defaults(func=commands.cmd_admin)

    p = sub.add_parser("local", parents=common, help="the embedded local stack")
    local = p.add_subparsers(dest="local_command", required=True, metavar="ACTION")
    g = local.add_parser(
        "up", parents=common, help="run the local stack in the foreground; print its API URL and key"
    )
    g.add_argument("--port", type=int, default=0, help="API port (default: a free one)")
    g = local.add_parser(
        "demo",
        parents=common,
        help="start the local stack, clone a voice from the sample recordings and speak with it",
    )
    g.add_argument("--vendor", default="tencent_vrs")
    g.add_argument("--name", default="demo-voice")
    g.add_argument("--gender", choices=["female", "male"], default="female")
    g.add_argument(
        "--speaker", default=DEMO_SPEAKER, help="who the stand-in reader of the consent is said to be"
    )
    g.add_argument("--timeout", type=float, default=300.0)
    g.add_argument("--say", default=DEMO_SENTENCE, help="the sentence the new voice speaks")
    g.add_argument("--speech-file", help="its audio (default: .voiceclone/demo-speech-<vendor>.wav)")
    g.add_argument("--option", action="append", metavar="KEY=VALUE", help="a vendor option")
    g.add_argument(
        "--document", action="append", metavar="NAME=FILE", help="default: samples/authorization-letter.pdf"
    )
    g.add_argument(
        "directory", nargs="?", help="recordings (default: samples/tencent_vrs, the standard script)"
    )
    p.set_defaults(func=commands.cmd_local)

    p = sub.add_parser("sandbox", parents=common, help="run a vendor sandbox standalone")
    p.add_argument("vendor")
    p.add_argument("--port", type=int, default=9001)
    p.set_defaults(func=commands.cmd_sandbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, argparse printed why)
        return exc.code if isinstance(exc.code, int) else 2
    out = Output(as_json=args.json)
    try:
        code: int = args.func(args)
    except CliError as exc:
        out.error(exc.message, exc.hint)
        return exc.code
    except ApiError as exc:
        out.error(f"{exc.error}: {exc.message}", commands.context_hint(args, exc))
        return 2 if exc.error == "NoApiUrl" else 1
    except OSError as exc:  # a recording or document that cannot be read
        out.error(str(exc))
        return 1
    except KeyboardInterrupt:
        job_id = getattr(args, "job_id", None)
        out.error("interrupted", f"the job goes on: voiceclone jobs get {job_id}" if job_id else None)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
