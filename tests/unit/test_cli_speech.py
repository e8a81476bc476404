"""`voiceclone speak`, `voices speech`, `usage` and the demo's last step, against a fake API and S3."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from voiceclone_cli import commands, output
from voiceclone_cli.client import VoicecloneClient
from voiceclone_cli.main import main

API = "http://api.test"
AUDIO_URL = "http://s3.test/bucket/speech/t/v-1/sp-1.wav?X-Amz-Signature=s"
AUDIO = b"RIFF....WAVEfmt fake audio"


def speech(**changes: Any) -> dict[str, Any]:
    return {
        "speech_id": "sp-1",
        "voice_id": "v-1",
        "vendor": "tencent_vrs",
        "status": "SUCCEEDED",
        "format": "wav",
        "sample_rate": 16000,
        "duration_seconds": 2.5,
        "characters": 12,
        "vendor_calls": 1,
        "vendor_request_id": "r-1",
        "audio_url": AUDIO_URL,
        "audio_url_expires_in": 900,
        "created_at": "2026-12-03T09:00:00Z",
        **changes,
    }


class Fake:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: dict[tuple[str, str], tuple[int, Any]] = {}

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "s3.test":
            assert "authorization" not in request.headers  # the presigned URL carries its own signature
            return httpx.Response(200, content=AUDIO)
        status, body = self.answers.get((request.method, request.url.path), (404, {"error": "NoRoute"}))
        return httpx.Response(status, json=body)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Fake:
    api = Fake()
    monkeypatch.setenv("VOICECLONE_API_URL", API)
    monkeypatch.setenv("VOICECLONE_API_KEY", "vc_k")
    client = partial(VoicecloneClient, transport=httpx.MockTransport(api.handler))
    monkeypatch.setattr(commands, "VoicecloneClient", client)
    monkeypatch.setattr(output, "_interactive", lambda: False)
    return api


def test_speak_sends_the_text_and_writes_the_audio_from_its_url(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.answers[("POST", "/v1/voices/v-1/speech")] = (201, speech(format="mp3"))
    target = tmp_path / "out" / "hello.mp3"
    code = main(["speak", "v-1", "你好，欢迎。", "-o", str(target), "--speed", "1.2"])
    out = capsys.readouterr().out
    assert code == 0
    sent = json.loads(fake.requests[0].content)
    assert sent == {"text": "你好，欢迎。", "format": "mp3", "speed": 1.2}  # the format from -o's extension
    assert target.read_bytes() == AUDIO
    assert str(target) in out and "2.5 s" in out


def test_speak_json_prints_the_api_body_and_names_the_file_by_the_speech(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fake.answers[("POST", "/v1/voices/v-1/speech")] = (201, speech())
    code = main(["speak", "v-1", "hello", "--format", "wav", "--sample-rate", "8000", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["speech_id"] == "sp-1"
    assert json.loads(fake.requests[0].content)["sample_rate"] == 8000
    assert (tmp_path / "sp-1.wav").read_bytes() == AUDIO


def test_speak_refusals_say_why(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    fake.answers[("POST", "/v1/voices/v-q/speech")] = (
        409,
        {"error": "SpeechNotOffered", "message": "Qiniu voices are used through its agent runtime"},
    )
    assert main(["speak", "v-q", "hi"]) == 1
    assert "agent runtime" in capsys.readouterr().err
    assert main(["speak", "v-1", "   "]) == 2  # nothing to say: no request
    assert len(fake.requests) == 1


def test_voices_speech_lists_what_a_voice_said(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    fake.answers[("GET", "/v1/voices/v-1/speech")] = (200, {"items": [speech()], "next_cursor": "c2"})
    assert main(["voices", "speech", "v-1", "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "sp-1" in out and "--cursor c2" in out
    assert fake.requests[0].url.params["limit"] == "5"


def test_usage_prints_each_vendor(fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    body = {
        "start": "2026-12-01",
        "end": "2026-12-03",
        "vendors": [{"vendor": "volcengine", "characters": 2000, "speech_requests": 3, "clones": 1}],
    }
    fake.answers[("GET", "/v1/usage")] = (200, body)
    assert main(["usage", "--from", "2026-12-01", "--to", "2026-12-03"]) == 0
    out = capsys.readouterr().out
    assert "volcengine" in out and "2000" in out
    assert dict(fake.requests[0].url.params) == {"from": "2026-12-01", "to": "2026-12-03"}


def test_the_demo_speaks_with_the_new_voice_and_prints_the_file(
    fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.answers[("GET", "/v1/voices")] = (200, {"items": [{"voice_id": "v-1"}], "next_cursor": None})
    fake.answers[("POST", "/v1/voices/v-1/speech")] = (201, speech())
    client = VoicecloneClient(transport=httpx.MockTransport(fake.handler))
    target = tmp_path / ".voiceclone" / "demo-speech-tencent_vrs.wav"
    code = commands.demo_speech(client, output.Output(), "tencent_vrs", "你好。", str(target))
    assert code == 0 and target.read_bytes() == AUDIO
    assert str(target.resolve()) in capsys.readouterr().out
    assert fake.requests[0].url.params["vendor"] == "tencent_vrs"
    # A vendor without speech: the demo says why, and the clone still counts as done
    refusal = {"error": "SpeechNotOffered", "message": "no TTS"}
    fake.answers[("POST", "/v1/voices/v-1/speech")] = (409, refusal)
    assert commands.demo_speech(client, output.Output(), "qiniu", "你好。", str(target)) == 0
    assert "cannot speak through voiceclone: no TTS" in capsys.readouterr().out
