"""Acceptance: speech with the asynchronous vendors on the local stack (Tencent gateway, Huawei).

POST /v1/voices/{id}/speech answers 202 with the speech RUNNING; the speech workflow (a second state
machine) makes it through the vendor's jobs and the test polls GET /v1/speech/{id} until it ends.
One voice per vendor is cloned for the module on the session's stack; the sandboxes finish their
synthesis jobs after half a second. Also here: a synchronous vendor's throttling surfaces as a 503.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from voiceclone.logic.notifications.webhooks import verify
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LocalStack

from tests.helpers import http, wait_for
from tests.integration.test_speech import SENTENCE, assert_unreadable_refused, clone, speak, wav_of
from tests.unit.text_strategies import unreadable_texts

ASYNC = ("tencent_gateway", "huawei")
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "events.schema.json").read_text())


@dataclass
class Receiver:
    """A webhook receiver that takes every POST (200) and keeps it."""

    bodies: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def of_speech(self, speech_id: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
        with self.lock:
            found = [(h, json.loads(b)) for h, b in self.bodies]
        return [(h, b) for h, b in found if b.get("speech_id") == speech_id]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with rec.lock:
                rec.bodies.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield rec
    server.shutdown()
    server.server_close()


@dataclass
class Tap:
    """The speech events on the stack's bus, copied by a test rule to a queue."""

    sqs: Any
    queue_url: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    def of_speech(self, speech_id: str) -> list[dict[str, Any]]:
        while messages := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for m in messages:
                self.seen.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return [e for e in self.seen if e["detail"].get("speech_id") == speech_id]


