"""Acceptance: streaming speech on the local stack, for each vendor that streams (Tencent VRS, Volcengine,
CosyVoice), through the local gateway's streamed route, the streaming function and the sandboxes.

The audible label reaches the client before the vendor sent any audio, and the first speech while
the sandbox holds the rest (shown by the sandbox's own record of what it sent, not by a clock); the
stream is the same audio as the whole answer for the same text, label included, with nothing added
or lost where chunks or pieces join; the stream carries its labels (the rhythm heard in it, the
GB 45438 label in its header, read by mutagen) and its stored copy all three (c2pa-python's own
Reader); a failure after the first audio ends the answer unterminated and is recorded with the
vendor's code; everything before the first audio answers as speech does.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import struct
import uuid
import wave
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from voiceclone.provenance import rhythm
from voiceclone.vendors.registry import capabilities
from voiceclone.vendors.speech import mp3_frames_only, split_text
from voiceclone_cli.client import VoicecloneClient
from voiceclone_cli.main import main
from voiceclone_local.apigw import proxy_event
from voiceclone_local.sandboxes.streaming import StreamingSandbox
from voiceclone_local.stack import LocalStack
from voiceclone_local.template import api_routes

from tests.helpers import SPEAKER, http, upload_recordings, wait_for
from tests.integration.test_labels import (
    HEARD,
    NOT_HEARD,
    PRODUCER,
    aigc_values,
    audio_payload,
    c2pa_manifest,
    decoded,
    rhythm_heard,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
LETTER = SAMPLES.parent / "authorization-letter.pdf"
STREAMING = ("tencent_vrs", "volcengine", "cosyvoice")
SHORT = "你好，欢迎使用语音克隆服务。"
# Longer than every streaming vendor's one call: several pieces, split where sentences end.
SENTENCES = (
    "今天天气很好，我们一起去公园散步吧！",
    "公园里的花都开了，红的黄的紫的，真好看。",
    "湖边有很多人在钓鱼，孩子们在草地上放风筝。",
    "傍晚的时候，我们坐在长椅上看夕阳慢慢落下。",
)
LONG = "".join(SENTENCES * 12)


def vendor_pieces(vendor: str, text: str) -> list[str]:
    caps = capabilities(vendor)
    return split_text(text, caps.speech_stream_text_limit, caps.speech_text_unit)


# The vendors whose one stream call takes less than LONG (CosyVoice takes 20,000 bytes: any text).
SPLIT = tuple(v for v in STREAMING if len(vendor_pieces(v, LONG)) > 1)
# Each vendor's code for a synthesis that failed inside (the sandbox's mid-stream failure).
FAILED = {"tencent_vrs": "20002", "volcengine": "3031", "cosyvoice": "InternalError"}
MEDIA_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}
# The audible label at 16 kHz, as 16-bit mono samples: 1.5 s (the rhythm, then its pause).
LABEL_BYTES = int(rhythm.LABEL_SECONDS * 16000) * 2


def clone(client: VoicecloneClient, vendor: str) -> str:
    job = client.create_job(vendor, f"stream-{vendor}"[:20], "female", SPEAKER)
    for document in job.get("documents") or []:
        client.upload(document["upload"], LETTER)
    upload_recordings(client, job, SAMPLES)

    def done() -> dict[str, Any] | None:
        current = client.get_job(job["job_id"])
        return current if current["status"] in ("SUCCEEDED", "FAILED", "CHECK_FAILED") else None

    final = wait_for(done, timeout=120, what=f"{vendor} clone")
    assert final["status"] == "SUCCEEDED", final
    return str(final["voice_id"])


@pytest.fixture(scope="module")
def tenant(stack: LocalStack) -> tuple[VoicecloneClient, httpx.Client]:
    key = stack.issue_api_key(f"stream-{uuid.uuid4().hex[:8]}")
    return VoicecloneClient(stack.api_url, api_key=key), http(stack, key)


@pytest.fixture(scope="module")
def voices(tenant: tuple[VoicecloneClient, httpx.Client]) -> dict[str, str]:
    """One cloned voice per vendor (shared by the module's tests): vendor -> voice id."""
    client, _ = tenant
    return {vendor: clone(client, vendor) for vendor in (*STREAMING, "huawei", "qiniu")}


@pytest.fixture(params=STREAMING)
def vendor(request: pytest.FixtureRequest, stack: LocalStack) -> Iterator[str]:
    """Each streaming vendor in turn, its sandbox's stream knobs put back after the test."""
    sandbox: StreamingSandbox = stack.sandboxes[request.param]
    saved = sandbox.config.model_copy()
    try:
        yield str(request.param)
    finally:
        sandbox.release_streams()
        for record in list(sandbox.streams):
            record.done.wait(10)
        sandbox.config = saved
        sandbox.hold_streams()


def stream_url(stack: LocalStack, voice_id: str) -> str:
    return f"{stack.api_url}/v1/voices/{voice_id}/speech/stream"


def streamed(api: httpx.Client, stack: LocalStack, voice_id: str, **body: Any) -> httpx.Response:
    """The whole streamed answer (read to its clean end)."""
    response = api.post(stream_url(stack, voice_id), json=body, timeout=120)
    return response


def pcm_of_wav(data: bytes) -> tuple[int, bytes]:
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return w.getframerate(), w.readframes(w.getnframes())


def wav_chunks(data: bytes) -> list[tuple[bytes, int]]:
    """(id, declared size) of each chunk of a WAV, walked with struct; a size past the end runs to it."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    found, pos = [], 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        found.append((chunk_id, size))
        pos += 8 + size + (size & 1)
    return found


def read_past_header(chunks: Iterator[bytes], samples: int) -> bytes:
    """A streamed WAV's bytes as they come, until its header and ``samples`` bytes of samples are in."""
    got = b""
    while b"data" not in got or len(got) < got.index(b"data") + 8 + samples:
        got += next(chunks)
    return got


def same_audio(streamed: bytes, stored: bytes, fmt: str) -> bool:
    """Whether a stream and a file hold the same audio: the same samples (WAV), the same frames (MP3)."""
    if fmt == "wav":
        return pcm_of_wav(streamed) == pcm_of_wav(stored)
    return mp3_frames_only(streamed) == mp3_frames_only(stored)


def streamed_label(data: bytes, fmt: str) -> dict[str, str]:
    """The one GB 45438 label in a stream's header, as mutagen reads it (the RIFF chunk, the ID3 frame)."""
    (value,) = aigc_values(data, fmt)
    label: dict[str, str] = json.loads(value)["AIGC"]
    return label


# ----- streaming as it should go ---------------------------------------------------------------------


def test_the_first_audio_reaches_the_client_before_the_sandbox_sent_its_last_chunk(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str], vendor: str
) -> None:
    _, api = tenant
    sandbox: StreamingSandbox = stack.sandboxes[vendor]
    # Given a vendor that spaces its chunks and stops after its first until told to go on
    sandbox.config.stream_chunk_delay_ms = 5
    sandbox.config.stream_hold_after_chunks = 1
    served = len(sandbox.streams)
    body = {"text": SHORT, "format": "wav", "sample_rate": 16000}
    with api.stream("POST", stream_url(stack, voices[vendor]), json=body, timeout=60) as response:
        # When the client reads the answer past its label, into the speech
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"] == "audio/wav"
        assert response.headers["voiceclone-stream"] == "live"
        chunks = response.iter_raw()
        first = read_past_header(chunks, LABEL_BYTES + 1)
        # Then the speech came while the sandbox has sent one chunk of many and not its last
        record = sandbox.streams[served]
        assert record.chunks_sent == 1 and record.chunks_total > 1
        assert not record.last_chunk_sent.is_set()
        # And once the vendor goes on, the rest arrives, to the answer's clean end
        sandbox.release_streams()
        rest = b"".join(chunks)
    assert record.last_chunk_sent.is_set() and record.outcome == "final"
    # The speech is recorded and counted as it ended; its duration counts the label
    speech = api.get(f"{stack.api_url}/v1/speech/{response.headers['voiceclone-speech-id']}").json()
    assert speech["status"] == "SUCCEEDED" and speech["characters"] == len(SHORT)
    assert len(pcm_of_wav(first + rest)[1]) == round(speech["duration_seconds"] * 16000) * 2


