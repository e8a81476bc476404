"""Shared test helpers: the table as the stack defines it, WAV makers, polling."""

from __future__ import annotations

import io
import math
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

# The key schema of the CDK table (tests/infra asserts the template has the same).
TABLE_SCHEMA: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": n, "AttributeType": "S"}
        for n in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": f"{name}pk", "KeyType": "HASH"},
                {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
        for name in ("gsi1", "gsi2")
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


@contextmanager
def moto_client(service: str, region: str) -> Iterator[Any]:
    """A boto3 client of moto in this process, for a unit test, leaving a worker's local stack alone.

    A worker that started a local stack (a session fixture) serves it from the same moto backends
    and points AWS_ENDPOINT_URL at it. `mock_aws()` resets every backend when it starts and when
    it stops, the stack's tables and state machines included, and a plain client would follow the
    endpoint to the stack's server. So: no reset either way, a client that ignores the configured
    endpoint, and the caller removes what it made.
    """
    import boto3
    from botocore.config import Config
    from moto import mock_aws

    mock = mock_aws()
    mock.start(reset=False)
    try:
        yield boto3.client(service, region_name=region, config=Config(ignore_configured_endpoint_urls=True))
    finally:
        mock.stop(remove_data=False)


def wav_bytes(
    seconds: float = 2.0, rate: int = 16000, amplitude: float = 0.3, channels: int = 1, freq: float = 220.0
) -> bytes:
    frames = int(seconds * rate)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        samples = bytearray()
        for i in range(frames):
            value = int(amplitude * 32767 * math.sin(2 * math.pi * freq * i / rate))
            samples += value.to_bytes(2, "little", signed=True) * channels
        w.writeframes(bytes(samples))
    return buf.getvalue()


def wait_for(
    fn: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.2, what: str = "condition"
) -> T:
    """Poll until fn returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class LocalAudioSource:
    """An AudioSource over a folder of <text_id>.wav files; the assembled WAV is served on 127.0.0.1.

    For adapter tests against a sandbox that downloads the audio from a URL.
    """

    def __init__(self, directory: Any, text_ids: list[str] | None = None) -> None:
        from pathlib import Path

        self.directory = Path(directory)
        self.text_ids = text_ids or sorted(p.stem for p in self.directory.glob("*.wav"))
        self._server: Any = None

    def sentence_audio(self, text_id: str) -> bytes:
        return (self.directory / f"{text_id}.wav").read_bytes()

    def assembled_wav(self) -> bytes:
        from voiceclone.domain.audio import assemble_wav

        return assemble_wav([self.sentence_audio(t) for t in self.text_ids])

    def assembled_url(self) -> str:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        if self._server is None:
            body = self.assembled_wav()

            class Handler(BaseHTTPRequestHandler):
                def log_message(self, format: str, *args: Any) -> None:
                    return

                def do_GET(self) -> None:
                    self.send_response(200)
                    self.send_header("Content-Type", "audio/wav")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/voice.wav"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def http(stack: Any, api_key: str | None = None) -> Any:
    """An httpx client that sends the stack's dev API key (or `api_key`) on every request."""
    import httpx

    key = api_key if api_key is not None else stack.api_key
    return httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30.0)


def label_settings(kms: Any, producer: str = "voiceclone-test") -> dict[str, str]:
    """A deployment's label settings for services built in a test: a producer, a new P-256 signing key in
    ``kms`` (moto's), its development certificate and the root to trust (voiceclone.provenance.devca)."""
    from voiceclone.provenance.devca import development_credentials

    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    made = development_credentials(kms, key_id)
    return {
        "VOICECLONE_AIGC_CONTENT_PRODUCER": producer,
        "VOICECLONE_C2PA_KMS_KEY_ID": key_id,
        "VOICECLONE_C2PA_CERTIFICATE_CHAIN": made.certificate_chain_pem,
        "VOICECLONE_C2PA_TRUST_ANCHORS": made.trust_anchor_pem,
    }


RESULT_PREFIX = "RESULT "


def print_result(result: dict[str, Any]) -> None:
    """What a child process of run_child hands back: one line of JSON after RESULT_PREFIX."""
    import json

    print(RESULT_PREFIX + json.dumps(result))


