"""Acceptance: every speech file handed out carries its labels, read back by readers that are not ours.

On the session's local stack, whose speech is signed with moto's KMS key under the development CA
the stack made. The full grid (WAV and MP3, long text split into several vendor calls and
labelled once) runs on one synchronous vendor (Volcengine: the api labels) and one asynchronous
(Huawei: FinishSpeech labels), where the code paths differ; the other vendors that speak get a
cheap check through POST /v1/provenance. Each file is read by:

- c2pa-python's own Reader, trusting only the stack's development root;
- mutagen (PyPI) for the GB 45438 metadata: its RIFF chunk reader for WAV, its ID3 reader for MP3;
- a cross-correlation of the decoded audio's 1 kHz envelope with the rhythm prompt's, for the
  audible label: the sound is found in the audio, never our flag read back.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import uuid
import wave
from array import array
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import c2pa
import httpx
import mutagen.id3
import pytest
from mutagen._riff import RiffFile
from voiceclone.provenance import rhythm
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LOCAL_CONTEXT, LocalStack

from tests.helpers import http, wait_for
from tests.integration.test_cli import run
from tests.integration.test_speech import clone

# One worker runs the module (make test's --dist loadgroup): its five cloned voices serve every test.
pytestmark = pytest.mark.xdist_group("labels")

SYNC, ASYNC = "volcengine", "huawei"
OTHERS = (("tencent_vrs", "wav"), ("cosyvoice", "mp3"), ("tencent_gateway", "wav"))
SHORT = "你好，欢迎使用语音克隆服务。"
# Longer than both vendors take in one call (Volcengine 1,024 bytes, Huawei 1,000 characters).
LONG = " ".join(f"Sentence number {i} of a long text is read by the cloned voice." for i in range(18))
PRODUCER = LOCAL_CONTEXT["voiceclone:aigcContentProducer"]
TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}
# Correlation of the audio's start with the rhythm prompt: about 1.0 with it, about 0.3 for speech alone.
HEARD, NOT_HEARD = 0.9, 0.6


class Tenant:
    def __init__(self, stack: LocalStack, name: str) -> None:
        self.id = f"{name}-{uuid.uuid4().hex[:8]}"
        self.key = stack.issue_api_key(self.id)
        self.client = VoicecloneClient(stack.api_url, api_key=self.key, timeout=60)
        self.api: httpx.Client = http(stack, self.key)
        self.url = stack.api_url

    def speak(self, voice_id: str, fmt: str, text: str = SHORT) -> tuple[dict[str, Any], bytes]:
        """The finished speech (an async vendor's waited for) and the bytes behind its audio_url."""
        made = self.api.post(f"{self.url}/v1/voices/{voice_id}/speech", json={"text": text, "format": fmt})
        assert made.status_code in (201, 202), made.text

        def done() -> dict[str, Any] | None:
            view: dict[str, Any] = self.api.get(f"{self.url}/v1/speech/{made.json()['speech_id']}").json()
            return view if view["status"] != "RUNNING" else None

        view = done() or wait_for(done, timeout=120, what=f"speech {made.json()['speech_id']}")
        assert view["status"] == "SUCCEEDED", view
        return view, self.client.download(view["audio_url"])

    def check(self, audio: bytes, fmt: str) -> dict[str, Any]:
        answer = self.api.post(
            f"{self.url}/v1/provenance", content=audio, headers={"Content-Type": MEDIA_TYPES[fmt]}
        )
        assert answer.status_code == 200, answer.text
        report: dict[str, Any] = answer.json()
        return report


@pytest.fixture(scope="module")
def tenant(stack: LocalStack) -> Tenant:
    return Tenant(stack, "labels")


@pytest.fixture(scope="module")
def voices(tenant: Tenant) -> dict[str, str]:
    """A voice of each vendor that speaks, cloned at once: vendor -> voice id."""
    vendors = (SYNC, ASYNC, *(v for v, _ in OTHERS))
    with ThreadPoolExecutor(len(vendors)) as pool:
        cloned = pool.map(lambda v: clone(tenant.client, v)["voice_id"], vendors)
        return dict(zip(vendors, cloned, strict=True))


# ----- readers that are not ours -------------------------------------------------------------------


def c2pa_manifest(audio: bytes, fmt: str, trust_anchor: str) -> tuple[str, dict[str, Any], int]:
    """c2pa-python's verdict (Trusted/Valid/Invalid), the active manifest, and how many manifests."""
    settings = {
        "trust": {"trust_anchors": trust_anchor},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    }
    with (
        c2pa.Context.from_dict(settings) as context,
        c2pa.Reader(MEDIA_TYPES[fmt], io.BytesIO(audio), None, context) as reader,
    ):
        store = json.loads(reader.json())
        state = reader.get_validation_state()
    return str(state), store["manifests"][store["active_manifest"]], len(store["manifests"])


def aigc_values(audio: bytes, fmt: str) -> list[str]:
    """Every AIGC label in the file, as mutagen reads it: the WAV chunk, the MP3's TXXX:AIGC frames."""
    if fmt == "wav":
        riff = RiffFile(io.BytesIO(audio))
        return [riff["AIGC"].read().decode("ascii").rstrip("\x00")] if "AIGC" in riff else []
    tags = mutagen.id3.ID3(io.BytesIO(audio))
    return [str(text) for frame in tags.getall("TXXX:AIGC") for text in frame.text]


def audio_payload(audio: bytes, fmt: str) -> bytes:
    """The audio without its metadata, found by mutagen: the WAV data chunk, the MP3 frames after the tag."""
    if fmt == "wav":
        return bytes(RiffFile(io.BytesIO(audio))["data"].read())
    return audio[mutagen.id3.ID3(io.BytesIO(audio)).size :]


def decoded(audio: bytes, fmt: str, seconds: float) -> tuple[list[float], int]:
    """The first ``seconds`` as mono samples in [-1, 1]: WAV read by ``wave``, MP3 decoded by FFmpeg."""
    if fmt == "wav":
        with wave.open(io.BytesIO(audio)) as w:
            rate = w.getframerate()
            pcm = array("h", w.readframes(int(seconds * rate)))
        return [x / 32768 for x in pcm], rate
    samples: list[float] = []
    with av.open(io.BytesIO(audio)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                samples.extend(x / 32768 for x in array("h", bytes(out.planes[0]))[: out.samples])
            if len(samples) >= seconds * rate:
                break
    return samples[: int(seconds * rate)], rate


BLOCK_SECONDS, TONE_HZ = 0.005, 1000.0


def envelope(samples: list[float], rate: int) -> list[float]:
    """The 1 kHz magnitude of each 5 ms block (quadrature demodulation)."""
    n = int(rate * BLOCK_SECONDS)
    phase = [2 * math.pi * TONE_HZ * i / rate for i in range(n)]
    cos, sin = [math.cos(p) for p in phase], [math.sin(p) for p in phase]
    out = []
    for start in range(0, len(samples) - n + 1, n):
        block = samples[start : start + n]
        i = sum(map(float.__mul__, block, cos))
        q = sum(map(float.__mul__, block, sin))
        out.append(math.hypot(i, q) / n)
    return out


def correlation(a: list[float], b: list[float]) -> float:
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    da, db = [x - mean_a for x in a], [x - mean_b for x in b]
    scale = math.sqrt(sum(x * x for x in da) * sum(y * y for y in db))
    return sum(map(float.__mul__, da, db)) / scale if scale else 0.0


def rhythm_heard(audio: bytes, fmt: str, after: float = 0.0, seconds: float = 2.5) -> float:
    """How well the audio matches the rhythm prompt: the best correlation of their envelopes at any offset
    from ``after`` to ``seconds`` (the start by default: an MP3 decoder adds its delay in front)."""
    samples, rate = decoded(audio, fmt, seconds)
    prompt = [x / 32768 for x in array("h", rhythm.label_pcm(rate))][: int(rhythm.RHYTHM_SECONDS * rate)]
    wanted, found = envelope(prompt, rate), envelope(samples[int(after * rate) :], rate)
    return max(correlation(found[lag : lag + len(wanted)], wanted) for lag in range(len(found) - len(wanted)))


# ----- tampering, as a tool would ------------------------------------------------------------------


def flip_audio_byte(audio: bytes, fmt: str) -> bytes:
    """One bit changed in the middle of the audio payload."""
    payload = audio_payload(audio, fmt)
    at = audio.index(payload) + len(payload) // 2
    changed = bytearray(audio)
    changed[at] ^= 0x01
    return bytes(changed)


def strip_aigc(audio: bytes, fmt: str) -> bytes:
    """The AIGC label deleted by mutagen: the WAV chunk, or the MP3's TXXX:AIGC frame."""
    out = io.BytesIO(audio)
    if fmt == "wav":
        RiffFile(out).delete_chunk("AIGC")
    else:
        tags = mutagen.id3.ID3(out)
        tags.delall("TXXX:AIGC")
        out.seek(0)
        tags.save(out, v2_version=4)
    return out.getvalue()


# ----- the grid --------------------------------------------------------------------------------------

GRID = [
    pytest.param(SYNC, "wav", LONG, id="sync-wav-long"),
    pytest.param(SYNC, "mp3", SHORT, id="sync-mp3"),
    pytest.param(ASYNC, "wav", LONG, id="async-wav-long"),
    pytest.param(ASYNC, "mp3", SHORT, id="async-mp3"),
]


@pytest.mark.parametrize(("vendor", "fmt", "text"), GRID)
def test_every_speech_file_carries_its_three_labels(
    stack: LocalStack, tenant: Tenant, voices: dict[str, str], vendor: str, fmt: str, text: str
) -> None:
    # When the voice speaks (a long text: several vendor calls, joined into one file)
    view, audio = tenant.speak(voices[vendor], fmt, text)
    if text is LONG:
        assert view["vendor_calls"] >= 2
    # Then c2pa-python's own Reader finds one manifest, trusted under the development root, saying a
    # trained model made this speech of this voice for this tenant
    state, manifest, count = c2pa_manifest(audio, fmt, stack.c2pa_trust_anchor)
    assert (state, count) == ("Trusted", 1)
    assertions = {a["label"]: a["data"] for a in manifest["assertions"]}
    (first, *_) = assertions["c2pa.actions.v2"]["actions"]
    assert (first["action"], first["digitalSourceType"]) == ("c2pa.created", TRAINED)
    assert assertions["org.voiceclone.speech"] == {
        "speech_id": view["speech_id"],
        "voice_id": voices[vendor],
        "vendor": vendor,
        "tenant_id": tenant.id,
    }
    # And mutagen finds one GB 45438 label naming the producer and the speech, bound to this audio
    (value,) = aigc_values(audio, fmt)
    label = json.loads(value)["AIGC"]
    assert (label["Label"], label["ContentProducer"]) == ("1", PRODUCER)
    assert label["ProduceID"] == view["speech_id"]
    assert label["ReservedCode1"] == "sha256:" + hashlib.sha256(audio_payload(audio, fmt)).hexdigest()
    # And the audible label is heard at the start, and nowhere else (the pieces were labelled once, joined)
    assert rhythm_heard(audio, fmt) > HEARD
    assert rhythm_heard(audio, fmt, after=rhythm.LABEL_SECONDS, seconds=view["duration_seconds"]) < NOT_HEARD
    # And the speech says what it was given; its duration counts the label
    assert view["labels"] == {"explicit_label": True, "aigc": value, "aigc_in_file": True, "c2pa": True}
    assert view["duration_seconds"] > rhythm.LABEL_SECONDS


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_post_provenance_reports_a_changed_byte_a_stripped_label_and_whose_speech_it_is(
    stack: LocalStack, tenant: Tenant, voices: dict[str, str], fmt: str
) -> None:
    view, audio = tenant.speak(voices[SYNC], fmt)
    # The file as handed out: every label holds, and its tenant sees whose speech it is
    intact = tenant.check(audio, fmt)
    assert (intact["ok"], intact["format"], intact["findings"]) == (True, fmt, [])
    assert intact["c2pa"]["state"] == "Trusted" and intact["explicit_label"] is True
    assert intact["aigc"]["fields"]["ProduceID"] == view["speech_id"] and intact["aigc"]["audio_matches"]
    assert intact["yours"] is True
    assert intact["speech"] == {
        "speech_id": view["speech_id"],
        "voice_id": voices[SYNC],
        "vendor": SYNC,
        "tenant_id": tenant.id,
    }
    # One changed byte of audio: the manifest's hash and the label's digest no longer hold
    flipped = tenant.check(flip_audio_byte(audio, fmt), fmt)
    assert flipped["ok"] is False and flipped["c2pa"]["state"] == "Invalid"
    assert {"c2pa.invalid", "aigc.audio_mismatch"} <= {f["code"] for f in flipped["findings"]}
    # The AIGC label stripped: missing, and the manifest no longer matches the file
    stripped = tenant.check(strip_aigc(audio, fmt), fmt)
    assert stripped["ok"] is False and stripped["aigc"]["present"] is False
    assert {"aigc.missing", "c2pa.invalid"} <= {f["code"] for f in stripped["findings"]}
    # Another tenant checking the intact file learns only that it is not its own
    other = Tenant(stack, "stranger").check(audio, fmt)
    assert (other["ok"], other["yours"], other["speech"]) == (True, False, None)
    assert voices[SYNC] not in json.dumps(other) and tenant.id not in json.dumps(other)


def test_the_audible_label_follows_the_tenants_policy(
    stack: LocalStack, tenant: Tenant, voices: dict[str, str]
) -> None:
    policy = f"{tenant.url}/v1/labels/policy"
    assert tenant.api.get(policy).json()["explicit_label_source"] == "deployment"
    # When the tenant turns the audible label off
    turned = tenant.api.put(policy, json={"explicit_label": False})
    assert turned.status_code == 200 and turned.json()["explicit_label"] is False
    try:
        made = [tenant.speak(voices[SYNC], "wav"), tenant.speak(voices[ASYNC], "mp3")]
    finally:
        tenant.api.put(policy, json={"explicit_label": True})
    # Then neither the api's nor FinishSpeech's speech starts with it; the other labels are all there
    for (view, audio), fmt in zip(made, ("wav", "mp3"), strict=True):
        assert rhythm_heard(audio, fmt) < NOT_HEARD
        assert c2pa_manifest(audio, fmt, stack.c2pa_trust_anchor)[0] == "Trusted"
        assert len(aigc_values(audio, fmt)) == 1
        assert view["labels"]["explicit_label"] is False
        report = tenant.check(audio, fmt)
        assert report["ok"] is True and report["explicit_label"] is False
        assert [f["code"] for f in report["findings"]] == ["explicit.absent"]
    # And turned on again, it is back
    assert tenant.api.get(policy).json() == {
        "explicit_label": True,
        "explicit_label_source": "tenant",
        "content_producer": PRODUCER,
    }
    assert rhythm_heard(tenant.speak(voices[SYNC], "wav")[1], "wav") > HEARD


@pytest.mark.parametrize(("vendor", "fmt"), OTHERS)
def test_the_other_vendors_that_speak_hand_out_labelled_files(
    tenant: Tenant, voices: dict[str, str], vendor: str, fmt: str
) -> None:
    view, audio = tenant.speak(voices[vendor], fmt)
    report = tenant.check(audio, fmt)
    assert report["ok"] is True and report["findings"] == [], report
    assert report["speech"]["speech_id"] == view["speech_id"] and report["speech"]["vendor"] == vendor


def test_raw_pcm_is_refused_before_the_vendor_is_called(
    stack: LocalStack, tenant: Tenant, voices: dict[str, str]
) -> None:
    sandbox = stack.sandboxes[SYNC]
    seen = len(sandbox.tts_requests)
    answer = tenant.api.post(
        f"{tenant.url}/v1/voices/{voices[SYNC]}/speech", json={"text": SHORT, "format": "pcm"}
    )
    assert answer.status_code == 422 and answer.json()["error"] == "PcmNotLabelled"
    assert answer.json()["details"]["formats"] == ["wav", "mp3"]
    assert len(sandbox.tts_requests) == seen


def test_voiceclone_verify_says_whether_the_labels_hold(
    stack: LocalStack,
    tenant: Tenant,
    voices: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", tenant.key)
    view, audio = tenant.speak(voices[SYNC], "mp3")
    intact, altered = tmp_path / "speech.mp3", tmp_path / "altered.mp3"
    intact.write_bytes(audio)
    altered.write_bytes(flip_audio_byte(audio, "mp3"))
    capsys.readouterr()
    # The file as handed out: exit 0, every label named
    code, out, err = run(capsys, "verify", str(intact))
    assert code == 0, err
    assert "the labels hold" in out and "Trusted" in out and f"ProduceID={view['speech_id']}" in out
    assert "the AI rhythm at the start" in out and voices[SYNC] in out
    # One byte changed: exit 1, and why
    code, out, _ = run(capsys, "verify", str(altered))
    assert code == 1 and "do NOT hold" in out
    assert "c2pa.invalid" in out and "aigc.audio_mismatch" in out
    # --json: the API's answer as it is
    code, out, _ = run(capsys, "verify", "--json", str(intact))
    assert code == 0 and json.loads(out)["speech"]["speech_id"] == view["speech_id"]