def test_the_audible_label_reaches_the_client_before_the_vendor_sent_any_audio(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str], vendor: str
) -> None:
    _, api = tenant
    sandbox: StreamingSandbox = stack.sandboxes[vendor]
    # Given a vendor that holds its stream before its first chunk until told to go on
    sandbox.config.stream_hold_after_chunks = 0
    served = len(sandbox.streams)
    body = {"text": SHORT, "format": "wav", "sample_rate": 16000}
    with api.stream("POST", stream_url(stack, voices[vendor]), json=body, timeout=60) as response:
        # When the client reads the answer's header and its first 1.5 s of audio
        assert response.status_code == 200, response.read()
        chunks = response.iter_raw()
        first = read_past_header(chunks, LABEL_BYTES)
        # Then they came while the vendor, asked for the speech, has sent none of it
        record = wait_for(
            lambda: sandbox.streams[served] if len(sandbox.streams) > served else None,
            what="the vendor's stream",
        )
        assert record.chunks_sent == 0
        # And they are the audible label: the rhythm is heard in them
        assert rhythm_heard(first, "wav", seconds=rhythm.LABEL_SECONDS) > HEARD
        sandbox.release_streams()
        rest = b"".join(chunks)
    assert record.outcome == "final"
    assert pcm_of_wav(first + rest)[1][:LABEL_BYTES] == pcm_of_wav(first)[1][:LABEL_BYTES]


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_the_stream_is_the_same_audio_as_the_whole_answer_at_every_chunk_boundary(
    stack: LocalStack,
    tenant: tuple[VoicecloneClient, httpx.Client],
    voices: dict[str, str],
    vendor: str,
    fmt: str,
) -> None:
    _, api = tenant
    voice_id = voices[vendor]
    media_type = {"wav": "audio/wav", "mp3": "audio/mpeg"}[fmt]
    served = len(stack.sandboxes[vendor].streams)
    # When the same text is streamed (the sandbox sends it in 100 ms chunks) and spoken whole
    stream = streamed(api, stack, voice_id, text=SHORT, format=fmt, sample_rate=16000)
    chunks = stack.sandboxes[vendor].streams[served].chunks_sent
    assert chunks > 5
    whole = api.post(
        f"{stack.api_url}/v1/voices/{voice_id}/speech",
        json={"text": SHORT, "format": fmt, "sample_rate": 16000},
        headers={"Accept": media_type},
        timeout=60,
    )
    assert stream.status_code == 200 and whole.status_code == 201, (stream.text[:300], whole.text[:300])
    assert stream.headers["content-type"] == media_type
    # Then both decode to the same audio, the audible label first in both
    if fmt == "wav":
        # one header (the label's chunk in it, the sizes unknown: the data runs to the end), then the PCM
        assert stream.content[:4] == b"RIFF" and stream.content.count(b"RIFF") == 1
        assert stream.content[4:8] == b"\xff\xff\xff\xff"
        assert wav_chunks(stream.content) == [(b"fmt ", 16), (b"AIGC", wav_chunks(stream.content)[1][1]),
                                              (b"data", 0xFFFFFFFF)]  # fmt: skip
        rate, pcm = pcm_of_wav(stream.content)
        assert (rate, pcm) == pcm_of_wav(whole.content)
        # every sample around each boundary of the vendor's chunks is where the whole file has it
        samples, expected = array("h", pcm), array("h", pcm_of_wav(whole.content)[1])
        # (the label is 1.5 s: the vendor's 100 ms chunks still join at multiples of 1,600 samples)
        boundaries = range(1600, len(samples), 1600)
        assert [b for b in boundaries if samples[b - 2 : b + 2] != expected[b - 2 : b + 2]] == []
    else:
        assert mp3_frames_only(stream.content) == mp3_frames_only(whole.content)
        assert decoded(stream.content, "mp3", 60)[0] == decoded(whole.content, "mp3", 60)[0]
    assert rhythm_heard(stream.content, fmt) > HEARD