def run_child(
    module: str, env: dict[str, str] | None = None, timeout: float = 600
) -> tuple[dict[str, Any], list[str]]:
    """Run ``module._child()`` in a fresh Python process: the result it printed, and all its output lines.

    For tests that need a local stack of their own: moto keeps one in-memory state per process.
    The child sees the environment without any VOICECLONE_* variable, plus ``env``.
    """
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("VOICECLONE_")}
    child_env.update(env or {})
    child_env["PYTHONPATH"] = os.pathsep.join([str(repo), child_env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", f"from {module} import _child; _child()"],
        cwd=repo,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    line = next(line for line in lines if line.startswith(RESULT_PREFIX))
    result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
    return result, lines


def sample_speech(rate: int = 16000, text_id: str = "00001") -> bytes:
    """Real speech, 16-bit mono PCM at ``rate``: a sample recording, resampled with FFmpeg if need be."""
    from pathlib import Path

    from voiceclone.domain.audio import pcm_of, wav_file
    from voiceclone.domain.audio_decode import decode_pcm16

    wav = (Path(__file__).resolve().parent.parent / "samples" / "tencent_vrs" / f"{text_id}.wav").read_bytes()
    own_rate, pcm = pcm_of(wav)
    return pcm if own_rate == rate else decode_pcm16(wav_file(own_rate, pcm), rate)[0]


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(id, body) of every chunk of a WAV, walked here with struct (independent of the code under test)."""
    import struct

    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8
    found, pos = [], 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        found.append((chunk_id, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    assert pos == len(data)
    return found


def riff_file(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A WAV of these chunks (pad bytes and sizes written here, not by the code under test)."""
    import struct

    body = b"".join(cid + struct.pack("<I", len(b)) + b + b"\x00" * (len(b) & 1) for cid, b in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


# Who the tests' speakers are said to be: the consent statement names them.
SPEAKER = "Test Speaker"
CONSENT = "consent"


def consent_take(job: dict[str, Any]) -> bytes:
    """The job's consent statement read by the stand-in (eSpeak NG): its phrase is the job's own."""
    from voiceclone_cli.stand_in import consent_take as read

    return read(job)


def upload_consent(client: Any, job: dict[str, Any], take: bytes | None = None) -> None:
    """Upload the consent take (the stand-in's reading unless `take` is given) to the job's form for it."""
    import tempfile
    from pathlib import Path

    sentence = next(s for s in job["sentences"] if s["text_id"] == CONSENT)
    target = sentence.get("upload") or client.new_upload_url(job["job_id"], CONSENT)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "consent.wav"
        path.write_bytes(consent_take(job) if take is None else take)
        client.upload(target, path)


def upload_recordings(client: Any, job: dict[str, Any], directory: Any, consent: bool = True) -> None:
    """What a speaker uploads for a job: each sentence from DIR/<text_id>.wav, then the consent statement.

    The statement's phrase is made with the job, so its take cannot come from DIR: the stand-in
    reads it (`consent=False` leaves it out, for a job that must wait for it).
    """
    from pathlib import Path

    for sentence in job["sentences"]:
        if sentence["text_id"] != CONSENT:
            client.upload(sentence["upload"], Path(directory) / f"{sentence['text_id']}.wav")
    if consent:
        upload_consent(client, job)


def record_comparison(client: Any, vendors: list[str], name: str = "listening") -> str:
    """A comparison created through the API and every take uploaded once: the sample recordings for the
    sentences, the stand-in's reading of the consent statement. Its id; the vendors then train."""
    import tempfile
    from pathlib import Path

    from voiceclone_cli.stand_in import consent_take as read_statement

    samples = Path(__file__).resolve().parents[1] / "samples" / "tencent_vrs"
    comparison = client.create_comparison(vendors, name, "female", SPEAKER)
    for document in comparison["documents"]:
        client.upload(document["upload"], samples.parent / "authorization-letter.pdf")
    for sentence in comparison["sentences"][1:]:
        client.upload(sentence["upload"], samples / f"{sentence['text_id']}.wav")
    with tempfile.TemporaryDirectory() as tmp:
        consent = Path(tmp) / "consent.wav"
        consent.write_bytes(read_statement(comparison))
        client.upload(comparison["sentences"][0]["upload"], consent)
    return str(comparison["comparison_id"])
