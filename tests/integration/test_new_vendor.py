"""Adding a vendor is its adapter, one registry line, its sandbox, its tests and its docs page: shown here.

This module is all a sixth vendor needs to clone a voice through the local stack: a small
polled vendor ("fakevoice": its own JSON API, an API key, one assembled file by URL, our own
sentence check) as an adapter and a sandbox, registered at run time with
``registry.register`` instead of the one line in ``VENDORS``. Nothing else is edited:
infra derives the vendor's secret and alarm from the registry, the local stack finds the
sandbox by its ``vendor_id`` and puts the sandbox's key in the vendor's secret, and the
API, the workflow and the CLI client take the vendor by name.

The clone runs in a child process: moto's backends are per process, and the session's
stack (tests/integration/conftest.py) may be running in this one.
"""

from __future__ import annotations

import hmac
import json
import os
import uuid
from pathlib import Path
from typing import Any, ClassVar, Unpack
from urllib.parse import quote

import pytest
from pydantic import Field
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
from voiceclone_local.sandboxes.audio import audio_problem, fetch_audio
from voiceclone_local.sandboxes.base import Route, SandboxBase
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
# The vendor takes 8-60 s of audio in one file.
MIN_SECONDS, MAX_SECONDS = 8.0, 60.0
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


# ----- the sandbox (local/voiceclone_local/sandboxes/fakevoice.py) -----------------------------------

_STATES = state_map("queued", "training", "ready", "broken")
_FAULTS = {
    Fault.THROTTLE: (429, "SlowDown", "too many requests"),
    Fault.INTERNAL: (500, "Busy", "internal error"),
    Fault.UNAVAILABLE: (503, "Busy", "try again later"),
}


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
        ]
    )
    config: FakeVoiceSandboxConfig

    def _init_state(self) -> None:
        self.keys_seen: list[str] = []

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.config.api_key}

    def authenticate(self, request: SandboxRequest, route: Route) -> None:
        key = request.headers.get("x-fake-key", "")
        with self._lock:
            self.keys_seen.append(key)
        if not hmac.compare_digest(key.encode(), self.config.api_key.encode()):
            raise SandboxApiError(401, "BadKey", "unknown API key")

    def fault_error(self, fault: Fault, route: Route) -> SandboxApiError:
        return SandboxApiError(*_FAULTS[fault])

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
        return {"clone_id": task.task_id}

    def status(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        task = self._trainer.tasks.get(route.args["clone_id"])
        if task is None:
            raise SandboxApiError(404, "NoSuchClone", "no such clone")
        state = _STATES[task.state()]
        answer: dict[str, Any] = {"clone_id": task.task_id, "state": state}
        if state == "ready":
            answer["voice_id"] = f"fv-{task.task_id[:12]}"
        if state == "broken":
            answer["reason"] = task.failure
        return answer


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
                "reads": len(reads),
            }
    finally:
        registry.unregister(VENDOR)
    print_result(result)


def test_a_vendor_defined_in_one_test_clones_a_voice_through_the_local_stack() -> None:
    # Given a sixth vendor whose adapter and sandbox live in this file, and nothing else edited
    # When it is registered, a fresh local stack starts and a client clones a voice with it
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
    # And the synthesized template has the vendor's secret and its failed-jobs alarm
    assert f"voiceclone/{VENDOR}" in seen["secrets"]
    assert len(seen["alarms"]) == 1 and "JobFailed" in json.dumps(seen["alarms"][0])
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