@pytest.mark.parametrize("vendor", SPLIT, indirect=True)
def test_a_long_text_streams_its_pieces_in_order_with_nothing_added_or_lost_at_the_joins(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str], vendor: str
) -> None:
    _, api = tenant
    sandbox: StreamingSandbox = stack.sandboxes[vendor]
    served = len(sandbox.streams)
    pieces = vendor_pieces(vendor, LONG)
    assert len(pieces) > 1
    # When a text longer than one vendor call is streamed
    stream = streamed(api, stack, voices[vendor], text=LONG, format="wav", sample_rate=16000)
    assert stream.status_code == 200, stream.text[:300]
    samples = array("h", pcm_of_wav(stream.content)[1])
    # Then the vendor spoke each piece once, in order, each to its final frame
    records = sandbox.streams[served:]
    assert len(records) == len(pieces) and all(r.outcome == "final" for r in records)
    # And the samples are the audible label once, then each piece's own stream (less its label), back
    # to back: nothing added, lost or moved where one piece ends and the next begins (chunk
    # boundaries: test_the_stream_is_the_same_audio_...)
    expected = array("h")
    joins = []
    for piece in pieces:
        alone = streamed(api, stack, voices[vendor], text=piece, format="wav", sample_rate=16000)
        assert alone.status_code == 200, alone.text[:300]
        pcm = pcm_of_wav(alone.content)[1]
        expected.extend(array("h", pcm if not expected else pcm[LABEL_BYTES:]))
        joins.append(len(expected))
    assert len(samples) == len(expected)
    moved = [j for j in joins[:-1] if samples[j - 2 : j + 2] != expected[j - 2 : j + 2]]
    assert moved == []
    assert samples == expected


