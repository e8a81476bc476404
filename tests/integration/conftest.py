"""The local stack, started once per test session, with the Tencent VRS sandbox it drives."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from voiceclone.domain.models import VendorVoice
from voiceclone.vendors.base import AudioSource, TrainingState, VendorAdapter
from voiceclone.vendors.speech import SynthesisRequest
from voiceclone.vendors.tencent_vrs import TencentVrsAdapter
from voiceclone.vendors.volcengine import VolcengineAdapter
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.sandboxes.streaming import StreamingSandbox, StreamRecord
from voiceclone_local.sandboxes.tencent_vrs import TencentVrsSandbox, TencentVrsSandboxConfig
from voiceclone_local.sandboxes.volcengine import (
    DEFAULT_SPEAKER_IDS,
    VolcengineSandbox,
    VolcengineSandboxConfig,
)
from voiceclone_local.stack import LocalStack

from tests.helpers import LocalAudioSource, wait_for
from tests.integration.test_sandbox_speech import LONG, SAMPLES, TEXT_IDS, training_request

# Short waits so the polling fallback runs within seconds.
TEST_CONTEXT: dict[str, Any] = {
    "voiceclone:callbackTimeoutSeconds": 4,
    "voiceclone:pollInitialSeconds": 1,
    "voiceclone:pollMaxSeconds": 2,
    "voiceclone:trainingDeadlineSeconds": 60,
}


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    local = LocalStack(
        context=TEST_CONTEXT, sandbox_configs={"tencent_vrs": TencentVrsSandboxConfig(training_seconds=0.5)}
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def sandbox(stack: LocalStack) -> Iterator[Any]:
    """The stack's sandbox, its configuration restored after each test."""
    assert stack.sandbox is not None
    saved = stack.sandbox.config.model_copy()
    yield stack.sandbox
    stack.sandbox.config = saved


@pytest.fixture
def client(stack: LocalStack) -> VoicecloneClient:
    return VoicecloneClient(stack.api_url, api_key=stack.api_key)


@dataclass
class StreamCase:
    """One vendor's sandbox, its adapter pointed at it, and a voice it trained."""

    vendor: str
    sandbox: StreamingSandbox
    adapter: VendorAdapter
    voice: VendorVoice

    def stream(self, text: str = LONG, fmt: str = "pcm", rate: int = 16000) -> Any:
        return self.adapter.stream_synthesis(self.voice, speech_request(text, fmt, rate))

    def last_stream(self) -> StreamRecord:
        return self.sandbox.streams[-1]


def created_job_id(out: str) -> str:
    """The job id in the CLI's "job <id> created" line (the functions' log lines share its stdout)."""
    found = re.search(r"^job (\S+) created", out, re.MULTILINE)
    assert found, out
    return found.group(1)


def speech_request(text: str, fmt: str = "pcm", rate: int = 16000) -> SynthesisRequest:
    return SynthesisRequest(text=text, format=fmt, sample_rate=rate)  # type: ignore[arg-type]


# Streaming speech (test_sandbox_streaming.py, test_sandbox_stream_clients.py): per module, one sandbox
# and one trained voice per vendor.


@pytest.fixture(scope="module")
def tencent() -> Iterator[StreamCase]:
    sandbox = TencentVrsSandbox(TencentVrsSandboxConfig(training_seconds=0.2, callback_enabled=False)).start()
    try:
        settings = sandbox.credentials()
        adapter = TencentVrsAdapter(
            sandbox.url,
            settings["secret_id"],
            settings["secret_key"],
            stream_endpoint=sandbox.stream_url,
            app_id=settings["app_id"],
        )
        audio = LocalAudioSource(SAMPLES, TEXT_IDS)
        job = training_request()
        sentences = []
        for sentence in job.sentences:
            check = adapter.check_sentence(sentence.text_id, audio.sentence_audio(sentence.text_id))
            sentences.append(sentence.model_copy(update={"vendor_audio_id": check.vendor_audio_id}))
        task = adapter.create_task(
            job.model_copy(update={"sentences": sentences}), cast("AudioSource", audio)
        )
        status = wait_for(lambda: s if (s := adapter.get_status(task)).state.finished else None, timeout=10)
        assert status.state is TrainingState.SUCCEEDED and status.voice is not None
        yield StreamCase("tencent_vrs", sandbox, adapter, status.voice)
    finally:
        sandbox.stop()


@pytest.fixture(scope="module")
def volcengine() -> Iterator[StreamCase]:
    config = VolcengineSandboxConfig(training_seconds=0.2, speaker_ids=list(DEFAULT_SPEAKER_IDS))
    sandbox = VolcengineSandbox(config).start()
    try:
        settings = sandbox.credentials()
        adapter = VolcengineAdapter(
            endpoint=sandbox.url,
            console_endpoint=settings["console_endpoint"],
            appid=settings["appid"],
            access_token=settings["access_token"],
            access_key_id=settings["access_key_id"],
            secret_access_key=settings["secret_access_key"],
            speaker_ids=settings["speaker_ids"].split(","),
            stream_endpoint=sandbox.stream_url,
        )
        job = training_request()
        job = job.model_copy(update={"options": adapter.prepare_options(job)})
        task = adapter.create_task(job, cast("AudioSource", LocalAudioSource(SAMPLES, TEXT_IDS)))
        status = wait_for(lambda: s if (s := adapter.get_status(task)).state.finished else None, timeout=10)
        assert status.state is TrainingState.SUCCEEDED and status.voice is not None
        yield StreamCase("volcengine", sandbox, adapter, status.voice)
    finally:
        sandbox.stop()
