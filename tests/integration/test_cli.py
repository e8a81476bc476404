"""The `voiceclone` CLI against the local stack's API, as a user or a script runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from voiceclone_cli.client import VoicecloneClient
from voiceclone_cli.main import main
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER, wav_bytes
from tests.integration.conftest import created_job_id

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"


@pytest.fixture
def cli(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> VoicecloneClient:
    """The CLI's environment pointed at the local stack; a client with the same settings."""
    api_key = getattr(stack, "api_key", "")
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", api_key)
    return VoicecloneClient(stack.api_url, api_key=api_key or None)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one command, less the log lines of the stack's functions
    (they run in this process, some on background threads, and log to the same streams)."""
    code = main(list(argv))
    captured = capsys.readouterr()

    def cli_only(text: str) -> str:
        return "".join(line for line in text.splitlines(keepends=True) if not line.startswith('{"level":'))

    return code, cli_only(captured.out), cli_only(captured.err)


def new_job(client: VoicecloneClient, name: str = "cli-it") -> dict[str, Any]:
    return client.create_job("tencent_vrs", name, "female", SPEAKER)


def test_texts(cli: VoicecloneClient, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "texts", "tencent_vrs")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "00001  在很久很久以前 鸟群中有一只小鸟" and lines[1].startswith("00002  ")
    assert "20 sentences" in out
    code, out, _ = run(capsys, "texts", "tencent_vrs", "--json")
    body = json.loads(out)
    assert code == 0 and body["vendor"] == "tencent_vrs" and len(body["texts"]) == 20


def test_jobs_list_json(cli: VoicecloneClient, capsys: pytest.CaptureFixture[str]) -> None:
    job = new_job(cli)
    code, out, err = run(capsys, "--json", "jobs", "list", "--limit", "100")
    assert code == 0, err
    page = json.loads(out)
    assert set(page) >= {"items", "next_cursor"}
    mine = [j for j in page["items"] if j["job_id"] == job["job_id"]]
    assert mine and mine[0]["status"] == "AWAITING_AUDIO" and mine[0]["voice_name"] == "cli-it"


def test_jobs_get(cli: VoicecloneClient, capsys: pytest.CaptureFixture[str]) -> None:
    job = new_job(cli)
    code, out, err = run(capsys, "jobs", "get", job["job_id"])
    assert code == 0, err
    assert f"job:        {job['job_id']}" in out and "AWAITING_AUDIO" in out
    assert any(line.split()[:2] == ["00001", "PENDING_UPLOAD"] for line in out.splitlines())
    code, out, _ = run(capsys, "jobs", "get", job["job_id"], "--json")
    assert json.loads(out)["job_id"] == job["job_id"]


def test_jobs_get_unknown(cli: VoicecloneClient, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "jobs", "get", "j-does-not-exist")
    assert code == 1 and out == ""
    assert err.startswith("error: JobNotFound: ") and "hint: list your jobs: voiceclone jobs list" in err


def test_voices_list(cli: VoicecloneClient, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "voices", "list", "--json")
    assert code == 0, err
    page = json.loads(out)
    assert isinstance(page["items"], list) and "next_cursor" in page
    code, out, err = run(capsys, "voices", "list")
    assert code == 0, err
    assert out.startswith("VOICE ID") or out.startswith("no voices")


def test_jobs_cancel(cli: VoicecloneClient, capsys: pytest.CaptureFixture[str]) -> None:
    job = new_job(cli, "cli-cancel")
    code, out, err = run(capsys, "jobs", "cancel", job["job_id"])
    assert code == 0, err
    assert out == f"job {job['job_id']} cancelled\n"
    assert cli.get_job(job["job_id"])["status"] == "CANCELLED"


def test_reupload_takes_a_rejected_job_to_its_voice(
    cli: VoicecloneClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a clone that failed its checks on one silent recording
    bad = tmp_path / "bad"
    shutil.copytree(SAMPLES, bad)
    (bad / "00007.wav").write_bytes(wav_bytes(seconds=3.0, amplitude=0.0))
    # (--force: the CLI's own check would stop the silent file before any job exists)
    args = [
        "clone",
        "--speaker",
        SPEAKER,
        "--stand-in-consent",
        "--vendor",
        "tencent_vrs",
        "--name",
        "cli-reupload",
        "--force",
        "--timeout",
        "90",
        str(bad),
    ]
    code, out, _ = run(capsys, *args)
    assert code == 1 and "00007" in out
    job_id = created_job_id(out)
    assert cli.get_job(job_id)["status"] == "CHECK_FAILED"
    # When the good recordings are re-uploaded and followed
    code, out, err = run(capsys, "jobs", "reupload", job_id, str(SAMPLES), "--wait", "--timeout", "90")
    # Then only the rejected sentence went again, and the job ends with its voice
    assert code == 0, out + err
    assert "uploaded 1/1 recordings" in out and "voice ready: v-" in out
    assert cli.get_job(job_id)["status"] == "SUCCEEDED"
    # ...which can no longer be cancelled
    code, _, err = run(capsys, "jobs", "cancel", job_id)
    assert code == 1 and f"hint: the job already finished; see how: voiceclone jobs get {job_id}" in err