# ----- the CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", tenant[1].headers["Authorization"].removeprefix("Bearer "))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one command, less the log lines of the stack's functions."""
    code = main(list(argv))
    captured = capsys.readouterr()

    def cli_only(text: str) -> str:
        return "".join(line for line in text.splitlines(keepends=True) if not line.startswith('{"level":'))

    return code, cli_only(captured.out), cli_only(captured.err)


def test_the_cli_writes_a_stream_as_it_arrives_and_prints_the_time_to_first_audio(
    stack: LocalStack,
    voices: dict[str, str],
    vendor: str,
    cli_env: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "hello.wav"
    code, stdout, stderr = run(capsys, "speak", voices[vendor], SHORT, "--stream", "-o", str(out))
    assert code == 0, (stdout, stderr)
    assert re.search(r"^first audio after \d+ ms$", stderr, re.MULTILINE), stderr
    assert "streamed 14 characters" in stdout and "live" in stdout
    rate, pcm = pcm_of_wav(out.read_bytes())
    assert rate == 16000 and len(pcm) > 16000


def test_a_failure_after_the_first_audio_is_told_apart_by_the_cli_and_counted(
    stack: LocalStack,
    tenant: tuple[VoicecloneClient, httpx.Client],
    voices: dict[str, str],
    vendor: str,
    cli_env: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, api = tenant
    sandbox: StreamingSandbox = stack.sandboxes[vendor]
    # Given a vendor that fails its stream after three chunks
    sandbox.config.stream_fail_after_chunks = 3
    failed_before = stack.invocations.errors.copy()
    # When the CLI streams a text
    out = tmp_path / "cut.wav"
    code, stdout, stderr = run(capsys, "speak", voices[vendor], SHORT, "--stream", "-o", str(out))
    # Then it exits 3, naming the vendor's code, and keeps the audio that arrived: the label, 3 chunks
    assert code == 3, (stdout, stderr)
    assert f"at {vendor}: {FAILED[vendor]}" in stderr, stderr
    assert len(pcm_of_wav(out.read_bytes())[1]) == LABEL_BYTES + 3 * 16000 // 10 * 2
    # And the speech is recorded FAILED with the vendor's code, counted as the function's failure
    speech_id = re.search(r"speech (sp-\S+) failed", stderr)
    assert speech_id, stderr
    speech = api.get(f"{stack.api_url}/v1/speech/{speech_id.group(1)}").json()
    assert speech["status"] == "FAILED" and speech["error"]["code"] == FAILED[vendor]
    grown = stack.invocations.errors - failed_before
    assert sum(n for name, n in grown.items() if name.startswith(("stream", "Functions"))) == 1, grown


@pytest.fixture
def no_audible_label(stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client]) -> Iterator[None]:
    """The module's tenant with the audible label turned off (its policy), on again after the test."""
    policy = f"{stack.api_url}/v1/labels/policy"
    assert tenant[1].put(policy, json={"explicit_label": False}).status_code == 200
    try:
        yield
    finally:
        assert tenant[1].put(policy, json={"explicit_label": True}).status_code == 200


def test_a_vendor_failing_before_its_first_audio_ends_the_stream_after_the_label_with_its_code(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str], vendor: str
) -> None:
    _, api = tenant
    stack.sandboxes[vendor].config.stream_fail_after_chunks = 0
    # When the vendor fails before any audio, the label already playing
    with api.stream(
        "POST", stream_url(stack, voices[vendor]), json={"text": SHORT, "format": "mp3"}
    ) as answer:
        assert answer.status_code == 200 and answer.headers["content-type"] == "audio/mpeg"
        received = b""
        # Then the answer ends unclean after the label, never as a success
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in answer.iter_raw():
                received += chunk
    assert rhythm_heard(received, "mp3", seconds=rhythm.LABEL_SECONDS) > HEARD
    # And the speech says why, with the vendor's code
    speech = api.get(f"{stack.api_url}/v1/speech/{answer.headers['voiceclone-speech-id']}").json()
    assert speech["status"] == "FAILED" and speech["error"]["code"] == FAILED[vendor]


