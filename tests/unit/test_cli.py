"""The `voiceclone` CLI against a fake REST API (httpx.MockTransport): each subcommand's request,
its table and JSON output, the error and hint lines, the exit codes."""

from __future__ import annotations

import json
import sys
import time
import types
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from voiceclone_cli import commands, output
from voiceclone_cli.client import ApiError, VoicecloneClient
from voiceclone_cli.main import main

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
API = "http://api.test"
S3 = "http://s3.test/bucket"
KEY = "vc_test_key"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeApi:
    """Routes (method, path) to a response, or to a list of responses served in turn; records requests."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Any] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *responses: Any, status: int = 200) -> None:
        self.routes[(method, path)] = [(status, r) for r in responses]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path)
        if request.url.host == "s3.test":
            return httpx.Response(204)
        if key not in self.routes:
            return httpx.Response(404, json={"error": "NoRoute", "message": f"no route {key}"})
        queue = self.routes[key]
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(body, Exception):
            raise body
        return httpx.Response(status, json=body)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    fake = FakeApi()
    transport = httpx.MockTransport(fake.handler)
    monkeypatch.setenv("VOICECLONE_API_URL", API)
    monkeypatch.setenv("VOICECLONE_API_KEY", KEY)
    monkeypatch.setattr(commands, "VoicecloneClient", partial(VoicecloneClient, transport=transport))
    monkeypatch.setattr(commands, "POLL_INTERVAL", 0.0)
    monkeypatch.setattr(output, "_interactive", lambda: False)
    yield fake


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def upload_target(text_id: str) -> dict[str, Any]:
    return {
        "url": S3,
        "fields": {"key": f"uploads/t/j-1/{text_id}.wav", "policy": "p", "x-amz-signature": "s"},
        "expires_at": "2026-01-01T00:00:00Z",
        "max_bytes": 10_000_000,
        "content_type": "audio/wav",
    }


def sentence(text_id: str, status: str = "PASSED", message: str | None = None) -> dict[str, Any]:
    check = None
    if status in ("PASSED", "REJECTED"):
        check = {
            "passed": status == "PASSED",
            "code": None if status == "PASSED" else "Silent",
            "message": message,
            "tips": ["record in a quiet room"] if status == "REJECTED" else [],
            "source": "ours",
        }
    return {
        "text_id": text_id,
        "text": f"sentence {text_id}",
        "status": status,
        "check": check,
        "upload": None,
    }


def job_view(status: str = "CHECK_FAILED", **changes: Any) -> dict[str, Any]:
    sentences = changes.pop(
        "sentences",
        [
            sentence("00001"),
            sentence("00002", "REJECTED", "silent"),
            sentence("00003", "REJECTED", "clipped"),
        ],
    )
    job = {
        "job_id": "j-1",
        "vendor": "tencent_vrs",
        "voice_name": "my-voice",
        "language": "zh-CN",
        "gender": "female",
        "status": status,
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:01:00Z",
        "vendor_task_id": None,
        "voice_id": None,
        "voice": None,
        "error": None,
        "sentences": sentences,
        "documents": [],
        "checks_done": sum(1 for s in sentences if s["status"] in ("PASSED", "REJECTED")),
        "checks_total": len(sentences),
    }
    job.update(changes)
    return job


def succeeded(**changes: Any) -> dict[str, Any]:
    return job_view(
        "SUCCEEDED",
        sentences=[sentence(t) for t in ("00001", "00002", "00003")],
        voice_id="v-1",
        voice={"vendor_voice_id": "200000001", "VoiceType": 200000001},
        updated_at="2025-01-01T00:09:00Z",
        **changes,
    )


def voice_view(**changes: Any) -> dict[str, Any]:
    voice = {
        "voice_id": "v-1",
        "name": "my-voice",
        "vendor": "tencent_vrs",
        "job_id": "j-1",
        "language": "zh-CN",
        "gender": "female",
        "state": "READY",
        "created_at": "2025-01-01T00:09:00Z",
        "updated_at": "2025-01-01T00:09:00Z",
        "deleted_at": None,
        "vendor_voice_id": "200000001",
        "tts": {"VoiceType": 200000001},
        "note": None,
    }
    voice.update(changes)
    return voice


TEXTS = {
    "vendor": "tencent_vrs",
    "texts": [
        {"text_id": "00001", "text": "在很久很久以前"},
        {"text_id": "00002", "text": "鸟群中有一只小鸟"},
    ],
    "documents": [],
    "options": ["speaker_id"],
}


# texts


def test_texts_lists_the_sentences_with_the_key_sent(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", "/v1/vendors/tencent_vrs/training-texts", TEXTS)
    code, out, err = run(capsys, "texts", "tencent_vrs")
    assert code == 0, err
    assert out.splitlines()[:2] == ["00001  在很久很久以前", "00002  鸟群中有一只小鸟"]
    assert "options: speaker_id" in out
    assert api.requests[0].headers["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    "argv",
    [
        ["--json", "texts", "tencent_vrs"],
        ["texts", "tencent_vrs", "--json"],
        ["texts", "--vendor", "tencent_vrs", "--json"],
    ],
)
def test_texts_json_is_the_api_body_wherever_the_flag_stands(
    api: FakeApi, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    api.on("GET", "/v1/vendors/tencent_vrs/training-texts", TEXTS)
    code, out, _ = run(capsys, *argv)
    assert code == 0 and json.loads(out) == TEXTS


def test_texts_without_a_vendor_is_a_usage_error(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "texts")
    assert code == 2 and out == ""
    assert err.startswith("error: name the vendor") and "hint: e.g. voiceclone texts tencent_vrs" in err
    assert api.requests == []


def test_an_unknown_vendor_says_which_exist(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"error": "UnknownVendor", "message": "unknown vendor 'x'; known vendors: tencent_vrs, qiniu"}
    api.on("GET", "/v1/vendors/x/training-texts", body, status=404)
    code, _, err = run(capsys, "texts", "x")
    assert (
        code == 1 and err == "error: UnknownVendor: unknown vendor 'x'; known vendors: tencent_vrs, qiniu\n"
    )


# jobs list / get / cancel


def test_jobs_list_prints_a_table_and_the_next_page(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    page = {
        "items": [
            {
                "job_id": "j-2",
                "vendor": "qiniu",
                "voice_name": "second",
                "status": "TRAINING",
                "created_at": "2025-01-02T00:00:00Z",
                "voice_id": None,
            },
            {
                "job_id": "j-1",
                "vendor": "tencent_vrs",
                "voice_name": "first",
                "status": "SUCCEEDED",
                "created_at": "2025-01-01T00:00:00Z",
                "voice_id": "v-1",
            },
        ],
        "next_cursor": "abc",
    }
    api.on("GET", "/v1/jobs", page)
    code, out, _ = run(capsys, "jobs", "list", "--limit", "2", "--cursor", "xyz")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["JOB", "ID", "CREATED", "VENDOR", "STATUS", "VOICE", "NAME", "VOICE", "ID"]
    assert lines[1].split() == ["j-2", "2025-01-02T00:00:00Z", "qiniu", "TRAINING", "second"]
    assert lines[2].split() == ["j-1", "2025-01-01T00:00:00Z", "tencent_vrs", "SUCCEEDED", "first", "v-1"]
    assert lines[3] == "more: voiceclone jobs list --cursor abc"
    assert dict(api.requests[0].url.params) == {"limit": "2", "cursor": "xyz"}


def test_jobs_list_json_is_the_page(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    api.on("GET", "/v1/jobs", page)
    code, out, _ = run(capsys, "--json", "jobs", "list")
    assert code == 0 and json.loads(out) == page
    code, out, _ = run(capsys, "jobs", "list")
    assert code == 0 and out.startswith("no jobs yet")


def test_jobs_get_shows_the_sentences_and_what_to_redo(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", "/v1/jobs/j-1", job_view())
    code, out, _ = run(capsys, "jobs", "get", "j-1")
    assert code == 0
    fields = dict(line.split(":", 1) for line in out.split("\n\n")[0].splitlines())
    assert fields["status"].strip() == "CHECK_FAILED" and fields["checks"].strip() == "3/3"
    assert any(line.split()[:3] == ["00002", "REJECTED", "silent"] for line in out.splitlines())
    assert "These recordings must be made again:" in out and "- record in a quiet room" in out
    assert "voiceclone jobs reupload j-1 DIR --wait" in out


def test_jobs_get_json_and_a_missing_job(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("GET", "/v1/jobs/j-1", job_view())
    code, out, _ = run(capsys, "jobs", "get", "j-1", "--json")
    assert code == 0 and json.loads(out) == job_view()
    api.on("GET", "/v1/jobs/nope", {"error": "JobNotFound", "message": "no job nope"}, status=404)
    code, out, err = run(capsys, "jobs", "get", "nope")
    assert code == 1 and out == ""
    assert err == "error: JobNotFound: no job nope\nhint: list your jobs: voiceclone jobs list\n"


def test_jobs_cancel(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("POST", "/v1/jobs/j-1/cancel", job_view("CANCELLED"))
    code, out, _ = run(capsys, "jobs", "cancel", "j-1")
    assert code == 0 and out == "job j-1 cancelled\n"
    assert len(api.sent("POST", "/v1/jobs/j-1/cancel")) == 1
    code, out, _ = run(capsys, "jobs", "cancel", "j-1", "--json")
    assert json.loads(out)["status"] == "CANCELLED"


def test_cancelling_a_finished_job_says_so(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"error": "JobFinished", "message": "the job is SUCCEEDED", "details": {"status": "SUCCEEDED"}}
    api.on("POST", "/v1/jobs/j-1/cancel", body, status=409)
    code, _, err = run(capsys, "jobs", "cancel", "j-1")
    assert code == 1
    assert err.splitlines() == [
        "error: JobFinished: the job is SUCCEEDED",
        "hint: the job already finished; see how: voiceclone jobs get j-1",
    ]


# jobs reupload


def recordings(tmp_path: Path, *text_ids: str) -> Path:
    for text_id in text_ids:
        (tmp_path / f"{text_id}.wav").write_bytes(b"RIFF" + text_id.encode())
    return tmp_path


def real_recordings(tmp_path: Path, *text_ids: str) -> Path:
    """Recordings that pass the check clone runs before it creates a job: the samples of those ids."""
    for text_id in text_ids:
        (tmp_path / f"{text_id}.wav").write_bytes((SAMPLES / f"{text_id}.wav").read_bytes())
    return tmp_path


def test_reupload_sends_the_rejected_sentences_to_fresh_urls(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a job with two rejected sentences, and their new recordings
    api.on("GET", "/v1/jobs/j-1", job_view())
    for text_id in ("00002", "00003"):
        api.on("POST", f"/v1/jobs/j-1/sentences/{text_id}/upload-url", upload_target(text_id))
    directory = recordings(tmp_path, "00001", "00002", "00003")
    # When they are re-uploaded
    code, out, err = run(capsys, "jobs", "reupload", "j-1", str(directory))
    # Then each got a fresh URL, and its file went to S3 as multipart, fields first, without the API key
    assert code == 0, err
    assert "re-uploaded 2 recordings of job j-1: 00002, 00003" in out
    assert "voiceclone jobs get j-1" in out
    assert not api.sent("POST", "/v1/jobs/j-1/sentences/00001/upload-url")
    posts = [r for r in api.requests if r.url.host == "s3.test"]
    assert len(posts) == 2
    for post in posts:
        body = post.read()
        assert post.headers["content-type"].startswith("multipart/form-data")
        assert body.index(b'name="key"') < body.index(b'name="policy"') < body.index(b'name="file"')
        assert "authorization" not in post.headers
    bodies = b"".join(post.read() for post in posts)
    assert b"RIFF00002" in bodies and b"RIFF00003" in bodies and b"RIFF00001" not in bodies


def test_reupload_wait_follows_past_the_old_verdict_to_the_end(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a job that still shows the old CHECK_FAILED right after the upload, then checks and trains
    before = job_view()
    api.on(
        "GET",
        "/v1/jobs/j-1",
        before,
        before,
        job_view(
            "CHECK_FAILED",
            sentences=[sentence("00001"), sentence("00002", "UPLOADED"), sentence("00003", "UPLOADED")],
        ),
        job_view("CHECKING", sentences=[sentence("00001"), sentence("00002"), sentence("00003", "UPLOADED")]),
        job_view(
            "TRAINING", sentences=[sentence(t) for t in ("00001", "00002", "00003")], vendor_task_id="t-9"
        ),
        succeeded(),
    )
    for text_id in ("00002", "00003"):
        api.on("POST", f"/v1/jobs/j-1/sentences/{text_id}/upload-url", upload_target(text_id))
    # When the re-upload waits
    code, out, err = run(
        capsys, "jobs", "reupload", "j-1", str(recordings(tmp_path, "00002", "00003")), "--wait"
    )
    # Then it shows each stage and ends with the voice
    assert code == 0, err
    assert "uploaded 2/2 recordings" in out
    assert "CHECKING: checks 2/3" in out and "TRAINING at tencent_vrs (task t-9)" in out
    assert "voice ready: v-1" in out and "VoiceType: 200000001" in out


def test_reupload_wait_reports_a_second_rejection(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    before = job_view()
    again = job_view(updated_at="2025-01-01T00:05:00Z")
    api.on("GET", "/v1/jobs/j-1", before, before, job_view("CHECKING"), again)
    for text_id in ("00002", "00003"):
        api.on("POST", f"/v1/jobs/j-1/sentences/{text_id}/upload-url", upload_target(text_id))
    code, out, _ = run(
        capsys, "jobs", "reupload", "j-1", str(recordings(tmp_path, "00002", "00003")), "--wait"
    )
    assert code == 1
    assert "00002 «sentence 00002»: silent" in out and "00003 «sentence 00003»: clipped" in out


def test_reupload_refuses_a_folder_missing_a_rejected_sentence(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    api.on("GET", "/v1/jobs/j-1", job_view())
    code, _, err = run(capsys, "jobs", "reupload", "j-1", str(recordings(tmp_path, "00002")))
    assert code == 2
    assert f"error: {tmp_path} lacks recordings for: 00003" in err
    assert "hint: the sentences and why they were rejected: voiceclone jobs get j-1" in err
    assert not [r for r in api.requests if r.method == "POST"]


def test_reupload_of_a_finished_job_points_at_its_voice(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    api.on("GET", "/v1/jobs/j-1", succeeded())
    code, _, err = run(capsys, "jobs", "reupload", "j-1", str(tmp_path))
    assert code == 1
    assert err.splitlines() == [
        "error: job j-1 is SUCCEEDED: it takes no recordings now",
        "hint: its voice is ready: voiceclone voices get v-1",
    ]


def test_reupload_when_the_api_refuses_a_new_url(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    api.on("GET", "/v1/jobs/j-1", job_view(sentences=[sentence("00001", "REJECTED", "silent")]))
    body = {"error": "JobNotAwaitingAudio", "message": "the job is CHECKING: it takes no recordings now"}
    api.on("POST", "/v1/jobs/j-1/sentences/00001/upload-url", body, status=409)
    code, _, err = run(capsys, "jobs", "reupload", "j-1", str(recordings(tmp_path, "00001")))
    assert code == 1
    assert "error: JobNotAwaitingAudio: the job is CHECKING" in err
    assert "hint: only a job AWAITING_AUDIO or CHECK_FAILED takes recordings: voiceclone jobs get j-1" in err


# clone


def test_clone_uploads_every_sentence_and_follows_the_job(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    texts = {**TEXTS, "texts": [{"text_id": t, "text": t} for t in ("00001", "00002", "00003")]}
    api.on("GET", "/v1/vendors/tencent_vrs/training-texts", texts)
    statement = "I, Li Hua, agree that Example Ltd records my voice. The one-time code is one two."
    created = job_view(
        "AWAITING_AUDIO",
        sentences=[
            {**sentence("consent", "PENDING_UPLOAD"), "text": statement},
            *(sentence(t, "PENDING_UPLOAD") for t in ("00001", "00002", "00003")),
        ],
        consent={"kind": "recording", "language": "en", "statement": statement, "phrase": "one two"},
    )
    for s in created["sentences"]:
        s["upload"] = upload_target(s["text_id"])
    api.on("POST", "/v1/jobs", created, status=201)
    api.on("GET", "/v1/jobs/j-1", job_view("CHECKING"), succeeded())
    directory = real_recordings(tmp_path, "00001", "00002", "00003")
    code, out, err = run(
        capsys,
        "clone",
        "--vendor",
        "tencent_vrs",
        "--name",
        "my-voice",
        "--speaker",
        "Li Hua",
        "--stand-in-consent",
        "--option",
        "a=b",
        str(directory),
    )
    assert code == 0, err
    assert out.split("job ", 1)[1].split()[0] == "j-1"
    assert "uploaded 3/3 recordings" in out and "voice ready: v-1" in out
    # The statement is shown, and its take is said to be the stand-in's, not a person's consent
    assert statement in out and "not a person's consent" in err
    assert json.loads(api.sent("POST", "/v1/jobs")[0].read()) == {
        "vendor": "tencent_vrs",
        "voice_name": "my-voice",
        "gender": "female",
        "speaker_name": "Li Hua",
        "language": "zh-CN",
        "options": {"a": "b"},
    }
    uploads = [r for r in api.requests if r.url.host == "s3.test"]
    assert len(uploads) == 4
    # The consent take went to the consent sentence's form, as WAV audio
    consent_upload = next(r for r in uploads if b"uploads/t/j-1/consent.wav" in r.read())
    assert b"RIFF" in consent_upload.read() and b"WAVE" in consent_upload.read()


def test_clone_without_a_stand_in_leaves_the_job_waiting_for_its_consent(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a job whose consent statement nobody reads during the command (no terminal, no stand-in)
    api.on(
        "GET",
        "/v1/vendors/tencent_vrs/training-texts",
        {**TEXTS, "texts": [{"text_id": "00001", "text": "x"}]},
    )
    created = job_view(
        "AWAITING_AUDIO",
        sentences=[
            {**sentence("consent", "PENDING_UPLOAD"), "upload": upload_target("consent")},
            {**sentence("00001", "PENDING_UPLOAD"), "upload": upload_target("00001")},
        ],
    )
    api.on("POST", "/v1/jobs", created, status=201)
    args = ["clone", "--vendor", "tencent_vrs", "--name", "n", "--speaker", "Li Hua"]
    code, out, _ = run(capsys, *args, str(real_recordings(tmp_path, "00001")))
    # Then the sentences are uploaded, the consent is not, and the command says how to give it
    assert code == 0
    assert "voiceclone jobs consent j-1 FILE --wait" in out
    assert len([r for r in api.requests if r.url.host == "s3.test"]) == 1
    assert not api.sent("GET", "/v1/jobs/j-1")


def test_clone_that_times_out_says_how_to_follow(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    api.on(
        "GET",
        "/v1/vendors/tencent_vrs/training-texts",
        {**TEXTS, "texts": [{"text_id": "00001", "text": "x"}]},
    )
    created = job_view(
        "AWAITING_AUDIO",
        sentences=[{**sentence("00001", "PENDING_UPLOAD"), "upload": upload_target("00001")}],
    )
    api.on("POST", "/v1/jobs", created, status=201)
    api.on("GET", "/v1/jobs/j-1", job_view("CHECKING"))
    args = [
        "clone",
        "--vendor",
        "tencent_vrs",
        "--name",
        "n",
        "--speaker",
        "s",
        "--timeout",
        "0",
        str(real_recordings(tmp_path, "00001")),
    ]
    code, _, err = run(capsys, *args)
    assert code == 1
    assert (
        "error: job j-1 still CHECKING after 0 s" in err
        and "hint: follow it with: voiceclone jobs get j-1" in err
    )


def test_clone_with_missing_recordings_is_a_usage_error(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    api.on("GET", "/v1/vendors/tencent_vrs/training-texts", TEXTS)
    code, _, err = run(
        capsys,
        "clone",
        "--vendor",
        "tencent_vrs",
        "--name",
        "n",
        "--speaker",
        "s",
        str(real_recordings(tmp_path, "00001")),
    )
    assert code == 2
    assert (
        "lacks recordings for: 00002" in err
        and "hint: list the sentences with: voiceclone texts tencent_vrs" in err
    )
    assert not api.sent("POST", "/v1/jobs")


def test_a_bad_option_is_a_usage_error(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    api.on("GET", "/v1/vendors/tencent_vrs/training-texts", TEXTS)
    code, _, err = run(
        capsys,
        "clone",
        "--vendor",
        "tencent_vrs",
        "--name",
        "n",
        "--speaker",
        "s",
        "--option",
        "novalue",
        str(tmp_path),
    )
    assert code == 2 and err == "error: expected KEY=VALUE, got 'novalue'\n"


# voices


def test_voices_list_filters_and_prints_a_table(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("GET", "/v1/voices", {"items": [voice_view()], "next_cursor": None})
    code, out, _ = run(capsys, "voices", "list", "--vendor", "tencent_vrs", "--state", "ready")
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[:3] == ["VOICE", "ID", "NAME"]
    assert row.split() == [
        "v-1",
        "my-voice",
        "tencent_vrs",
        "READY",
        "zh-CN",
        "female",
        "2025-01-01T00:09:00Z",
        "j-1",
    ]
    assert dict(api.requests[0].url.params) == {"limit": "20", "vendor": "tencent_vrs", "state": "READY"}


def test_voices_list_json_and_empty(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("GET", "/v1/voices", {"items": [], "next_cursor": None})
    code, out, _ = run(capsys, "voices", "list", "--json")
    assert code == 0 and json.loads(out) == {"items": [], "next_cursor": None}
    code, out, _ = run(capsys, "voices", "list", "--state", "DELETED")
    assert code == 0 and out.startswith("no voices in state DELETED")


def test_voices_get_shows_what_tts_needs(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("GET", "/v1/voices/v-1", voice_view(note="trained from job j-1"))
    code, out, _ = run(capsys, "voices", "get", "v-1")
    assert code == 0
    assert "name:            my-voice" in out and "tts:\n  VoiceType: 200000001" in out
    assert "note: trained from job j-1" in out and "deleted" not in out
    code, out, _ = run(capsys, "voices", "get", "v-1", "--json")
    assert json.loads(out)["tts"] == {"VoiceType": 200000001}


def test_voices_get_missing_points_at_the_list(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("GET", "/v1/voices/v-9", {"error": "VoiceNotFound", "message": "no voice v-9"}, status=404)
    code, _, err = run(capsys, "voices", "get", "v-9")
    assert code == 1 and err.splitlines()[1] == "hint: list your voices: voiceclone voices list"


def test_voices_rename_sends_the_name_and_shows_the_note(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    note = "renamed here only: tencent_vrs cannot rename a voice"
    api.on("PATCH", "/v1/voices/v-1", voice_view(name="new name", note=note))
    code, out, _ = run(capsys, "voices", "rename", "v-1", "new name")
    assert code == 0 and out.splitlines() == ["voice v-1 renamed to new name", f"note: {note}"]
    assert json.loads(api.requests[0].read()) == {"name": "new name"}


def test_voices_delete(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    deleted = voice_view(
        state="DELETED", deleted_at="2025-02-01T00:00:00Z", note="deleted at tencent_vrs too"
    )
    api.on("DELETE", "/v1/voices/v-1", deleted)
    code, out, _ = run(capsys, "voices", "delete", "v-1", "--yes")
    assert code == 0 and out.splitlines() == ["voice v-1 deleted", "note: deleted at tencent_vrs too"]
    code, out, _ = run(capsys, "--json", "voices", "delete", "v-1")
    assert json.loads(out)["state"] == "DELETED"
    assert len(api.sent("DELETE", "/v1/voices/v-1")) == 2


def test_voices_delete_asks_on_a_terminal(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code, _, err = run(capsys, "voices", "delete", "v-1")
    assert code == 1 and "hint: pass --yes" in err and api.requests == []


def test_a_long_name_gets_the_validation_detail(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    body = {
        "statusCode": 422,
        "detail": [
            {
                "type": "string_too_long",
                "loc": ["body", "name"],
                "msg": "String should have at most 64 characters",
            }
        ],
    }
    api.on("PATCH", "/v1/voices/v-1", body, status=422)
    code, _, err = run(capsys, "voices", "rename", "v-1", "x" * 65)
    assert code == 1
    assert err.splitlines() == [
        "error: InvalidRequest: name: String should have at most 64 characters",
        "hint: see: voiceclone voices rename --help",
    ]


# webhooks


def test_webhooks_secret_and_rotate(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on("GET", "/v1/webhooks/secret", {"secret": "whsec_old", "created_at": "2025-01-01T00:00:00Z"})
    api.on(
        "POST", "/v1/webhooks/secret/rotate", {"secret": "whsec_new", "created_at": "2025-03-01T00:00:00Z"}
    )
    code, out, _ = run(capsys, "webhooks", "secret")
    assert code == 0 and "secret:  whsec_old" in out
    code, out, _ = run(capsys, "webhooks", "secret", "--rotate")
    assert code == 0 and out.startswith("rotated") and "whsec_new" in out
    code, out, _ = run(capsys, "webhooks", "secret", "--json")
    assert json.loads(out) == {"secret": "whsec_old", "created_at": "2025-01-01T00:00:00Z"}
    assert [r.method for r in api.requests] == ["GET", "POST", "GET"]


# errors that say what to do


def test_a_missing_or_refused_key_says_how_to_get_one(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    api.on("GET", "/v1/jobs", {"message": "Unauthorized"}, status=401)
    code, _, err = run(capsys, "jobs", "list")
    assert code == 1
    assert err.splitlines() == [
        "error: Unauthorized: the API key was refused",
        "hint: set VOICECLONE_API_KEY (the local stack prints one at start: voiceclone local up; "
        "in AWS: voiceclone admin issue-key --tenant <id>)",
    ]
    monkeypatch.delenv("VOICECLONE_API_KEY")
    code, _, err = run(capsys, "jobs", "list")
    assert code == 1 and err.startswith(
        "error: Unauthorized: no API key was sent\nhint: set VOICECLONE_API_KEY"
    )
    assert "authorization" not in api.requests[-1].headers


def test_an_unreachable_api_points_at_the_local_stack(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", "/v1/jobs", httpx.ConnectError("connection refused"))
    code, _, err = run(capsys, "jobs", "list")
    assert code == 1
    assert err.splitlines() == [
        f"error: Unreachable: cannot reach {API}: connection refused",
        "hint: is the local stack running? voiceclone local up (or check VOICECLONE_API_URL)",
    ]


def test_no_api_url_is_a_usage_error(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOICECLONE_API_URL")
    code, _, err = run(capsys, "voices", "list")
    assert code == 2 and err.startswith("error: NoApiUrl: VOICECLONE_API_URL is not set\nhint: ")


def test_a_busy_vendor_says_to_retry(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.on(
        "DELETE", "/v1/voices/v-1", {"error": "Throttled", "message": "slow down", "details": {}}, status=503
    )
    code, _, err = run(capsys, "voices", "delete", "v-1", "-y")
    assert code == 1 and "hint: the vendor is busy or unavailable: try again in a minute" in err
    # The API names the vendor in the details: the hint does too
    body = {"error": "3003", "message": "too many requests", "details": {"vendor": "volcengine"}}
    api.on("DELETE", "/v1/voices/v-1", body, status=503)
    code, _, err = run(capsys, "voices", "delete", "v-1", "-y")
    assert code == 1 and "hint: the vendor (volcengine) is busy or unavailable" in err


def test_a_non_json_error_body(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    client = VoicecloneClient(API, transport=httpx.MockTransport(handler))
    with pytest.raises(ApiError) as caught:
        client.list_jobs()
    assert caught.value.status == 502 and caught.value.message == "<html>Bad Gateway</html>"


def test_usage_errors_exit_2_and_help_0(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs"]) == 2
    assert main(["voices", "list", "--state", "GONE"]) == 2
    assert main(["--help"]) == 0
    assert "jobs reupload JOB_ID" in capsys.readouterr().out


# rich, on a terminal


def test_on_a_terminal_tables_and_progress_are_drawn_by_rich(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(output, "_interactive", lambda: True)
    monkeypatch.setenv("COLUMNS", "160")
    api.on("GET", "/v1/voices", {"items": [voice_view()], "next_cursor": None})
    code, out, _ = run(capsys, "voices", "list")
    assert code == 0 and "┃ VOICE ID" in out and "│ v-1" in out
    api.on("GET", "/v1/jobs/j-1", job_view(), job_view(), job_view("CHECKING"), succeeded())
    for text_id in ("00002", "00003"):
        api.on("POST", f"/v1/jobs/j-1/sentences/{text_id}/upload-url", upload_target(text_id))
    code, out, err = run(
        capsys, "jobs", "reupload", "j-1", str(recordings(tmp_path, "00002", "00003")), "--wait"
    )
    assert code == 0, err
    assert "uploading recordings" in out and "2/2" in out and "3/3" in out and "voice ready: v-1" in out


# admin and local


def test_admin_issue_key_prints_the_key_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    issued: list[tuple[Any, str]] = []

    def issue_api_key(repo: Any, tenant_id: str) -> str:
        issued.append((repo, tenant_id))
        return "vc_plaintext"

    fake = types.ModuleType("voiceclone.logic.account.api_keys")
    fake.issue_api_key = issue_api_key  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "voiceclone.logic.account.api_keys", fake)
    monkeypatch.setenv("VOICECLONE_TABLE_NAME", "env-table")
    code, out, _ = run(capsys, "admin", "issue-key", "--tenant", "acme")
    assert code == 0 and "export VOICECLONE_API_KEY=vc_plaintext" in out
    assert issued[0][0].table.name == "env-table" and issued[0][1] == "acme"
    code, out, _ = run(capsys, "admin", "issue-key", "--tenant", "acme", "--table", "t2", "--json")
    assert json.loads(out) == {"tenant_id": "acme", "api_key": "vc_plaintext"}
    assert issued[1][0].table.name == "t2"


def test_admin_issue_key_without_a_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOICECLONE_TABLE_NAME", raising=False)
    code, _, err = run(capsys, "admin", "issue-key", "--tenant", "acme")
    assert code == 2 and err.startswith("error: no table: pass --table NAME or set VOICECLONE_TABLE_NAME")


class FakeStack:
    def __init__(self, **kwargs: Any) -> None:
        self.api_url = "http://127.0.0.1:4010"
        self.api_key = "vc_local_key"
        self.sandbox = None
        self.sandboxes: dict[str, Any] = {}
        self.stopped = False

    def start(self) -> FakeStack:
        return self

    def stop(self) -> None:
        self.stopped = True

    def __enter__(self) -> FakeStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def test_local_up_prints_the_url_and_the_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import voiceclone_local.stack

    stacks: list[FakeStack] = []

    def make(**kwargs: Any) -> FakeStack:
        stacks.append(FakeStack(**kwargs))
        return stacks[-1]

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(voiceclone_local.stack, "LocalStack", make)
    monkeypatch.setattr(time, "sleep", interrupted)
    code, out, _ = run(capsys, "local", "up")
    assert code == 0 and stacks[0].stopped
    assert (
        "  export VOICECLONE_API_URL=http://127.0.0.1:4010\n  export VOICECLONE_API_KEY=vc_local_key\n" in out
    )


def test_local_demo_uses_the_stacks_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import voiceclone_local.stack

    clients: list[VoicecloneClient] = []

    def fake_clone(client: VoicecloneClient, *args: Any, **kwargs: Any) -> int:
        clients.append(client)
        return 0

    monkeypatch.setattr(voiceclone_local.stack, "LocalStack", FakeStack)
    monkeypatch.setattr(commands, "clone", fake_clone)
    monkeypatch.setattr(commands, "demo_speech", lambda *args: 0)  # tests/unit/test_cli_speech.py
    code, _, _ = run(capsys, "local", "demo")
    assert code == 0
    assert clients[0].base_url == "http://127.0.0.1:4010" and clients[0].has_key
    request = clients[0]._http.build_request("GET", "http://127.0.0.1:4010/v1/jobs")
    flow = clients[0]._http.auth.auth_flow(request)  # type: ignore[union-attr]
    assert next(flow).headers["Authorization"] == "Bearer vc_local_key"


# text from other people reaches the terminal escaped

HOSTILE = "\x1b[2J\x1b]0;pwned\x07evil\u202egnp.exe\x9b31m"
HOSTILE_SHOWN = "\\x1b[2J\\x1b]0;pwned\\x07evil\\u202egnp.exe\\x9b31m"


def assert_inert(text: str) -> None:
    """Nothing in `text` drives a terminal: no C0/C1 control but line breaks, no bidi override."""
    assert not any(c in text for c in ("\x1b", "\x07", "\x9b", "\u202e")), repr(text)


def test_an_ansi_escape_in_a_name_is_printed_escaped_in_tables_and_fields(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    page = {
        "items": [
            {
                "job_id": "j-1",
                "vendor": "tencent_vrs",
                "voice_name": HOSTILE,
                "status": "SUCCEEDED",
                "created_at": "2025-01-01T00:00:00Z",
                "voice_id": "v-1",
            }
        ],
        "next_cursor": None,
    }
    api.on("GET", "/v1/jobs", page)
    code, out, _ = run(capsys, "jobs", "list")
    assert code == 0 and HOSTILE_SHOWN in out
    assert_inert(out)
    api.on("GET", "/v1/voices/v-1", voice_view(name=HOSTILE))
    code, out, _ = run(capsys, "voices", "get", "v-1")
    assert code == 0 and HOSTILE_SHOWN in out
    assert_inert(out)


def test_an_ansi_escape_in_an_error_message_is_printed_escaped(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", "/v1/voices/v-1", {"error": "Nope\x1b[31m", "message": f"no voice {HOSTILE}"}, status=404)
    code, _, err = run(capsys, "voices", "get", "v-1")
    assert code == 1 and "error: Nope\\x1b[31m: no voice " + HOSTILE_SHOWN in err
    assert_inert(err)


def test_json_output_keeps_the_value_and_escapes_what_json_dumps_leaves_raw(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.on("GET", "/v1/voices/v-1", voice_view(name=HOSTILE + "\u2028"))
    code, out, _ = run(capsys, "--json", "voices", "get", "v-1")
    assert code == 0
    assert_inert(out)
    assert "\\u202e" in out and "\\u009b" in out and "\\u2028" in out
    assert json.loads(out)["name"] == HOSTILE + "\u2028"
    # A lone surrogate (valid as a JSON escape) is written back as one, not printed (which would fail)
    assert output._json_text({"name": "a\ud800"}) == '{\n  "name": "a\\ud800"\n}'


def test_on_a_terminal_rich_shows_the_name_escaped_and_never_as_markup(
    api: FakeApi, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "_interactive", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    api.on(
        "GET", "/v1/voices", {"items": [voice_view(name=HOSTILE + "[blink]x[/blink]")], "next_cursor": None}
    )
    code, out, _ = run(capsys, "voices", "list")
    assert code == 0 and "[blink]x[/blink]" in out and "\\x1b[2J" in out
    assert_inert(out)


@pytest.mark.parametrize(
    "text", ["新名字", "Zoë's voice", "👩\u200d👩\u200d👧 family", "עברית", "tab-free plain text"]
)
def test_ordinary_text_in_any_script_is_printed_as_it_is(text: str) -> None:
    assert output.escape(text) == text


def test_local_up_prints_every_vendors_sandbox_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import voiceclone_local.stack

    # Given a local stack that started a sandbox per vendor
    urls = {
        "tencent_vrs": "http://127.0.0.1:4001",
        "qiniu": "http://127.0.0.1:4002",
        "huawei": "http://127.0.0.1:4003",
    }
    stacks: list[FakeStack] = []

    def make(**kwargs: Any) -> FakeStack:
        stacks.append(FakeStack(**kwargs))
        stacks[-1].sandboxes = {vendor: types.SimpleNamespace(url=url) for vendor, url in urls.items()}
        stacks[-1].sandboxes["tencent_vrs"].stream_url = "ws://127.0.0.1:4004/stream_ws"
        return stacks[-1]

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(voiceclone_local.stack, "LocalStack", make)
    monkeypatch.setattr(time, "sleep", interrupted)

    # When `voiceclone local up` runs until Ctrl-C
    code, out, _ = run(capsys, "local", "up")

    # Then it printed each vendor's sandbox URL, not only Tencent VRS's, and stopped the stack
    assert code == 0 and stacks[0].stopped
    for vendor, url in urls.items():
        assert f"  {vendor} sandbox at {url}\n" in out
    # And where a sandbox streams speech, its WebSocket URL
    assert "  tencent_vrs streaming speech at ws://127.0.0.1:4004/stream_ws\n" in out
    assert "qiniu streaming" not in out


def _s3_error(code: str, message: str, **extra: str) -> str:
    elements = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    body = f"<Code>{code}</Code><Message>{message}</Message>{elements}"
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{body}</Error>'


@pytest.mark.parametrize(
    ("xml", "size", "code", "words"),
    [
        (
            _s3_error(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                ProposedSize="0",
            ),
            0,
            "EmptyFile",
            "the file is empty (0 bytes; it must be 1-5242880 bytes)",
        ),
        (
            _s3_error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"),
            6000000,
            "FileTooLarge",
            "the file is 6000000 bytes, more than the 5242880 allowed",
        ),
        (
            _s3_error("AccessDenied", "Invalid according to Policy: Policy expired."),
            10,
            "UploadUrlExpired",
            "the upload URL expired",
        ),
        (
            _s3_error(
                "AccessDenied",
                "Invalid according to Policy: Policy Condition failed: "
                '["starts-with", "$Content-Type", "audio/"]',
            ),
            10,
            "WrongContentType",
            'does not take content type text/plain (["starts-with", "$Content-Type", "audio/"])',
        ),
        (
            _s3_error(
                "AccessDenied", 'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "k"]'
            ),
            10,
            "UploadRejected",
            'the form\'s condition ["eq", "$key", "k"] failed',
        ),
        ("<html>gateway timeout</html>", 10, "UploadRejected", "S3 refused it"),
    ],
)
def test_s3_upload_refusals_are_explained(xml: str, size: int, code: str, words: str) -> None:
    from voiceclone_cli.client import explain_upload_refusal

    got_code, message, hint = explain_upload_refusal(xml, size, {"max_bytes": 5242880}, "text/plain")
    assert got_code == code and words in message
    assert hint
    assert "may have expired" not in (hint or "")


def test_each_recording_is_sent_with_its_own_content_type(
    api: FakeApi, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a job of two sentences recorded on a phone (M4A) and in a browser (WebM)
    api.on("GET", "/v1/jobs/j-1", job_view())
    for text_id in ("00002", "00003"):
        api.on("POST", f"/v1/jobs/j-1/sentences/{text_id}/upload-url", upload_target(text_id))
    (tmp_path / "00002.m4a").write_bytes(b"m4a bytes")
    (tmp_path / "00003.webm").write_bytes(b"webm bytes")
    # When they are uploaded again
    code, _, err = run(capsys, "jobs", "reupload", "j-1", str(tmp_path))
    # Then each goes with its own name and content type, in the form field and the file part alike
    assert code == 0, err
    bodies = b"".join(r.read() for r in api.requests if r.url.host == "s3.test")
    assert b'filename="00002.m4a"' in bodies and b"Content-Type: audio/mp4" in bodies
    assert b'filename="00003.webm"' in bodies and b"audio/webm" in bodies


def test_jobs_get_shows_each_sentences_measured_figures(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a job whose first sentence was measured by the check
    measured = sentence("00001")
    measured["check"]["measurements"] = {"duration_seconds": 7.46, "speech_dbfs": -21.4, "snr_db": 42.0}
    api.on("GET", "/v1/jobs/j-1", job_view(sentences=[measured, sentence("00002", "REJECTED", "silent")]))
    # When it is shown
    code, out, err = run(capsys, "jobs", "get", "j-1")
    # Then the sentence table has its duration, speech level and SNR; the unmeasured one blanks
    assert code == 0, err
    assert "SECONDS" in out and "LEVEL dBFS" in out and "SNR dB" in out
    row = next(line for line in out.splitlines() if line.startswith("00001"))
    assert row.split()[2:5] == ["7.5", "-21", "42"]
    row = next(line for line in out.splitlines() if line.startswith("00002"))
    assert "-21" not in row and "silent" in row
