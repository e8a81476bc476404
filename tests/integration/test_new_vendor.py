"""Adding a vendor is its adapter, one registry line, its sandbox, its tests and its docs page: shown here.

This module is all a sixth vendor needs to clone a voice and speak with it through the local
stack: a small polled vendor ("fakevoice": its own JSON API, an API key, one assembled file by
URL, our own sentence check, speech in one call) as an adapter and a sandbox, registered at run
time with ``registry.register`` instead of the one line in ``VENDORS``. Nothing else is edited:
infra derives the vendor's secret, its alarm and its dashboard widgets from the registry, the
local stack finds the sandbox by its ``vendor_id`` and puts the sandbox's key in the vendor's
secret, the API, the workflow and the CLI client take the vendor by name, and ``make tables``
(voiceclone_local.vendor_tables) writes its rows from what the adapter and the sandbox declare.

The clone runs in a child process: moto's backends are per process, and the session's
stack (tests/integration/conftest.py) may be running in this one.
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import os
import uuid
import wave
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Unpack
from urllib.parse import quote

import pytest
from pydantic import Field
from voiceclone.domain.models import VendorVoice
from voiceclone.vendors import registry
from voiceclone.vendors.base import (
    AudioSource,
    Capabilities,
    Connection,
    TrainingRequest,
    TrainingStatus,
    VendorAdapter,
    state_table,
)
from voiceclone.vendors.config import env_name
from voiceclone.vendors.errors import ErrorRules, codes
from voiceclone.vendors.http import NOT_THE_API, Envelope, NotTheApi, Reply
from voiceclone.vendors.speech import SynthesisRequest, SynthesisResult
from voiceclone_local import vendor_tables
from voiceclone_local.sandboxes.audio import audio_problem, fetch_audio, speak, voice_sample
from voiceclone_local.sandboxes.base import CheckedCredential, Refusal, Route, SandboxBase
from voiceclone_local.sandboxes.knobs import Fault, SandboxConfig, env_or
from voiceclone_local.sandboxes.server import (
    SandboxApiError,
    SandboxRequest,
    SandboxResponse,
    json_object,
    json_response,
)
from voiceclone_local.sandboxes.training import state_map
from werkzeug.routing import Map, Rule

from tests.helpers import SPEAKER, run_child, upload_recordings

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "tencent_vrs"
VENDOR = "fakevoice"
CLONES = "/v1/clones"
SPEECH = "/v1/speech"
# The vendor takes 8-60 s of audio in one file.
MIN_SECONDS, MAX_SECONDS = 8.0, 60.0
SENTENCE = "你好，欢迎使用语音克隆服务。"
# Made per process, so the functions can only have it from the vendor's secret.
SANDBOX_KEY = f"fakevoice-{uuid.uuid4().hex}"


# ----- the adapter (functions/voiceclone/vendors/fakevoice.py) ---------------------------------------


class FakeVoiceEnvelope(Envelope):
    """``{"data": ...}`` on success, ``{"error": {"code", "message"}}`` on failure."""

    rules = ErrorRules(
        codes={**codes("auth", "BadKey"), **codes("throttled", "SlowDown"), **codes("unavailable", "Busy")}
    )
    request_id_headers = ("X-Fake-Request",)

    def error(self, reply: Reply) -> tuple[str, str] | None:
        error = reply.json_object.get("error")
        if isinstance(error, dict):
            return str(error.get("code") or ""), str(error.get("message") or "")
        return None

    def payload(self, reply: Reply) -> Any:
        if "data" not in reply.json_object:
            raise NotTheApi(NOT_THE_API)
        return reply.json_object["data"]


class FakeVoiceAdapter(VendorAdapter):
    vendor_id = VENDOR
    default_endpoint = "https://api.fakevoice.invalid"
    credential_fields = ("api_key",)
    capabilities = Capabilities(
        audio_transport="url",
        sentence_count=5,
        joined_seconds=(MIN_SECONDS, MAX_SECONDS),
        poll_initial_seconds=1,
        poll_max_seconds=2,
        speech="sync",
        speech_formats=("wav",),
        speech_sample_rates=(16000,),
        speech_text_limit=200,
        speech_speeds=(1.0, 1.0),
    )
    envelope = FakeVoiceEnvelope()
    training_states = state_table(
        pending=("queued",), running=("training",), succeeded=("ready",), failed=("broken",)
    )

    def __init__(self, endpoint: str, api_key: str, **connection: Unpack[Connection]) -> None:
        super().__init__(endpoint, **connection)
        self._headers = {"X-Fake-Key": api_key}

    def create_task(self, request: TrainingRequest, audio: AudioSource) -> str:
        body = {"name": request.voice_name, "audio_url": audio.assembled_url(), "session": request.session_id}
        data = self._http.call("POST", CLONES, json_body=body, headers=self._headers)
        return str(data["clone_id"])

    def get_status(self, task_id: str) -> TrainingStatus:
        data = self._http.call("GET", f"{CLONES}/{quote(task_id, safe='')}", headers=self._headers)
        voice_id = data.get("voice_id")
        return self.status_of(
            task_id,
            data.get("state"),
            voice=self.voice(str(voice_id), clone_id=task_id) if voice_id else None,
            error_message=str(data.get("reason") or ""),
        )

    def synthesize(self, voice: VendorVoice, request: SynthesisRequest) -> SynthesisResult:
        body = {"voice_id": voice.voice_id, "text": request.text, "sample_rate": request.sample_rate}
        data = self._http.call("POST", SPEECH, json_body=body, headers=self._headers)
        audio = base64.b64decode(str(data["audio"]))
        return SynthesisResult(audio=audio, format=request.format, sample_rate=request.sample_rate)


# ----- the sandbox (local/voiceclone_local/sandboxes/fakevoice.py) -----------------------------------

_STATES = state_map("queued", "training", "ready", "broken")


def _bad_request(message: str) -> SandboxApiError:
    return SandboxApiError(400, "BadRequest", message)


class FakeVoiceSandboxConfig(SandboxConfig):
    api_key: str = Field(default_factory=env_or(VENDOR, "api_key", SANDBOX_KEY), repr=False)


class FakeVoiceSandbox(SandboxBase):
    vendor_id: ClassVar[str] = VENDOR
    config_class: ClassVar[type[SandboxConfig]] = FakeVoiceSandboxConfig
    routes: ClassVar[Map] = Map(
        [
            Rule(CLONES, methods=["POST"], endpoint="create"),
            Rule(CLONES + "/<clone_id>", methods=["GET"], endpoint="status"),
            Rule(SPEECH, methods=["POST"], endpoint="speech"),
        ]
    )
    fault_answers: ClassVar[Mapping[str, Mapping[Fault, Refusal]]] = {
        "": {
            Fault.THROTTLE: Refusal(429, "SlowDown", "too many requests"),
            Fault.INTERNAL: Refusal(500, "Busy", "internal error"),
            Fault.UNAVAILABLE: Refusal(503, "Busy", "try again later"),
        }
    }
    checked_credential: ClassVar[CheckedCredential | None] = CheckedCredential("api_key", "BadKey")
    config: FakeVoiceSandboxConfig

    def _init_state(self) -> None:
        self.keys_seen: list[str] = []
        # What each trained voice speaks from: its recording's voiced frames, by voice id.
        self.samples: dict[str, bytes] = {}
        self.spoken: list[str] = []

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.config.api_key}

    def authenticate(self, request: SandboxRequest, route: Route) -> None:
        key = request.headers.get("x-fake-key", "")
        with self._lock:
            self.keys_seen.append(key)
        if not hmac.compare_digest(key.encode(), self.config.api_key.encode()):
            raise SandboxApiError(401, "BadKey", "unknown API key")

    def envelope(self, request: SandboxRequest, route: Route, result: Any) -> SandboxResponse:
        return json_response(200, {"data": result}, {"X-Fake-Request": uuid.uuid4().hex})

    def error_envelope(
        self, request: SandboxRequest, route: Route | None, error: SandboxApiError
    ) -> SandboxResponse:
        body = {"error": {"code": error.code, "message": error.message}}
        return json_response(error.status, body, {"X-Fake-Request": uuid.uuid4().hex})

    def create(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        """Download the audio, check it for real, and train (a bad file fails the training, with why)."""
        body = json_object(request.body, _bad_request, empty=False)
        name, url = body.get("name"), body.get("audio_url")
        if not isinstance(name, str) or not name or not isinstance(url, str):
            raise _bad_request("name and audio_url are required strings")
        try:
            audio = fetch_audio(url)
        except ValueError as exc:
            raise _bad_request(str(exc)) from exc
        task = self._trainer.create(name=name)
        problem = audio_problem(audio, min_seconds=MIN_SECONDS, max_seconds=MAX_SECONDS)
        if problem:
            task.failure = problem
        else:
            with self._lock:
                self.samples[_voice_id(task.task_id)] = voice_sample(audio)
        return {"clone_id": task.task_id}

    def status(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        task = self._trainer.tasks.get(route.args["clone_id"])
        if task is None:
            raise SandboxApiError(404, "NoSuchClone", "no such clone")
        state = _STATES[task.state()]
        answer: dict[str, Any] = {"clone_id": task.task_id, "state": state}
        if state == "ready":
            answer["voice_id"] = _voice_id(task.task_id)
        if state == "broken":
            answer["reason"] = task.failure
        return answer

    def speech(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        """A trained voice reads the text: a 16 kHz WAV made from its own recording, in base64."""
        body = json_object(request.body, _bad_request, empty=False)
        text, voice_id = body.get("text"), body.get("voice_id")
        if not isinstance(text, str) or not text or body.get("sample_rate") != 16000:
            raise _bad_request("text (a non-empty string) and sample_rate 16000 are required")
        with self._lock:
            sample = self.samples.get(str(voice_id))
            if sample is not None:
                self.spoken.append(text)
        if sample is None:
            raise SandboxApiError(404, "NoSuchVoice", f"no trained voice {voice_id}")
        audio = speak(sample, text, fmt="wav", sample_rate=16000)
        return {"audio": base64.b64encode(audio).decode("ascii")}


def _voice_id(clone_id: str) -> str:
    return f"fv-{clone_id[:12]}"


# ----- the clone, in a child process -------------------------------------------------------------------


def _child() -> None:
    """Register the vendor, start a fresh local stack, clone once with it; print what was seen as JSON."""
    from voiceclone.handlers.steps import job_vendor
    from voiceclone_cli.client import VoicecloneClient
    from voiceclone_local.stack import LocalStack

    from tests.helpers import print_result, wait_for
    from tests.integration.conftest import TEST_CONTEXT

    # Steps that had to read the job to learn its vendor (the workflow passes it to each).
    reads: list[str] = []

    def counting_job_vendor(job_id: str) -> Any:
        reads.append(job_id)
        return job_vendor(job_id)

    pytest.MonkeyPatch().setattr("voiceclone.handlers.steps.job_vendor", counting_job_vendor)

    registry.register(VENDOR, FakeVoiceAdapter)
    try:
        with LocalStack(context=TEST_CONTEXT, quiet=True) as stack:
            sandbox: FakeVoiceSandbox = stack.sandboxes[VENDOR]
            # The vendor throttles the first two calls: its own error rules make them retryable.
            sandbox.config.throttle_first = 2
            client = VoicecloneClient(stack.api_url, api_key=stack.api_key)
            info = client.vendor_info(VENDOR)
            job = client.create_job(VENDOR, "fake-voice", "female", SPEAKER)
            upload_recordings(client, job, SAMPLES)
            final = wait_for(
                lambda: (
                    (j := client.get_job(job["job_id"]))["status"] in ("SUCCEEDED", "FAILED", "CHECK_FAILED")
                    and j
                ),
                timeout=240,
                what="the fakevoice job",
            )
            # ...then the new voice speaks, through the API, the vendor's adapter and its sandbox
            speech: dict[str, Any] = {}
            if final["status"] == "SUCCEEDED":
                speech = client.speak(final["voice_id"], SENTENCE)
                speech["wav"] = wav_facts(client.download(speech["audio_url"]))
            secret = stack.client("secretsmanager").get_secret_value(SecretId=f"voiceclone/{VENDOR}")
            resources = stack.template.get("Resources", {})
            result = {
                "texts": len(info["texts"]),
                "job": final,
                "voices": client.list_voices(vendor=VENDOR)["items"],
                "execution": stack.execution_status(job["job_id"]),
                "secret": json.loads(secret["SecretString"]),
                "key": sandbox.config.api_key,
                "keys_seen": sorted(set(sandbox.keys_seen)),
                "tasks_created": sandbox.tasks_created,
                "throttles_left": sandbox.config.throttle_first,
                "key_variable": os.environ.get(env_name(VENDOR, "api_key")),
                "secrets": sorted(
                    r["Properties"]["Name"]
                    for r in resources.values()
                    if r["Type"] == "AWS::SecretsManager::Secret"
                ),
                "alarms": [
                    r["Properties"]
                    for r in resources.values()
                    if r["Type"] == "AWS::CloudWatch::Alarm" and VENDOR in json.dumps(r["Properties"])
                ],
                "widgets": vendor_widgets(resources),
                "speech": speech,
                "spoken": sandbox.spoken,
                "reads": len(reads),
            }
    finally:
        registry.unregister(VENDOR)
    print_result(result)


def vendor_widgets(resources: dict[str, Any]) -> list[str]:
    """The titles of the dashboard's widgets that chart a metric of the vendor (its dimension)."""
    (dashboard,) = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = dashboard["Properties"]["DashboardBody"]
    # The body is JSON joined with references (the region, the alarms' ARNs), each inside a string.
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    widgets = json.loads("".join(p if isinstance(p, str) else "ref" for p in parts))["widgets"]
    return [
        w["properties"]["title"]
        for w in widgets
        if any(metric[4:6] == ["vendor", VENDOR] for metric in w["properties"].get("metrics", []))
    ]