def test_without_the_audible_label_a_failure_before_the_first_audio_is_the_usual_error_answer(
    stack: LocalStack,
    tenant: tuple[VoicecloneClient, httpx.Client],
    voices: dict[str, str],
    vendor: str,
    no_audible_label: None,
) -> None:
    _, api = tenant
    stack.sandboxes[vendor].config.stream_fail_after_chunks = 0
    answer = streamed(api, stack, voices[vendor], text=SHORT, format="mp3")
    assert answer.status_code in (502, 503), answer.text[:300]
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"] == FAILED[vendor]


# ----- the labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_the_stream_carries_its_labels_and_its_stored_copy_all_three(
    stack: LocalStack,
    tenant: tuple[VoicecloneClient, httpx.Client],
    voices: dict[str, str],
    vendor: str,
    fmt: str,
) -> None:
    client, api = tenant
    # When a text is streamed
    stream = streamed(api, stack, voices[vendor], text=SHORT, format=fmt, sample_rate=16000)
    assert stream.status_code == 200, stream.text[:300]
    speech_id = stream.headers["voiceclone-speech-id"]
    speech = api.get(f"{stack.api_url}/v1/speech/{speech_id}").json()
    # Then the rhythm is heard at its start and nowhere else
    assert rhythm_heard(stream.content, fmt) > HEARD
    after = rhythm.LABEL_SECONDS
    assert rhythm_heard(stream.content, fmt, after=after, seconds=speech["duration_seconds"]) < NOT_HEARD
    # And its header holds the GB 45438 label (mutagen reads it), naming the producer and the speech
    label = streamed_label(stream.content, fmt)
    assert (label["Label"], label["ContentProducer"], label["ProduceID"]) == ("1", PRODUCER, speech_id)
    assert label["ReservedCode1"] == ""  # the audio was not made when the header went out
    # And the stored copy at the speech's audio_url is the same audio, labelled whole: one manifest,
    # trusted under the development root (c2pa-python's own Reader), the label bound to its audio
    stored = client.download(speech["audio_url"])
    assert same_audio(stream.content, stored, fmt)
    state, manifest, count = c2pa_manifest(stored, fmt, stack.c2pa_trust_anchor)
    assert (state, count) == ("Trusted", 1)
    assertions = {a["label"]: a["data"] for a in manifest["assertions"]}
    assert assertions["org.voiceclone.speech"]["speech_id"] == speech_id
    (value,) = aigc_values(stored, fmt)
    bound = json.loads(value)["AIGC"]
    assert (bound["ProduceID"], bound["ContentProducer"]) == (speech_id, PRODUCER)
    assert bound["ReservedCode1"] == "sha256:" + hashlib.sha256(audio_payload(stored, fmt)).hexdigest()
    assert speech["labels"] == {"explicit_label": True, "aigc": value, "aigc_in_file": True, "c2pa": True}
    # And POST /v1/provenance says every label of the stored copy holds; of the stream as it came, that
    # it carries the label and the rhythm, and no manifest
    checked = api.post(
        f"{stack.api_url}/v1/provenance", content=stored, headers={"Content-Type": MEDIA_TYPES[fmt]}
    )
    assert checked.status_code == 200 and checked.json()["ok"] is True and checked.json()["findings"] == []
    assert checked.json()["speech"]["speech_id"] == speech_id
    kept = api.post(
        f"{stack.api_url}/v1/provenance", content=stream.content, headers={"Content-Type": MEDIA_TYPES[fmt]}
    ).json()
    assert [f["code"] for f in kept["findings"]] == ["c2pa.missing"]
    assert kept["explicit_label"] is True and kept["aigc"]["fields"]["ProduceID"] == speech_id


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_with_the_audible_label_off_the_stream_starts_with_the_speech_and_keeps_its_other_labels(
    stack: LocalStack,
    tenant: tuple[VoicecloneClient, httpx.Client],
    voices: dict[str, str],
    fmt: str,
    no_audible_label: None,
) -> None:
    client, api = tenant
    stream = streamed(api, stack, voices["volcengine"], text=SHORT, format=fmt, sample_rate=16000)
    assert stream.status_code == 200, stream.text[:300]
    assert rhythm_heard(stream.content, fmt) < NOT_HEARD
    assert streamed_label(stream.content, fmt)["ProduceID"] == stream.headers["voiceclone-speech-id"]
    speech = api.get(f"{stack.api_url}/v1/speech/{stream.headers['voiceclone-speech-id']}").json()
    stored = client.download(speech["audio_url"])
    assert same_audio(stream.content, stored, fmt)
    assert c2pa_manifest(stored, fmt, stack.c2pa_trust_anchor)[0] == "Trusted"
    assert speech["labels"]["explicit_label"] is False and speech["labels"]["c2pa"] is True


