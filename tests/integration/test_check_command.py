"""`voiceclone check` and `clone` on a folder of spoiled recordings: every problem named, no job made."""

from __future__ import annotations

import json
import shutil
from array import array
from pathlib import Path

import pytest
from voiceclone.domain.audio import pcm_of, wav_file
from voiceclone_cli.client import VoicecloneClient
from voiceclone_cli.main import main
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER, wav_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
# What each spoiled sentence must be called out for.
EXPECTED = {
    "00001": "EMPTY",
    "00002": "NOT_WAV",
    "00003": "MISSING",
    "00004": "SILENT",
    "00005": "CLIPPED",
}


@pytest.fixture
def spoiled(tmp_path: Path) -> Path:
    """Twenty recordings of which five are spoiled as people spoil them."""
    shutil.copytree(SAMPLES, tmp_path, dirs_exist_ok=True)
    (tmp_path / "00001.wav").write_bytes(b"")  # the recorder crashed
    (tmp_path / "00002.wav").write_text("notes for the session: read slowly\n" * 20)  # a text file
    (tmp_path / "00003.wav").unlink()  # forgotten
    (tmp_path / "00004.wav").write_bytes(wav_bytes(seconds=4.0, amplitude=0.0))  # microphone muted
    rate, pcm = pcm_of((SAMPLES / "00005.wav").read_bytes())
    loud = array("h")
    loud.frombytes(pcm)
    clipped = array("h", (max(-32768, min(32767, s * 8)) for s in loud))  # gain far too high
    (tmp_path / "00005.wav").write_bytes(wav_file(rate, clipped.tobytes()))
    return tmp_path


@pytest.fixture
def cli(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> VoicecloneClient:
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", stack.api_key)
    return VoicecloneClient(stack.api_url, api_key=stack.api_key)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()

    def cli_only(text: str) -> str:
        return "".join(line for line in text.splitlines(keepends=True) if not line.startswith('{"level":'))

    return code, cli_only(captured.out), cli_only(captured.err)


def rows_by_sentence(table: str) -> dict[str, str]:
    return {line.split()[0]: line for line in table.splitlines() if line[:5].isdigit()}


def all_job_ids(client: VoicecloneClient) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        page = client.list_jobs(limit=100, cursor=cursor)
        ids |= {j["job_id"] for j in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


def test_check_names_every_problem_with_what_to_do(
    cli: VoicecloneClient, spoiled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the folder is checked for Tencent VRS
    code, out, err = run(capsys, "check", "--vendor", "tencent_vrs", str(spoiled))
    # Then it exits 2, and the table names all five, each with its reason and what to do
    assert code == 2, err
    rows = rows_by_sentence(out)
    for text_id, problem in EXPECTED.items():
        assert f"{problem}:" in rows[text_id], rows[text_id]
    assert "record the sentence again" in rows["00001"]
    assert "MP3, M4A/AAC" in rows["00002"]
    assert "save it as 00003.wav" in rows["00003"]
    assert "check the microphone" in rows["00004"]
    assert "lower the microphone gain" in rows["00005"]
    # ...and the good ones with their figures: duration, level, SNR
    good = rows["00006"].split()
    assert good[1] == "00006.wav" and float(good[2]) > 5 and float(good[3]) < -10 and good[-1] == "ok"
    assert "5 problems to fix before cloning" in out
    # And as JSON, for scripts
    code, out, _ = run(capsys, "--json", "check", "--vendor", "tencent_vrs", str(spoiled))
    body = json.loads(out)
    assert code == 2 and body["ok"] is False
    found = {s["text_id"]: s["problems"][0]["code"] for s in body["sentences"] if s["problems"]}
    assert found == EXPECTED
    measured = next(s for s in body["sentences"] if s["text_id"] == "00006")["measurements"]
    assert {"duration_seconds", "speech_dbfs", "snr_db", "leading_silence_seconds"} <= set(measured)


def test_clone_refuses_to_start_and_creates_no_job(
    cli: VoicecloneClient, spoiled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = all_job_ids(cli)
    # When the same folder is cloned
    code, out, err = run(
        capsys,
        "clone",
        "--speaker",
        SPEAKER,
        "--stand-in-consent",
        "--vendor",
        "tencent_vrs",
        "--name",
        "spoiled",
        str(spoiled),
    )
    # Then it exits 2 with the table on stderr, naming all five, and no job exists
    assert code == 2, out
    rows = rows_by_sentence(err)
    for text_id, problem in EXPECTED.items():
        assert f"{problem}:" in rows[text_id], rows[text_id]
    assert "lacks recordings for: 00003" in err and "no job created" in err
    assert "voiceclone check --vendor tencent_vrs" in err
    assert "job " not in out
    assert all_job_ids(cli) == before


def test_upload_refusals_name_every_file_and_cause(
    cli: VoicecloneClient, spoiled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the spoiled folder with the missing sentence back, cloned with --force
    shutil.copy(SAMPLES / "00003.wav", spoiled / "00003.wav")
    big = spoiled / "00004.wav"
    big.write_bytes(wav_bytes(seconds=1.0) + b"\x00" * (5 * 1024 * 1024))  # over the upload limit
    args = [
        "clone",
        "--speaker",
        SPEAKER,
        "--stand-in-consent",
        "--vendor",
        "tencent_vrs",
        "--name",
        "forced",
        "--timeout",
        "5",
        "--force",
        str(spoiled),
    ]
    code, out, err = run(capsys, *args)
    # Then S3's refusals come back together, each with its file and its real cause
    assert code == 1, out
    assert "2 of 20 uploads were refused" in err
    assert "00001.wav: the file is empty (0 bytes; it must be 1-5242880 bytes) (EmptyFile)" in err
    assert "00004.wav: the file is 5" in err and "more than the 5242880 allowed (FileTooLarge)" in err
    assert "may have expired" not in err
