"""The speech workflow's steps on moto with a fake async vendor: submit once per piece, poll, finish, fail.

The state machine itself runs in tests/integration/test_speech_async.py (on the local stack); here each
step's rules are pinned: a retried submit never starts a piece twice, the wait grows, a vendor's
failure keeps its code, the deadline ends the speech, and nothing is ever left RUNNING.
"""

from __future__ import annotations

import json
import math
import struct
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from voiceclone.domain.api_models import SpeechRequest
from voiceclone.domain.audio import wav_file
from voiceclone.domain.errors import VendorRejected, VendorThrottled, VendorUnavailable
from voiceclone.domain.models import VendorVoice
from voiceclone.domain.steps import SpeechInput
from voiceclone.logic.account import usage
from voiceclone.logic.core import polling, tasks
from voiceclone.logic.core.services import Services
from voiceclone.logic.speech import service as speech
from voiceclone.logic.speech import steps as speech_workflow
from voiceclone.logic.speech.finish import finish
from voiceclone.provenance.rhythm import LABEL_SECONDS
from voiceclone.settings import Settings
from voiceclone.store import Store
from voiceclone.vendors import registry
from voiceclone.vendors.base import Capabilities, TrainingStatus, VendorAdapter
from voiceclone.vendors.speech import SynthesisJob, SynthesisRequest, SynthesisResult, SynthesisState
from voiceclone_local.stack import LocalStack

from tests.helpers import TABLE_SCHEMA, label_settings
from tests.integration.test_speech_logic import make_voice

VENDOR = "fake_async"


class FakeAsync(VendorAdapter):
    """An async vendor: 10 characters a job; jobs finish when the test says; a tone per job."""

    vendor_id = VENDOR
    capabilities = Capabilities(
        audio_transport="url",
        speech="async",
        speech_speeds=(1.0, 1.0),
        speech_formats=("wav",),
        speech_sample_rates=(16000,),
        speech_text_limit=10,
        speech_poll_seconds=2,
        speech_poll_max_seconds=10,
    )
    default_endpoint = "http://127.0.0.1:1"
    credential_fields = ()
    throttle_after: ClassVar[int | None] = None
    lose_answer_once: ClassVar[bool] = False

    def __init__(self) -> None:
        self.started: list[str] = []
        self.states: dict[str, SynthesisJob] = {}
        self.by_tag: dict[str, str] = {}

    def find_synthesis(self, tag: str) -> SynthesisJob | None:
        job_id = self.by_tag.get(tag)
        return self.states[job_id] if job_id else None

    def create_task(self, request: Any, audio: Any) -> str:
        raise NotImplementedError

    def get_status(self, task_id: str) -> TrainingStatus:
        raise NotImplementedError

    def start_synthesis(self, voice: VendorVoice, request: SynthesisRequest, *, tag: str) -> SynthesisJob:
        if self.throttle_after is not None and len(self.started) >= self.throttle_after:
            FakeAsync.throttle_after = None
            raise VendorThrottled(VENDOR, "Busy", "too many jobs")
        self.started.append(request.text)
        job = SynthesisJob(job_id=f"job-{len(self.started)}")
        self.states[job.job_id] = job
        self.by_tag[tag] = job.job_id
        if self.lose_answer_once:
            FakeAsync.lose_answer_once = False
            raise VendorUnavailable(VENDOR, "NetworkError", "the connection dropped after the create")
        return job

    def get_synthesis(self, job_id: str) -> SynthesisJob:
        return self.states[job_id]

    def finish(self, job_id: str, **fields: Any) -> None:
        self.states[job_id] = self.states[job_id].model_copy(update=fields)

    def synthesis_audio(self, job: SynthesisJob, request: SynthesisRequest) -> SynthesisResult:
        frames = int(len(request.text) * 0.05 * 16000)
        pcm = b"".join(struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(frames))
        return SynthesisResult(
            audio=wav_file(16000, pcm), format="wav", sample_rate=16000, request_id=job.job_id
        )


class StartRecorder:
    def __init__(self, fail: bool = False) -> None:
        self.started: list[dict[str, Any]] = []
        self.fail = fail

    def start_execution(self, **kwargs: Any) -> dict[str, str]:
        if self.fail:
            raise RuntimeError("Step Functions refused")
        self.started.append(kwargs)
        return {"executionArn": "arn"}