def wav_facts(audio: bytes) -> dict[str, Any]:
    with wave.open(io.BytesIO(audio)) as w:
        return {
            "channels": w.getnchannels(),
            "rate": w.getframerate(),
            "seconds": w.getnframes() / w.getframerate(),
        }


def test_a_vendor_defined_in_one_test_clones_a_voice_and_speaks_through_the_local_stack() -> None:
    # Given a sixth vendor whose adapter and sandbox live in this file, and nothing else edited
    # When it is registered, a fresh local stack starts, a client clones a voice with it and the voice speaks
    seen, lines = run_child("tests.integration.test_new_vendor")

    # Then the job succeeded through the one state machine, with the vendor's own sentence count
    assert seen["texts"] == 5
    job = seen["job"]
    assert job["status"] == "SUCCEEDED", job
    assert seen["execution"] == "SUCCEEDED"
    # And the voice is recorded, with the id the vendor gave it
    assert job["voice"]["vendor_voice_id"].startswith("fv-")
    assert [v["vendor_voice_id"] for v in seen["voices"]] == [job["voice"]["vendor_voice_id"]]
    # And one training was created, after the vendor's throttling (its "SlowDown" rule) was waited out
    assert seen["tasks_created"] == 1 and seen["throttles_left"] == 0
    # And the functions had the vendor's key from its Secrets Manager secret (no variable holds it)
    assert seen["key_variable"] is None
    assert seen["secret"] == {"api_key": seen["key"]}
    assert seen["keys_seen"] == [seen["key"]]
    # And the synthesized template has the vendor's secret, its failed-jobs alarm and its dashboard widgets
    assert f"voiceclone/{VENDOR}" in seen["secrets"]
    assert len(seen["alarms"]) == 1 and "JobFailed" in json.dumps(seen["alarms"][0])
    assert set(seen["widgets"]) >= {
        f"Job outcomes: {VENDOR}",
        "Jobs failed, by vendor",
        "Jobs succeeded, by vendor",
        "Speech outcomes, by vendor",
    }
    # And the voice spoke: the sentence went to the vendor, and its audio came back as a 16 kHz WAV
    speech = seen["speech"]
    assert speech["status"] == "SUCCEEDED" and speech["vendor"] == VENDOR, speech
    assert seen["spoken"] == [SENTENCE]
    assert speech["wav"]["channels"] == 1 and speech["wav"]["rate"] == 16000
    assert speech["wav"]["seconds"] == pytest.approx(speech["duration_seconds"], abs=0.05)
    assert speech["wav"]["seconds"] > 1.0
    # And no workflow step read the job to learn its vendor: the state machine passed it
    assert seen["reads"] == 0
    # And the workflow steps' logs carry the vendor key
    logs = [json.loads(line) for line in lines if line.startswith("{")]
    step_logs = [log for log in logs if log.get("correlation_id") == job["job_id"]]
    assert step_logs, "no workflow step logged for the job"
    assert {log.get("vendor") for log in step_logs} == {VENDOR}


