"""Acceptance: speech with cloned voices on the local stack (the synchronous vendors).

One voice per vendor is cloned for the module (Tencent VRS, Volcengine, Qiniu); each test speaks
with it through the REST API and checks the audio downloaded from the returned URL, what the
sandbox saw, and that refusals are clear 4xx that create nothing.
"""

from __future__ import annotations

import io
import uuid
import wave
from array import array
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER, http, upload_recordings, wait_for
from tests.unit.text_strategies import UNREADABLE_SAMPLES, unreadable_texts

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
LETTER = SAMPLES.parent / "authorization-letter.pdf"
SPEAKING = ("tencent_vrs", "volcengine")
SENTENCE = "你好，欢迎使用语音克隆服务。"


def clone(client: VoicecloneClient, vendor: str) -> dict[str, Any]:
    job = client.create_job(vendor, f"speech-{vendor}"[:20], "female", SPEAKER)
    for document in job["documents"]:
        client.upload(document["upload"], LETTER)
    upload_recordings(client, job, SAMPLES)

    def done() -> dict[str, Any] | None:
        current = client.get_job(job["job_id"])
        return current if current["status"] in ("SUCCEEDED", "FAILED", "CHECK_FAILED") else None

    final = wait_for(done, timeout=120, what=f"{vendor} clone")
    assert final["status"] == "SUCCEEDED", final
    return final


@pytest.fixture(scope="module")
def tenant(stack: LocalStack) -> tuple[VoicecloneClient, httpx.Client]:
    key = stack.issue_api_key(f"speech-{uuid.uuid4().hex[:8]}")
    return VoicecloneClient(stack.api_url, api_key=key), http(stack, key)


@pytest.fixture(scope="module")
def voices(tenant: tuple[VoicecloneClient, httpx.Client]) -> dict[str, str]:
    """One cloned voice per vendor (shared by the module's tests): vendor -> voice id."""
    client, _ = tenant
    return {vendor: clone(client, vendor)["voice_id"] for vendor in (*SPEAKING, "qiniu")}


def speak(api: httpx.Client, url: str, voice_id: str, **body: Any) -> httpx.Response:
    return api.post(f"{url}/v1/voices/{voice_id}/speech", json=body, timeout=60)


def wav_of(data: bytes) -> tuple[int, float, int]:
    """(sample rate, seconds, peak) of a WAV file: it must parse as one."""
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        frames = w.readframes(w.getnframes())
        samples = array("h", frames)
        return w.getframerate(), w.getnframes() / w.getframerate(), max(map(abs, samples), default=0)


@pytest.mark.parametrize("vendor", SPEAKING)
def test_a_cloned_voice_speaks_valid_non_silent_audio_whose_length_grows_with_the_text(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str], vendor: str
) -> None:
    client, api = tenant
    voice_id = voices[vendor]
    # When the voice speaks a short and a longer text
    short = speak(api, stack.api_url, voice_id, text=SENTENCE)
    long = speak(api, stack.api_url, voice_id, text=SENTENCE * 4)
    # Then each is a 201 whose URL gives a real WAV, non-silent, longer for the longer text
    assert short.status_code == long.status_code == 201, (short.text, long.text)
    views = [short.json(), long.json()]
    measured = [wav_of(client.download(v["audio_url"])) for v in views]
    for view, (rate, seconds, peak) in zip(views, measured, strict=True):
        assert view["vendor"] == vendor and view["format"] == "wav"
        assert rate == view["sample_rate"]
        assert seconds == pytest.approx(view["duration_seconds"], abs=0.05)
        assert peak > 1000  # not silence
        assert view["vendor_request_id"]
    assert measured[1][1] > measured[0][1] * 2
    assert views[1]["characters"] == len(SENTENCE) * 4
    # And GET /v1/speech/{id} and the voice's list show them, each with a fresh URL
    got = api.get(f"{stack.api_url}/v1/speech/{views[0]['speech_id']}").json()
    assert got["speech_id"] == views[0]["speech_id"] and got["audio_url"]
    listed = api.get(f"{stack.api_url}/v1/voices/{voice_id}/speech").json()["items"]
    assert [s["speech_id"] for s in listed[:2]] == [views[1]["speech_id"], views[0]["speech_id"]]