@pytest.fixture
def svc(stack: LocalStack) -> Iterator[tuple[Services, FakeAsync, StartRecorder]]:
    ddb, s3 = stack.client("dynamodb"), stack.client("s3")
    table, bucket = f"sw-{uuid.uuid4().hex[:12]}", f"sw-{uuid.uuid4().hex[:12]}"
    ddb.create_table(TableName=table, **TABLE_SCHEMA)
    region = s3.meta.region_name
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **where)
    registry.register(VENDOR, FakeAsync)
    fake, sfn, kms = FakeAsync(), StartRecorder(), stack.client("kms")
    settings = Settings.model_validate(
        {
            "VOICECLONE_TABLE_NAME": table,
            "VOICECLONE_BUCKET_NAME": bucket,
            "VOICECLONE_SPEECH_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:1:stateMachine:speech",
            "VOICECLONE_SPEECH_DEADLINE_SECONDS": "60",
            **label_settings(kms),
        }
    )
    services = Services(
        settings=settings, adapter_for=lambda v: fake, overrides={"s3": s3, "sfn": sfn, "kms": kms}
    )
    services.__dict__["store"] = Store(table, ddb)
    yield services, fake, sfn
    FakeAsync.throttle_after = None
    FakeAsync.lose_answer_once = False
    registry.unregister(VENDOR)


TEXT = "第一句话说完了。第二句话也说完了。第三句话还在说呢。"  # 3 pieces of at most 10 characters


def test_a_speech_runs_submit_poll_finish_and_counts_once(
    svc: tuple[Services, FakeAsync, StartRecorder],
) -> None:
    services, fake, sfn = svc
    voice = make_voice(services, vendor=VENDOR)
    # When the API takes the request: RUNNING, nothing spoken yet, the workflow started with the pieces
    view, audio = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text=TEXT))
    assert (view.status.value, view.audio_url, audio) == ("RUNNING", "", b"")
    (start,) = sfn.started
    inp = SpeechInput.model_validate(json.loads(start["input"])["speech"])
    assert start["name"] == view.speech_id and "".join(inp.pieces) == TEXT and len(inp.pieces) == 3
    # And a submit throttled after one piece is retried without starting that piece again
    FakeAsync.throttle_after = 1
    with pytest.raises(VendorThrottled):
        speech_workflow.submit(services, inp)
    progress = speech_workflow.submit(services, inp)
    assert fake.started == inp.pieces and progress.jobs == ["job-1", "job-2", "job-3"]
    # And a create whose answer was lost is found again on the retry, not made twice
    view_b, _ = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="另一句话。"))
    inp_b = SpeechInput.model_validate(json.loads(sfn.started[1]["input"])["speech"])
    FakeAsync.lose_answer_once = True
    with pytest.raises(VendorUnavailable):
        speech_workflow.submit(services, inp_b)
    assert services.store.speech.get(view_b.speech_id, "t1").vendor_jobs == [speech_workflow.STARTING]
    assert speech_workflow.submit(services, inp_b).jobs == ["job-4"] and len(fake.started) == 4
    assert services.store.speech.get(view.speech_id, "t1").vendor_jobs == progress.jobs
    # When one job is done: still running, the wait grows from the vendor's pace
    fake.finish("job-2", state=SynthesisState.SUCCEEDED, audio_url="https://files/2.wav")
    polled = speech_workflow.poll(services, inp, progress)
    assert polled.poll.state.value == "RUNNING" and polled.audio_urls == ["", "https://files/2.wav", ""]
    assert polled.poll.wait_seconds > progress.poll.wait_seconds == 2
    # When all are done: SUCCEEDED, then finish stores one file and counts the characters once
    for job_id in ("job-1", "job-3"):
        fake.finish(job_id, state=SynthesisState.SUCCEEDED, audio_url=f"https://files/{job_id}.wav")
    polled = speech_workflow.poll(services, inp, polled)
    assert polled.poll.state.value == "SUCCEEDED"
    assert finish(services, inp, polled) == {"status": "SUCCEEDED"}
    done = speech.get_speech(services, "t1", view.speech_id)
    assert done.status.value == "SUCCEEDED" and done.audio_url and done.vendor_calls == 3
    # (the audible label at its start included)
    assert done.duration_seconds == pytest.approx(len("".join(inp.pieces)) * 0.05 + LABEL_SECONDS, abs=0.01)
    assert done.vendor_request_id == "job-1,job-2,job-3"
    assert finish(services, inp, polled) == {"status": "SUCCEEDED"}  # a retry: no-op
    from datetime import date

    (used,) = usage.usage(services, "t1", None, None, date.today()).vendors
    assert (used.characters, used.speech_requests) == (len(TEXT), 1)