@pytest.fixture(scope="module")
def tap(stack: LocalStack) -> Tap:
    assert stack.events is not None
    (bus,) = stack.events.bus_names.values()
    sqs, events = stack.client("sqs"), stack.client("events")
    url = sqs.create_queue(QueueName="test-speech-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["voiceclone"], "detail-type": ["Speech Succeeded", "Speech Failed"]}
    events.put_rule(Name="test-speech-tap", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="test-speech-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
    return Tap(sqs, url)


@pytest.fixture(scope="module")
def api_key(stack: LocalStack) -> str:
    return stack.issue_api_key(f"async-speech-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def tenant(stack: LocalStack, api_key: str) -> tuple[VoicecloneClient, httpx.Client]:
    return VoicecloneClient(stack.api_url, api_key=api_key), http(stack, api_key)


@pytest.fixture(scope="module")
def voices(tenant: tuple[VoicecloneClient, httpx.Client]) -> dict[str, str]:
    client, _ = tenant
    return {vendor: clone(client, vendor)["voice_id"] for vendor in (*ASYNC, "tencent_vrs")}


@pytest.fixture
def sandboxes(stack: LocalStack) -> Iterator[dict[str, Any]]:
    """The async sandboxes (and Tencent VRS), their configuration restored after each test."""
    saved = {v: stack.sandboxes[v].config.model_copy() for v in (*ASYNC, "tencent_vrs")}
    yield stack.sandboxes
    for vendor, config in saved.items():
        stack.sandboxes[vendor].config = config


def finished(api: httpx.Client, url: str, speech_id: str) -> dict[str, Any]:
    """GET /v1/speech/{id} until it is no longer RUNNING."""

    def done() -> dict[str, Any] | None:
        view: dict[str, Any] = api.get(f"{url}/v1/speech/{speech_id}").json()
        return view if view["status"] != "RUNNING" else None

    return wait_for(done, timeout=60, what=f"speech {speech_id}")


def started(api: httpx.Client, url: str, voice_id: str, **body: Any) -> dict[str, Any]:
    """POST speech for an async vendor: 202, RUNNING, no audio yet, the Location to poll."""
    made = speak(api, url, voice_id, **body)
    assert made.status_code == 202, made.text
    view: dict[str, Any] = made.json()
    assert view["status"] == "RUNNING" and view["audio_url"] == "" and view["error"] is None
    assert made.headers["location"] == f"/v1/speech/{view['speech_id']}"
    return view


def vendor_texts(vendor: str, requests: list[dict[str, Any]]) -> list[str]:
    """The text of each synthesis job the sandbox was asked for, in its vendor's field."""
    if vendor == "huawei":
        return [str(r["text"]) for r in requests]
    return [str(r["inputs"][0]["sourceData"]) for r in requests]


@pytest.mark.parametrize("vendor", ASYNC)
def test_an_async_vendor_speaks_through_the_workflow_in_the_vendors_own_terms(
    stack: LocalStack,
    tenant: tuple[VoicecloneClient, httpx.Client],
    voices: dict[str, str],
    receiver: Receiver,
    tap: Tap,
    vendor: str,
) -> None:
    client, api = tenant
    url, voice_id, sandbox = stack.api_url, voices[vendor], stack.sandboxes[vendor]
    seen = len(sandbox.tts_requests)
    # When the voice speaks a short text (with a webhook) and a text longer than one vendor job takes
    long_text = "".join(f"这是第{i:03d}句，用来测试异步长文本的拼接。" for i in range(60))
    limit = 512 if vendor == "tencent_gateway" else 1000
    assert len(long_text) > limit
    short = started(api, url, voice_id, text=SENTENCE, notify_url=receiver.url)
    long = started(api, url, voice_id, text=long_text)
    views = [finished(api, url, short["speech_id"]), finished(api, url, long["speech_id"])]
    # Then both SUCCEEDED with a real, non-silent WAV whose length grows with the text
    measured = []
    for view in views:
        assert view["status"] == "SUCCEEDED" and view["error"] is None, view
        rate, seconds, peak = wav_of(client.download(view["audio_url"]))
        assert rate == view["sample_rate"] == 16000
        assert seconds == pytest.approx(view["duration_seconds"], abs=0.05) and peak > 1000
        assert view["vendor_request_id"]  # the vendor's job ids
        measured.append(seconds)
    assert measured[1] > measured[0] * 5
    # And the long text went through several vendor jobs whose texts are, in order, the whole text
    texts = vendor_texts(vendor, sandbox.tts_requests[seen:])
    assert texts[0] == SENTENCE
    assert views[1]["vendor_calls"] == len(texts) - 1 > 1
    assert "".join(texts[1:]) == long_text
    assert all(len(t) <= limit for t in texts)
    # And each request had the vendor's exact shape
    for request in sandbox.tts_requests[seen:]:
        if vendor == "huawei":
            asset = client.get_voice(voice_id)["vendor_voice_id"]
            assert set(request) == {"text", "voice_asset_id", "audio_format", "speed", "callback_config"}
            assert set(request["callback_config"]) == {"callback_url"}
            assert (request["voice_asset_id"], request["audio_format"], request["speed"]) == (
                asset,
                "WAV",
                100,
            )
        else:
            (output,) = request["outputs"]
            assert request["inputs"] == [{"sourceData": request["inputs"][0]["sourceData"]}]
            assert output["contentId"] == "sandbox-repository" and output["inputSelectors"] == [0]
            assert output["destination"].startswith("/voiceclone/")
            cloning = output["smartContentDescriptor"]["voiceCloning"]
            assert cloning == {"type": 1, "modelName": client.get_voice(voice_id)["vendor_voice_id"]}
            assert request["customId"] and len(request["customId"]) < 64
        # And each vendor job was given the speech's callback URL (one secret per speech)
        called = request["callback_config"]["callback_url"] if vendor == "huawei" else request["callback"]
        assert called.startswith(f"{url}/v1/callbacks/{vendor}/sp-") and "?token=" in called
    # And the short one's Speech Succeeded reached the bus and, signed, its webhook
    wait_for(lambda: tap.of_speech(short["speech_id"]) or None, timeout=30, what="Speech Succeeded")
    (event,) = tap.of_speech(short["speech_id"])
    assert event["detail-type"] == "Speech Succeeded"
    assert event["detail"]["status"] == "SUCCEEDED" and event["detail"]["has_webhook"] is True
    jsonschema.validate(event["detail"], SCHEMA)
    wait_for(lambda: receiver.of_speech(short["speech_id"]) or None, timeout=30, what="the webhook")
    ((headers, body),) = receiver.of_speech(short["speech_id"])
    secret = client.webhook_secret()["secret"]
    assert headers["voiceclone-event-type"] == "Speech Succeeded"
    assert body["duration_seconds"] == views[0]["duration_seconds"]
    sent = _sent_body(receiver, short["speech_id"])
    assert verify(secret, sent, headers["voiceclone-timestamp"], headers["voiceclone-signature"])
    # And the characters count in the usage, once each
    usage = {v["vendor"]: v for v in api.get(f"{url}/v1/usage").json()["vendors"]}
    assert usage[vendor]["characters"] >= len(SENTENCE) + len(long_text)


def _sent_body(receiver: Receiver, speech_id: str) -> bytes:
    with receiver.lock:
        return next(b for _, b in receiver.bodies if json.loads(b).get("speech_id") == speech_id)


@pytest.mark.parametrize(
    ("vendor", "code"), [("tencent_gateway", "SynthesisFailed"), ("huawei", "MSS.20030002")]
)
def test_a_failing_vendor_job_ends_the_speech_failed_with_the_vendors_code(
    stack: LocalStack,
    tenant: tuple[VoicecloneClient, httpx.Client],
    voices: dict[str, str],
    sandboxes: dict[str, Any],
    receiver: Receiver,
    tap: Tap,
    vendor: str,
    code: str,
) -> None:
    _, api = tenant
    # Given the vendor fails its synthesis jobs
    sandboxes[vendor].config.fail_speech = "the synthesis engine is overloaded"
    # When the voice speaks (with a webhook)
    view = started(api, stack.api_url, voices[vendor], text=SENTENCE, notify_url=receiver.url)
    final = finished(api, stack.api_url, view["speech_id"])
    # Then the speech is FAILED with the vendor's code and message, and has no audio
    assert final["status"] == "FAILED" and final["audio_url"] == ""
    assert final["error"]["code"] == code
    assert "overloaded" in final["error"]["message"]
    # And Speech Failed reached the bus and the webhook
    wait_for(lambda: tap.of_speech(view["speech_id"]) or None, timeout=30, what="Speech Failed")
    (event,) = tap.of_speech(view["speech_id"])
    assert event["detail-type"] == "Speech Failed" and event["detail"]["error"]["code"] == code
    jsonschema.validate(event["detail"], SCHEMA)
    wait_for(lambda: receiver.of_speech(view["speech_id"]) or None, timeout=30, what="the webhook")
    ((headers, body),) = receiver.of_speech(view["speech_id"])
    assert headers["voiceclone-event-type"] == "Speech Failed" and body["error"]["code"] == code


def test_async_refusals_are_clear_and_create_nothing(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str]
) -> None:
    _, api = tenant
    url, voice_id = stack.api_url, voices["tencent_gateway"]
    before = api.get(f"{url}/v1/voices/{voice_id}/speech", params={"limit": 100}).json()["items"]
    # Audio in the response from a vendor that makes it later: 406, saying to ask for JSON and poll
    direct = api.post(
        f"{url}/v1/voices/{voice_id}/speech", json={"text": SENTENCE}, headers={"Accept": "audio/wav"}
    )
    assert direct.status_code == 406 and direct.json()["error"] == "AudioNotReady"
    assert "application/json" in direct.json()["message"] and "poll" in direct.json()["message"]
    # A speed or a format the gateway cannot make: 422 naming what it can
    slow = speak(api, url, voice_id, text=SENTENCE, speed=1.5)
    assert slow.status_code == 422 and slow.json()["error"] == "UnsupportedSpeed"
    assert speak(api, url, voice_id, text=SENTENCE, format="mp3").status_code == 422
    # Nothing was made
    after = api.get(f"{url}/v1/voices/{voice_id}/speech", params={"limit": 100}).json()["items"]
    assert [s["speech_id"] for s in after] == [s["speech_id"] for s in before]


def test_sync_vendor_throttling_is_retried_then_a_503_with_its_code_and_nothing_made(
    stack: LocalStack,
    tenant: tuple[VoicecloneClient, httpx.Client],
    voices: dict[str, str],
    sandboxes: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from voiceclone.logic.speech import service as speech

    _, api = tenant
    url, voice_id, sandbox = stack.api_url, voices["tencent_vrs"], sandboxes["tencent_vrs"]
    monkeypatch.setattr(speech, "sleep", lambda seconds: None)  # the backoff, in-process
    before = api.get(f"{url}/v1/voices/{voice_id}/speech", params={"limit": 100}).json()["items"]
    usage_before = api.get(f"{url}/v1/usage").json()
    calls_before = len(sandbox.tts_requests)
    # Given Tencent throttles more often than the service retries
    sandbox.config.throttle_first = speech.THROTTLE_ATTEMPTS + 2
    # When the voice speaks
    refused = speak(api, url, voice_id, text=SENTENCE)
    # Then it was tried THROTTLE_ATTEMPTS times, and the caller gets 503 with Tencent's code
    assert refused.status_code == 503, refused.text
    assert (
        refused.json()["error"] == "RequestLimitExceeded"
        and refused.json()["details"]["vendor"] == "tencent_vrs"
    )
    assert sandbox.config.throttle_first == 2
    assert len(sandbox.tts_requests) == calls_before  # refused before the sandbox took any text
    # And no speech was made or counted
    after = api.get(f"{url}/v1/voices/{voice_id}/speech", params={"limit": 100}).json()["items"]
    assert [s["speech_id"] for s in after] == [s["speech_id"] for s in before]
    assert api.get(f"{url}/v1/usage").json() == usage_before
    # And once Tencent takes calls again, the same request speaks
    sandbox.config.throttle_first = 0
    assert speak(api, url, voice_id, text=SENTENCE).status_code == 201


def _await_events(stack: LocalStack, speech_id: str) -> list[dict[str, Any]]:
    """The speech execution's history."""
    return stack.execution_history(speech_id, stack.speech_state_machine_arn)


@pytest.mark.parametrize("vendor", ASYNC)
def test_an_async_vendors_callback_wakes_the_speech_workflow_and_a_forged_one_changes_nothing(
    stack: LocalStack,
    tenant: tuple[VoicecloneClient, httpx.Client],
    voices: dict[str, str],
    sandboxes: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    vendor: str,
) -> None:
    import time

    from voiceclone.domain.polling import PollState
    from voiceclone.logic.speech import steps as speech_workflow

    _, api = tenant
    url, sandbox = stack.api_url, sandboxes[vendor]
    # Given the poll would wait 120 s (only a callback can end the wait in time), and the vendor's
    # job held running until the forged callbacks are answered
    monkeypatch.setattr(speech_workflow, "_first_poll", lambda svc, v: PollState.start(120, 120, time.time()))
    seen = len(sandbox.tts_requests)
    with sandbox.hold_tasks():
        view = started(api, url, voices[vendor], text=SENTENCE)
        speech_id = view["speech_id"]
        wait_for(lambda: len(sandbox.tts_requests) > seen or None, timeout=20, what="the vendor job")
        request = sandbox.tts_requests[seen]
        called = request["callback_config"]["callback_url"] if vendor == "huawei" else request["callback"]
        assert called.startswith(f"{url}/v1/callbacks/{vendor}/{speech_id}?token=")
        # When a forger calls back while the job runs, with a wrong token (and with none)
        body = {"status": "FINISHED", "job_id": "x"} if vendor == "huawei" else {"id": "x", "state": 3}
        forged = httpx.post(f"{url}/v1/callbacks/{vendor}/{speech_id}?token=forged", json=body, timeout=10)
        bare = httpx.post(f"{url}/v1/callbacks/{vendor}/{speech_id}", json=body, timeout=10)
        # Then each gets 401 and nothing changed: the speech still RUNNING as it was
        assert forged.status_code == bare.status_code == 401, forged.text
        assert forged.json()["error"] == "InvalidCallbackToken"
        now = api.get(f"{url}/v1/speech/{speech_id}").json()
        assert now["status"] == "RUNNING" and now["audio_url"] == ""
    # And once the vendor's own callback comes, the speech finishes without waiting out the 120 s
    # (the history below shows the await ended by the callback's task success, not by the wait)
    final = finished(api, url, speech_id)
    assert final["status"] == "SUCCEEDED", final
    callbacks = sandbox.tts_callbacks if vendor == "huawei" else sandbox.callbacks
    assert any(status == 200 for _, status in callbacks)
    # And the history shows the await left by the callback (a task success), never by its timeout
    events = _await_events(stack, speech_id)
    kinds = [e["type"] for e in events]
    assert "TaskTimedOut" not in kinds
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered.count("AwaitSpeechCallback") == 1 and "PollSpeech" in entered
    exited = [
        json.loads(e["stateExitedEventDetails"]["output"])
        for e in events
        if e["type"].endswith("StateExited") and e["stateExitedEventDetails"]["name"] == "AwaitSpeechCallback"
    ]
    assert exited and exited[0]["woken"] == {"woken_by": "callback"} and "await_timeout" not in exited[0]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=unreadable_texts())
def test_text_with_nothing_to_read_is_a_422_at_the_async_vendors_and_nothing_is_counted(
    stack: LocalStack, tenant: tuple[VoicecloneClient, httpx.Client], voices: dict[str, str], text: str
) -> None:
    _, api = tenant
    assert_unreadable_refused(stack, api, {v: voices[v] for v in ASYNC}, text)


# ----- the CLI's wait for an asynchronous vendor ---------------------------------------------------


@pytest.fixture
def cli_env(stack: LocalStack, api_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's environment pointed at the local stack, as this module's tenant."""
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", api_key)


def cli_lines(text: str) -> str:
    """The CLI's own lines, without the log lines of the stack's functions (same process, same streams)."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith('{"level":'))


@pytest.mark.parametrize("vendor", ASYNC)
def test_the_cli_speaks_with_an_async_vendor_showing_progress_until_the_audio_is_written(
    voices: dict[str, str],
    sandboxes: dict[str, Any],
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    vendor: str,
) -> None:
    from voiceclone_cli.main import main

    output = tmp_path / "said.wav"
    codes: list[int] = []
    seen: list[str] = []

    def progress_shown() -> bool:
        seen.append(cli_lines(capsys.readouterr().err))
        return "is making it" in "".join(seen)

    # Given the vendor's job held running while the CLI waits for it
    with sandboxes[vendor].hold_tasks():
        speaking = threading.Thread(
            target=lambda: codes.append(main(["speak", voices[vendor], SENTENCE, "-o", str(output)]))
        )
        speaking.start()
        # Then the CLI says the vendor is making it, and has written nothing yet
        wait_for(progress_shown, timeout=60, interval=0.1, what="the CLI's progress line")
        assert speaking.is_alive() and not output.exists()
    # When the vendor's job ends, the CLI writes the audio and says what it made
    speaking.join(timeout=120)
    assert not speaking.is_alive(), "the CLI did not return once the vendor's job ended"
    captured = capsys.readouterr()
    errors = "".join(seen) + cli_lines(captured.err)
    assert codes == [0], errors
    progress = [line for line in errors.splitlines() if "is making it" in line]
    assert (
        progress
        and progress[0].startswith("speech ")
        and f": {vendor} is making it (1 vendor job)" in progress[0]
    )
    out = cli_lines(captured.out)
    assert f"spoke {len(SENTENCE)} characters with voice {voices[vendor]}: {output}" in out
    assert f"1 {vendor} call)" in out
    rate, seconds, peak = wav_of(output.read_bytes())
    assert rate > 0 and seconds > 0.5 and peak > 0


@pytest.mark.parametrize(
    ("vendor", "code"), [("tencent_gateway", "SynthesisFailed"), ("huawei", "MSS.20030002")]
)
def test_the_cli_reports_an_async_vendors_failure_with_its_code(
    voices: dict[str, str],
    sandboxes: dict[str, Any],
    cli_env: None,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    vendor: str,
    code: str,
) -> None:
    from voiceclone_cli.main import main

    # Given the vendor fails its synthesis jobs
    sandboxes[vendor].config.fail_speech = "the synthesis engine is overloaded"
    output = tmp_path / "never.wav"
    # When the CLI speaks
    exit_code = main(["speak", voices[vendor], SENTENCE, "-o", str(output)])
    # Then it fails with the vendor's code and words, and writes no file
    err = cli_lines(capsys.readouterr().err)
    assert exit_code != 0, err
    assert f"failed at {vendor}: {code}: " in err and "overloaded" in err, err
    assert not output.exists()
