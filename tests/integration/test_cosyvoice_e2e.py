"""CosyVoice end to end on the local stack: a clone from the sample recordings, then speech with the voice.

The speaker's recordings are the outside ones in samples/tencent_vrs (the sentences CosyVoice's
script asks for); the job goes through the REST API, the workflow and the sandbox, which downloads
the joined recording from S3's presigned URL and reviews it; the voice then speaks through the API.
"""

from __future__ import annotations

import io
import uuid
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest
from voiceclone.domain.audio import pcm_of
from voiceclone.vendors.speech import mp3_frame_spans
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER, http, upload_recordings, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
SENTENCE = "你好，欢迎使用语音克隆服务。"


@pytest.fixture(scope="module")
def tenant(stack: LocalStack) -> tuple[VoicecloneClient, httpx.Client]:
    key = stack.issue_api_key(f"cosyvoice-{uuid.uuid4().hex[:8]}")
    return VoicecloneClient(stack.api_url, api_key=key), http(stack, key)


def clone(client: VoicecloneClient, **options: str) -> dict[str, Any]:
    job = client.create_job("cosyvoice", "cosyvoice-e2e", "female", SPEAKER, options=options or None)
    upload_recordings(client, job, SAMPLES)

    def done() -> dict[str, Any] | None:
        current = client.get_job(job["job_id"])
        return current if current["status"] in ("SUCCEEDED", "FAILED", "CHECK_FAILED") else None

    return wait_for(done, timeout=120, what="the cosyvoice clone")


@pytest.fixture(scope="module")
def cloned(tenant: tuple[VoicecloneClient, httpx.Client]) -> dict[str, Any]:
    final = clone(tenant[0])
    assert final["status"] == "SUCCEEDED", final
    return final


def test_a_clone_from_outside_recordings_gives_a_voice_bound_to_the_default_model(
    stack: LocalStack, cloned: dict[str, Any]
) -> None:
    sandbox = stack.sandboxes["cosyvoice"]
    voice = cloned["voice"]
    assert cloned["vendor"] == "cosyvoice" and voice["target_model"] == "cosyvoice-v3-plus"
    kept = sandbox.voices[voice["vendor_voice_id"]]
    assert kept.status() == "OK" and kept.target_model == "cosyvoice-v3-plus"
    # The vendor downloaded the joined recording from S3's presigned URL (not the client's uploads).
    assert "/training/" in kept.url and "Signature" in kept.url
    training = [s["text_id"] for s in cloned["sentences"] if s["text_id"] != "consent"]
    assert training == ["00006", "00007", "00008", "00013"]


def test_the_voice_speaks_wav_and_mp3_through_the_api(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], cloned: dict[str, Any]
) -> None:
    client, api = tenant
    url = f"{stack.api_url}/v1/voices/{cloned['voice_id']}/speech"
    made = api.post(url, json={"text": SENTENCE}, timeout=60)
    assert made.status_code == 201, made.text
    view = made.json()
    assert view["vendor"] == "cosyvoice" and view["format"] == "wav"
    audio = client.download(view["audio_url"])
    with wave.open(io.BytesIO(audio)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, view["sample_rate"])
        seconds = w.getnframes() / w.getframerate()
    assert seconds == pytest.approx(view["duration_seconds"], abs=0.05) and seconds > 1.0
    assert max(abs(s) for s in memoryview(pcm_of(audio)[1]).cast("h")) > 1000  # not silence
    mp3 = api.post(url, json={"text": SENTENCE * 2, "format": "mp3", "sample_rate": 24000}, timeout=60)
    assert mp3.status_code == 201, mp3.text
    assert mp3_frame_spans(client.download(mp3.json()["audio_url"]))
    record = stack.sandboxes["cosyvoice"].streams[-1]
    assert (
        record.params["model"] == "cosyvoice-v3-plus"
        and record.params["voice"] == cloned["voice"]["vendor_voice_id"]
    )


def test_another_model_is_a_job_option_and_an_unknown_one_is_refused_at_once(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client]
) -> None:
    client, api = tenant
    refused = api.post(
        f"{stack.api_url}/v1/jobs",
        json={
            "vendor": "cosyvoice",
            "voice_name": "x",
            "speaker_name": "s",
            "gender": "female",
            "options": {"target_model": "v9"},
        },
    )
    assert refused.status_code in (400, 422), refused.text
    assert "target_model" in refused.text
    final = clone(client, target_model="CosyVoice-V2")
    assert final["status"] == "SUCCEEDED", final
    assert final["voice"]["target_model"] == "cosyvoice-v2"
    assert final["voice"]["vendor_voice_id"].startswith("cosyvoice-v2-")


def test_deleting_the_voice_deletes_it_at_cosyvoice(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client]
) -> None:
    client, api = tenant
    final = clone(client)
    assert final["status"] == "SUCCEEDED", final
    vendor_voice = final["voice"]["vendor_voice_id"]
    assert vendor_voice in stack.sandboxes["cosyvoice"].voices
    gone = api.delete(f"{stack.api_url}/v1/voices/{final['voice_id']}")
    assert gone.status_code in (200, 202, 204), gone.text
    wait_for(
        lambda: vendor_voice not in stack.sandboxes["cosyvoice"].voices, timeout=30, what="the vendor delete"
    )
