"""The labels' routes in-process: POST /v1/provenance (the audio body, whose speech it is) and the policy.

The api handler runs on proxy events with a fake store; speech is labelled here with moto's KMS
key and a development certificate, so what is checked is the route's part: the body it takes,
what one tenant sees of another's file, and the answers when labelling cannot be done.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from voiceclone.domain.audio import wav_file
from voiceclone.domain.audio_decode import encode
from voiceclone.logic.core import services as core_services
from voiceclone.provenance import KmsSigner, LabelError, LabelPolicy, SpeechContext, label_speech
from voiceclone.provenance.devca import development_credentials
from voiceclone.rest import errors, hardening
from voiceclone.settings import Settings
from voiceclone_cli.commands import audio_content_type

from tests.helpers import moto_client, sample_speech
from tests.unit.test_api_input import FakeContext, Untouchable, assert_refused, event

POLICY = LabelPolicy(content_producer="voiceclone-test")


class Signed:
    """A WAV and an MP3 speech of tenant acme, labelled and signed; the root that certifies the signer."""

    def __init__(self, kms: Any) -> None:
        key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        made = development_credentials(kms, key_id)
        self.anchor = made.trust_anchor_pem
        signer = KmsSigner(kms, key_id, made.certificate_chain_pem)
        pcm = sample_speech(16000)[: 16000 * 2]
        self.context = SpeechContext(
            speech_id="sp-" + "1" * 32, voice_id="v-9", vendor="volcengine", tenant_id="acme"
        )
        self.audio = {
            fmt: label_speech(audio, fmt, 16000, self.context, signer, POLICY).audio
            for fmt, audio in (("wav", wav_file(16000, pcm)), ("mp3", encode(pcm, 16000, "mp3")))
        }


@pytest.fixture(scope="module")
def signed() -> Iterator[Signed]:
    with moto_client("kms", "eu-central-1") as client:
        yield Signed(client)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, signed: Signed) -> Any:
    from voiceclone import rest as module

    settings = Settings.model_validate(
        {
            "VOICECLONE_TABLE_NAME": "t",
            "VOICECLONE_BUCKET_NAME": "b",
            "VOICECLONE_C2PA_TRUST_ANCHORS": signed.anchor,
        }
    )
    monkeypatch.setattr(core_services, "_services", SimpleNamespace(settings=settings, store=Untouchable()))
    return module


def answer(api: Any, evt: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    result = api.handle(evt, FakeContext())
    return int(result["statusCode"]), json.loads(result["body"]), result.get("headers") or {}


def audio_event(audio: bytes, content_type: str | None = "audio/wav", tenant: str = "acme") -> dict[str, Any]:
    evt = event(
        "POST",
        "/v1/provenance",
        base64.b64encode(audio).decode(),
        content_type=content_type,
        base64_encoded=True,
    )
    evt["requestContext"]["authorizer"] = {"tenant_id": tenant}
    return evt


# ----- POST /v1/provenance ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_the_tenant_a_manifest_names_sees_its_speech_another_only_that_it_is_not_its_own(
    api: Any, signed: Signed, fmt: str
) -> None:
    media_type = {"wav": "audio/wav", "mp3": "audio/mpeg"}[fmt]
    status, own, _ = answer(api, audio_event(signed.audio[fmt], media_type))
    assert status == 200 and own["ok"] is True and own["format"] == fmt
    assert own["yours"] is True and own["speech"] == signed.context.model_dump()
    status, other, _ = answer(api, audio_event(signed.audio[fmt], media_type, tenant="globex"))
    assert status == 200 and other["ok"] is True
    assert (other["yours"], other["speech"]) == (False, None)
    assert [f["code"] for f in other["findings"]] == ["speech.not_yours"]
    assert "v-9" not in json.dumps(other) and '"acme"' not in json.dumps(other)
    # The AIGC label is the file's own plain text, shown to whoever holds the file
    assert other["aigc"]["fields"]["ProduceID"] == signed.context.speech_id


def test_a_file_that_is_no_audio_says_so_and_names_no_one(api: Any) -> None:
    status, body, _ = answer(api, audio_event(b"%PDF-1.7 not audio", "application/octet-stream"))
    assert status == 200 and body["ok"] is False and body["format"] is None
    assert (body["yours"], body["speech"]) == (None, None)
    assert [f["code"] for f in body["findings"]] == ["format.unknown"]


def test_an_audio_body_larger_than_a_json_body_reaches_the_check(api: Any, signed: Signed) -> None:
    assert len(signed.audio["wav"]) > hardening.MAX_BODY_BYTES
    status, body, _ = answer(api, audio_event(signed.audio["wav"], "audio/x-wav"))
    assert status == 200 and body["ok"] is True


def test_an_audio_body_over_its_limit_is_a_413(api: Any) -> None:
    status, body, _ = answer(api, audio_event(b"\0" * (hardening.MAX_AUDIO_BYTES + 1)))
    assert_refused(status, body, 413)
    assert "4 MiB" in body["message"]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_the_audio_route_takes_only_audio_media_types(
    api: Any, signed: Signed, content_type: str | None
) -> None:
    status, body, _ = answer(api, audio_event(signed.audio["wav"], content_type))
    assert_refused(status, body, 415)
    assert "audio/wav" in body["message"] and "audio/mpeg" in body["message"]


def test_a_json_route_still_refuses_audio(api: Any, signed: Signed) -> None:
    evt = audio_event(signed.audio["wav"])
    evt["resource"] = evt["path"] = evt["requestContext"]["resourcePath"] = "/v1/labels/policy"
    evt["httpMethod"] = "PUT"
    status, body, _ = answer(api, evt)
    assert_refused(status, body, 413)


def test_no_audio_is_a_400(api: Any) -> None:
    status, body, _ = answer(api, audio_event(b""))
    assert_refused(status, body, 400)
    assert body["error"] == "NoAudio"


def test_without_trust_anchors_a_file_is_not_judged_a_500_says_why(
    api: Any, signed: Signed, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.model_validate({"VOICECLONE_TABLE_NAME": "t", "VOICECLONE_BUCKET_NAME": "b"})
    monkeypatch.setattr(core_services, "_services", SimpleNamespace(settings=settings, store=Untouchable()))
    status, body, _ = answer(api, audio_event(signed.audio["wav"]))
    assert_refused(status, body, 500)
    assert body["error"] == "NotConfigured" and "VOICECLONE_C2PA_TRUST_ANCHORS" in body["message"]


# ----- the policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [{"explicit_label": "off"}, {"explicit_label": 0}, {}, {"explicit_label": True, "sign": False}]
)
def test_a_policy_that_is_not_one_boolean_is_a_422_before_the_store(api: Any, body: dict[str, Any]) -> None:
    status, answered, _ = answer(api, event("PUT", "/v1/labels/policy", json.dumps(body)))
    assert_refused(status, answered, 422)


# ----- when labels cannot be made -----------------------------------------------------------------


def test_kms_failing_to_sign_is_a_503_to_retry_a_deployment_that_cannot_label_a_500() -> None:
    busy = errors._label_error(LabelError("SigningFailed", "C2PA signing failed: KMSInternalException"))
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    broken = errors._label_error(LabelError("NotConfigured", "no content producer"))
    assert broken.status_code == 500 and json.loads(str(broken.body))["error"] == "NotConfigured"


# ----- the CLI's media type -----------------------------------------------------------------------


def test_verify_sends_the_media_type_of_the_bytes_not_of_the_name(signed: Signed) -> None:
    assert audio_content_type(signed.audio["wav"]) == "audio/wav"
    assert audio_content_type(signed.audio["mp3"]) == "audio/mpeg"
    assert audio_content_type(b"\xff\xf3\x44\xc4" + b"\0" * 100) == "audio/mpeg"  # frames, no ID3 tag
    assert audio_content_type(b"%PDF-1.7") == "application/octet-stream"