def test_registering_and_unregistering_a_vendor_leaves_the_registry_as_it_was() -> None:
    before = registry.vendor_ids()
    registry.register(VENDOR, FakeVoiceAdapter)
    try:
        assert registry.vendor_ids() == (*before, VENDOR)
        assert registry.adapter_class(VENDOR) is FakeVoiceAdapter
        assert SandboxBase.for_vendor(VENDOR) is FakeVoiceSandbox
    finally:
        registry.unregister(VENDOR)
    assert registry.vendor_ids() == before
    with pytest.raises(Exception, match="unknown vendor"):
        registry.adapter_class(VENDOR)


def test_the_registered_vendor_gets_a_row_in_every_generated_table() -> None:
    # Given the committed docs, whose tables say what the declarations say now
    assert vendor_tables.stale() == {}
    # When the sixth vendor is registered (its adapter and sandbox declared in this file)
    registry.register(VENDOR, FakeVoiceAdapter)
    try:
        # Then every file with tables is stale until `make tables` writes them again
        regenerated = vendor_tables.stale()
        assert sorted(regenerated) == vendor_tables.documents()
        # ...and, written again, each of its tables has the vendor's row, as its adapter and sandbox declare
        rows = {}
        for text in regenerated.values():
            for name, table in vendor_tables.tables_in(text).items():
                found = [line for line in table.splitlines() if line.startswith(f"| `{VENDOR}` |")]
                assert len(found) == 1, (name, table)
                rows[name] = found[0]
    finally:
        registry.unregister(VENDOR)
    assert "5, joined into one file of 8 s to 1 min" in rows["training"]
    assert "| sync: one call, 201 with the audio | wav | 16000 | 200 characters |" in rows["speech"]
    assert f"`{env_name(VENDOR, 'api_key')}`" in rows["settings"]
    assert (
        "`API_KEY`: `BadKey` | `SlowDown` (HTTP 429) | `Busy` (HTTP 500) | `Busy` (HTTP 503) |"
        in rows["sandboxes"]
    )
    # And without it the docs are up to date again
    assert vendor_tables.stale() == {}