def test_a_failed_job_or_the_deadline_ends_the_speech_failed_never_running(
    svc: tuple[Services, FakeAsync, StartRecorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, fake, sfn = svc
    voice = make_voice(services, vendor=VENDOR)
    view, _ = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好。"))
    inp = SpeechInput.model_validate(json.loads(sfn.started[0]["input"])["speech"])
    progress = speech_workflow.submit(services, inp)
    # When the vendor fails the job: its code and message are raised, and MarkSpeechFailed keeps them
    fake.finish("job-1", state=SynthesisState.FAILED, error_code="E42", error_message="bad text")
    with pytest.raises(VendorRejected) as caught:
        speech_workflow.poll(services, inp, progress)
    # (the Cause as Step Functions hands a Lambda error to the catch)
    cause = json.dumps({"errorType": "VendorRejected", "errorMessage": str(caught.value)})
    error = {"Error": "VendorRejected", "Cause": cause}
    speech_workflow.mark_failed(services, inp, error)
    failed = speech.get_speech(services, "t1", view.speech_id)
    assert failed.status.value == "FAILED" and failed.audio_url == ""
    assert failed.error is not None and (failed.error.code, failed.error.message) == ("E42", "bad text")
    # And a speech past the deadline is timed out (then failed the same way)
    view2, _ = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="再见。"))
    inp2 = SpeechInput.model_validate(json.loads(sfn.started[1]["input"])["speech"])
    progress2 = speech_workflow.submit(services, inp2)
    monkeypatch.setattr(polling, "now", lambda: progress2.poll.started_at + 61)
    with pytest.raises(speech_workflow.SpeechTimedOut, match="within 60 s"):
        speech_workflow.poll(services, inp2, progress2)
    # And a workflow that cannot start leaves the speech FAILED, not RUNNING
    sfn.fail = True
    with pytest.raises(RuntimeError):
        speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="三。"))
    listed = services.store.speech.list("t1", voice.voice_id, 10, None)[0]
    assert [s.status.value for s in listed if s.speech_id not in (view.speech_id, view2.speech_id)] == [
        "FAILED"
    ]


class TokenRecorder(StartRecorder):
    """Step Functions' task-token answers; a token in ``expired`` is one the execution no longer waits on."""

    def __init__(self) -> None:
        super().__init__()
        self.woken: list[str] = []
        self.expired: set[str] = set()

    def send_task_success(self, taskToken: str, output: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        if taskToken in self.expired:
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "gone"}}, "SendTaskSuccess")
        self.woken.append(taskToken)
        return {}


def test_a_speech_callback_is_checked_confirmed_at_the_vendor_and_wakes_the_wait_once(
    svc: tuple[Services, FakeAsync, StartRecorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    from voiceclone.logic.speech import callbacks as speech_callbacks

    services, fake, _ = svc
    sfn = TokenRecorder()
    services.__dict__["sfn"] = sfn
    monkeypatch.setattr(
        FakeAsync, "parse_synthesis_callback", lambda self, body: json.loads(body)["job_id"], raising=False
    )
    voice = make_voice(services, vendor=VENDOR)
    view, _ = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好。"))
    inp = SpeechInput.model_validate(json.loads(sfn.started[0]["input"])["speech"])
    speech_workflow.submit(services, inp)
    token = services.store.speech.get(view.speech_id, "t1").callback_token
    assert token

    def call(job_id: str, with_token: str | None = token) -> tuple[int, str | None]:
        body = json.dumps({"job_id": job_id}).encode()
        answer = tasks.handle(
            services, speech_callbacks.SPEECH_CALLBACKS, VENDOR, view.speech_id, with_token, body
        )
        return answer.status_code, answer.error

    def stored() -> Any:
        return services.store.speech.get(view.speech_id, "t1")

    # A wrong or missing token, another job's id, a job still running: refused or deferred, nothing woken
    assert call("job-1", "not-the-token") == (401, "InvalidCallbackToken")
    assert call("job-1", None) == (401, "InvalidCallbackToken")
    assert call("job-99") == (409, "OtherJob")
    assert call("job-1") == (202, None)  # the vendor says it still runs: the body is only a hint
    assert not sfn.woken and not stored().callback_pending
    # A callback that comes before the workflow waits is remembered, and the wait then ends at once
    fake.finish("job-1", state=SynthesisState.SUCCEEDED, audio_url="https://files/1.wav")
    assert call("job-1") == (200, None) and stored().callback_pending and not sfn.woken
    assert speech_workflow.await_callback(services, inp, "token-a") == {"parked": False}
    assert sfn.woken == ["token-a"] and not stored().callback_pending
    # A callback while the workflow waits hands its token back once: a repeat wakes nothing more
    assert speech_workflow.await_callback(services, inp, "token-b") == {"parked": True}
    assert call("job-1") == (200, None) and sfn.woken == ["token-a", "token-b"]
    assert stored().task_token is None
    # A token the execution stopped waiting on (it timed out to the poll) is no error
    assert speech_workflow.await_callback(services, inp, "token-c") == {"parked": True}
    sfn.expired.add("token-c")
    assert call("job-1") == (200, None) and sfn.woken == ["token-a", "token-b"]