def test_mp3_and_the_audio_in_the_response(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    client, api = tenant
    # An mp3 through the URL: MPEG audio frames
    made = speak(api, stack.api_url, voices["volcengine"], text=SENTENCE, format="mp3")
    assert made.status_code == 201, made.text
    audio = client.download(made.json()["audio_url"])
    # (after the ID3 tag, whose size is syncsafe: 7 bits a byte)
    start = 10 + sum(b << (7 * (3 - i)) for i, b in enumerate(audio[6:10])) if audio[:3] == b"ID3" else 0
    assert audio[start] == 0xFF and audio[start + 1] & 0xE0 == 0xE0
    assert made.json()["duration_seconds"] > 0.5
    # Accept: audio/wav: the bytes themselves, and the speech is recorded all the same
    direct = api.post(
        f"{stack.api_url}/v1/voices/{voices['tencent_vrs']}/speech",
        json={"text": SENTENCE},
        headers={"Accept": "audio/wav"},
    )
    assert direct.status_code == 201 and direct.headers["content-type"].startswith("audio/wav")
    rate, seconds, peak = wav_of(direct.content)
    assert seconds > 0.5 and peak > 1000
    speech_id = direct.headers["Voiceclone-Speech-Id"]
    assert api.get(f"{stack.api_url}/v1/speech/{speech_id}").json()["sample_rate"] == rate


@pytest.mark.parametrize("vendor", SPEAKING)
def test_2000_characters_are_one_file_from_several_vendor_calls_in_order(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str], vendor: str
) -> None:
    client, api = tenant
    sandbox = stack.sandboxes[vendor]
    text = "".join(f"这是第{i:03d}句，用来测试长文本。" for i in range(200))[:2000]
    seen = len(sandbox.tts_requests)
    made = speak(api, stack.api_url, voices[vendor], text=text)
    assert made.status_code == 201, made.text
    view = made.json()
    # (a call the sandbox refused as over its concurrency was retried: each text counts once)
    texts = list(dict.fromkeys(_tts_text(vendor, c) for c in sandbox.tts_requests[seen:]))
    # Then the sandbox got several calls whose texts, in order, are the whole text
    assert view["vendor_calls"] == len(texts) > 1
    assert "".join(sorted(texts, key=text.index)) == text
    assert view["characters"] == 2000
    _, seconds, peak = wav_of(client.download(view["audio_url"]))
    assert seconds == pytest.approx(view["duration_seconds"], abs=0.05) and peak > 1000
    assert seconds > 20  # 2,000 characters are no short clip


def _tts_text(vendor: str, request: dict[str, Any]) -> str:
    """The text of one call as the sandbox recorded it (each vendor's own field)."""
    if vendor == "tencent_vrs":
        return str(request["Text"])
    return str(request["request"]["text"])


def test_refusals_are_clear_4xx_and_create_nothing(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    _, api = tenant
    url = stack.api_url
    voice_id = voices["tencent_vrs"]
    before = api.get(f"{url}/v1/voices/{voice_id}/speech", params={"limit": 100}).json()["items"]
    usage_before = api.get(f"{url}/v1/usage").json()
    # Empty text, text over the maximum, an unknown field: 422
    for body in ({"text": ""}, {"text": "  "}, {"text": "字" * 5001}, {"text": "hi", "voice": "x"}):
        refused = speak(api, url, voice_id, **body)
        assert refused.status_code == 422, refused.text
    # A format the schema lacks, and a sample rate the vendor lacks: 422 naming what it takes
    assert speak(api, url, voice_id, text="你好", format="ogg").status_code == 422
    rate = speak(api, url, voice_id, text="你好", sample_rate=44100)
    assert rate.status_code == 422 and "16000" in rate.json()["message"]
    # Another tenant's voice: 404, as a missing one
    other = http(stack, stack.issue_api_key(f"other-{uuid.uuid4().hex[:8]}"))
    theirs = speak(other, url, voice_id, text="你好")
    assert theirs.status_code == 404 and theirs.json()["error"] == "VoiceNotFound"
    # Qiniu's voice: 409 with how the voice is used at Qiniu
    qiniu = speak(api, url, voices["qiniu"], text="你好")
    assert qiniu.status_code == 409 and qiniu.json()["error"] == "SpeechNotOffered"
    assert "Qiniu" in qiniu.json()["message"] or "qiniu" in qiniu.json()["message"]
    # A usage period must be days: not a Unix time (422), nor a day off the calendar or backwards (400)
    assert api.get(f"{url}/v1/usage", params={"to": "0"}).status_code == 422
    assert api.get(f"{url}/v1/usage", params={"from": "2026-02-30"}).status_code == 400
    backwards = api.get(f"{url}/v1/usage", params={"from": "2026-03-02", "to": "2026-03-01"})
    assert backwards.status_code == 400 and backwards.json()["error"] == "InvalidPeriod"
    # And nothing was made or counted
    after = api.get(f"{url}/v1/voices/{voice_id}/speech", params={"limit": 100}).json()["items"]
    assert after == before or [s["speech_id"] for s in after] == [s["speech_id"] for s in before]
    assert api.get(f"{url}/v1/usage").json() == usage_before


def test_a_deleted_voice_cannot_speak(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client]
) -> None:
    client, api = tenant
    voice_id = clone(client, "tencent_vrs")["voice_id"]
    client.delete_voice(voice_id)
    refused = speak(api, stack.api_url, voice_id, text="你好")
    assert refused.status_code == 409 and refused.json()["error"] == "VoiceDeleted"
    assert api.get(f"{stack.api_url}/v1/voices/{voice_id}/speech").json()["items"] == []