def test_raw_pcm_is_refused_before_the_vendor_is_called(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    sandbox: StreamingSandbox = stack.sandboxes["tencent_vrs"]
    served = len(sandbox.streams)
    answer = streamed(tenant[1], stack, voices["tencent_vrs"], text=SHORT, format="pcm")
    assert answer.status_code == 422 and answer.json()["error"] == "PcmNotLabelled", answer.text[:300]
    assert set(answer.json()["details"]["formats"]) == {"wav", "mp3"}
    assert len(sandbox.streams) == served


# ----- what speech refuses, the stream refuses ---------------------------------------------------------


def test_qiniu_keeps_its_409(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    answer = streamed(tenant[1], stack, voices["qiniu"], text=SHORT)
    assert answer.status_code == 409 and answer.json()["error"] == "SpeechNotOffered"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"text": "。。。 ！"}, 422, "InvalidRequest"),
        ({"text": SHORT, "format": "pcm", "sample_rate": 44100}, 422, "UnsupportedSampleRate"),
        ({"text": SHORT, "speed": 9}, 422, "InvalidRequest"),
        # Tencent's stream speaks at 0.6 to 1.5 (its whole files up to 2.5)
        ({"text": SHORT, "speed": 2.0}, 422, "UnsupportedSpeed"),
    ],
)
def test_speechs_rules_hold_for_the_stream_and_nothing_is_counted(
    stack: LocalStack,
    tenant: tuple[VoicecloneClient, httpx.Client],
    voices: dict[str, str],
    body: dict[str, Any],
    status: int,
    error: str,
) -> None:
    client, api = tenant
    before = client.usage()
    answer = streamed(api, stack, voices["tencent_vrs"], **body)
    assert answer.status_code == status and answer.json()["error"] == error, answer.text[:300]
    assert client.usage() == before


def test_the_stream_needs_an_api_key_and_the_accepted_media_type(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    url = stream_url(stack, voices["tencent_vrs"])
    assert httpx.post(url, json={"text": SHORT}, timeout=30).status_code == 401
    refused = tenant[1].post(url, json={"text": SHORT, "format": "mp3"}, headers={"Accept": "audio/wav"})
    assert refused.status_code == 406


# ----- a vendor without a stream for cloned voices; a function that cannot stream ---------------------


def test_a_vendor_without_a_stream_answers_whole_once_made_and_says_so(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    _, api = tenant
    # When a Huawei voice (speech through async jobs only) is asked for a stream
    answer = streamed(api, stack, voices["huawei"], text=SHORT, format="wav")
    # Then the answer is the whole file, once the speech workflow made it, and says it is whole
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["voiceclone-stream"] == "whole"
    speech = api.get(f"{stack.api_url}/v1/speech/{answer.headers['voiceclone-speech-id']}").json()
    assert speech["status"] == "SUCCEEDED"
    assert answer.content == httpx.get(speech["audio_url"], timeout=30).content


def test_a_vendor_without_a_stream_that_fails_is_the_usual_error_answer_with_its_code(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    _, api = tenant
    sandbox = stack.sandboxes["huawei"]
    saved = sandbox.config.model_copy()
    sandbox.config.fail_speech = "the synthesis engine is overloaded"
    try:
        answer = streamed(api, stack, voices["huawei"], text=SHORT, format="wav")
    finally:
        sandbox.config = saved
    assert answer.status_code == 502 and answer.headers["content-type"] == "application/json"
    assert answer.json()["error"] == "MSS.20030002" and "overloaded" in answer.json()["message"]


def test_a_function_that_cannot_stream_answers_the_stream_route_buffered(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    # Given the route's event handed to the api function (a buffered integration), not the stream's
    routes = {r.path: r for r in api_routes(stack.template)}
    route = routes["/v1/voices/{voice_id}/speech/stream"]
    api_function = next(n for k, n in stack.function_names.items() if k.startswith("FunctionsApiFunction"))
    path = f"/v1/voices/{voices['tencent_vrs']}/speech/stream"
    body = json.dumps({"text": SHORT, "format": "wav"}).encode()
    tenant_id = api_tenant(stack, tenant[1])
    event = proxy_event(
        route,
        "POST",
        path,
        {"Content-Type": "application/json"},
        body,
        "123456789012",
        {"tenant_id": tenant_id},
    )
    # When it runs
    result, error = stack._invoke(api_function, event)
    # Then it answers the same audio whole, in one buffered answer that says so
    assert error is None, result
    assert result["statusCode"] == 200 and result["isBase64Encoded"]
    headers = {
        **result.get("headers", {}),
        **{k: ", ".join(v) for k, v in result["multiValueHeaders"].items()},
    }
    assert headers["Voiceclone-Stream"] == "buffered"
    audio = base64.b64decode(result["body"])
    live = streamed(tenant[1], stack, voices["tencent_vrs"], text=SHORT, format="wav")
    assert pcm_of_wav(audio) == pcm_of_wav(live.content)
    assert streamed_label(audio, "wav")["ProduceID"] == headers["Voiceclone-Speech-Id"]


def api_tenant(stack: LocalStack, api: httpx.Client) -> str:
    """The tenant of the module's key, as the authorizer names it."""
    token = api.headers["Authorization"]
    authorizer = next(
        n for k, n in stack.function_names.items() if k.startswith("FunctionsAuthorizerFunction")
    )
    policy, error = stack._invoke(
        authorizer,
        {
            "type": "TOKEN",
            "authorizationToken": token,
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:local/local/POST/x",
        },
    )
    assert error is None, policy
    return str(policy["context"]["tenant_id"])