def test_usage_counts_characters_per_vendor_and_the_clones(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    client, api = tenant
    before = {v["vendor"]: v for v in client.usage()["vendors"]}
    assert speak(api, stack.api_url, voices["volcengine"], text="你好。").status_code == 201
    after = {v["vendor"]: v for v in client.usage()["vendors"]}
    assert after["volcengine"]["characters"] == before["volcengine"]["characters"] + 3
    assert after["volcengine"]["speech_requests"] == before["volcengine"]["speech_requests"] + 1
    assert after["qiniu"]["clones"] >= 1 and after["qiniu"]["characters"] == 0


def assert_unreadable_refused(
    stack: LocalStack, api: httpx.Client, voices: dict[str, str], text: str
) -> None:
    """Each voice refuses ``text`` with a 422 before its vendor hears of it, and nothing is counted."""
    url = stack.api_url
    usage_before = api.get(f"{url}/v1/usage").json()
    seen = {vendor: stack.sandboxes[vendor].requests for vendor in voices}
    for vendor, voice_id in voices.items():
        for fmt in ("wav", "mp3"):
            refused = speak(api, url, voice_id, text=text, format=fmt)
            assert refused.status_code == 422, (vendor, text, refused.text)
            assert [d["type"] for d in refused.json()["detail"]] == ["unreadable_text"], refused.text
    assert {vendor: stack.sandboxes[vendor].requests for vendor in voices} == seen
    assert api.get(f"{url}/v1/usage").json() == usage_before


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=unreadable_texts())
@example(text=UNREADABLE_SAMPLES[0]).via("the texts seen answered 502 or billed")
def test_text_with_nothing_to_read_is_a_422_at_every_vendor_and_nothing_is_counted(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str], text: str
) -> None:
    _, api = tenant
    assert_unreadable_refused(stack, api, voices, text)


def test_the_samples_of_unreadable_text_are_422_at_every_vendor(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    _, api = tenant
    for text in UNREADABLE_SAMPLES:
        assert_unreadable_refused(stack, api, voices, text)


def test_a_speed_outside_the_vendors_range_or_a_boolean_is_a_422_before_the_vendor(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    _, api = tenant
    url, sandbox = stack.api_url, stack.sandboxes["tencent_vrs"]
    seen = sandbox.requests
    for speed in (0.5, 0.55, 0.59):
        slow = speak(api, url, voices["tencent_vrs"], text=SENTENCE, speed=speed)
        assert slow.status_code == 422 and slow.json()["error"] == "UnsupportedSpeed", slow.text
        assert slow.json()["details"]["speeds"] == [0.6, 2.5]
    boolean = speak(api, url, voices["tencent_vrs"], text=SENTENCE, speed=True)
    assert boolean.status_code == 422 and boolean.json()["detail"][0]["loc"] == ["body", "speed"]
    assert sandbox.requests == seen
    assert speak(api, url, voices["tencent_vrs"], text=SENTENCE, speed=0.6).status_code == 201


def test_a_refused_audio_type_gets_json_and_a_period_over_366_days_is_refused(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    _, api = tenant
    url = stack.api_url
    refused_wav = api.post(
        f"{url}/v1/voices/{voices['volcengine']}/speech",
        json={"text": SENTENCE},
        headers={"Accept": "audio/wav;q=0, application/json"},
    )
    assert refused_wav.status_code == 201, refused_wav.text
    assert refused_wav.headers["content-type"].startswith("application/json")
    assert refused_wav.json()["audio_url"]
    nothing = api.post(
        f"{url}/v1/voices/{voices['volcengine']}/speech",
        json={"text": SENTENCE},
        headers={"Accept": "text/html"},
    )
    assert nothing.status_code == 406 and nothing.json()["error"] == "NotAcceptable"
    long = api.get(f"{url}/v1/usage", params={"from": "2025-12-05", "to": "2026-12-06"})
    assert long.status_code == 400 and long.json()["error"] == "PeriodTooLong"
    assert api.get(f"{url}/v1/usage", params={"from": "2025-12-06", "to": "2026-12-06"}).status_code == 200
