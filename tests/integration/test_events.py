"""Job events and webhooks on the local stack: every status change once, in order, signed deliveries.

A test rule on the stack's event bus copies every event to a queue the tests read;
a small HTTP server plays the webhook receiver (one path answers 200, one 500).
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

import jsonschema
import pytest
from voiceclone.domain.models import JobStatus
from voiceclone.domain.notifications import DETAIL_TYPES
from voiceclone.logic.notifications.webhooks import verify
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER, upload_recordings, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "events.schema.json").read_text())
DONE = ("SUCCEEDED", "FAILED", "CHECK_FAILED", "CANCELLED")


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """Webhook receiver: POST /ok answers 200, POST /fail answers 500; every request is recorded."""

    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def of_job(self, job_id: str, path: str) -> list[Delivery]:
        """Deliveries of the job's status changes."""
        with self.lock:
            return [
                d
                for d in self.deliveries
                if d.path == path
                and json.loads(d.body).get("job_id") == job_id
                and "status" in json.loads(d.body)
            ]

    def of_type(self, detail_type: str, voice_id: str) -> list[Delivery]:
        with self.lock:
            return [
                d
                for d in self.deliveries
                if json.loads(d.body).get("detail_type") == detail_type
                and json.loads(d.body).get("voice_id") == voice_id
            ]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = 200 if self.path == "/ok" else 500
            with rec.lock:
                rec.deliveries.append(Delivery(self.path, dict(self.headers.items()), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield rec
    server.shutdown()
    server.server_close()


@dataclass
class BusTap:
    """Every event on the stack's bus, copied by a test rule to a queue and read from it."""

    sqs: Any
    queue_url: str
    events: Any = None
    bus: str = ""
    stream: Any = None  # the stack's DynamoDB-stream dispatcher (the events are published from it)
    seen: list[dict[str, Any]] = field(default_factory=list)

    def drain(self) -> None:
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return
            for m in messages:
                self.seen.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def of_job(self, job_id: str) -> list[dict[str, Any]]:
        """The job's status changes (its voice's and consent's events name it too: of_voice)."""
        self.drain()
        return [
            e
            for e in self.seen
            if e["detail"].get("job_id") == job_id and e["source"] == SOURCE and "status" in e["detail"]
        ]

    def of_voice(self, voice_id: str) -> list[dict[str, Any]]:
        """Consent Recorded and Voice Deleted of a voice."""
        self.drain()
        return [
            e
            for e in self.seen
            if e["detail"].get("voice_id") == voice_id
            and e["detail-type"] in ("Consent Recorded", "Voice Deleted")
        ]

    def settled(self, job_id: str) -> list[dict[str, Any]]:
        """The job's events once every event its changes so far published has arrived.

        The service publishes from the table's stream: first every stream record written so far is
        delivered, then a marker is put on the bus and waited for; the bus delivers to the tap's
        queue as each event is put, so whatever was published before (a duplicate too) is in by then.
        """
        assert self.stream.caught_up(), "the table's stream did not catch up"
        marker = uuid.uuid4().hex
        self.events.put_events(
            Entries=[
                {
                    "Source": MARKER_SOURCE,
                    "DetailType": "Tap Marker",
                    "Detail": json.dumps({"job_id": job_id, "marker": marker}),
                    "EventBusName": self.bus,
                }
            ]
        )

        def arrived() -> bool:
            self.drain()
            return any(e["detail"].get("marker") == marker for e in self.seen)

        wait_for(arrived, timeout=30, what="the tap's marker")
        return self.of_job(job_id)


# The service's events, and the markers a tap puts on the bus behind them (no rule of the service
# matches that source: the markers reach the taps only).
SOURCE = "voiceclone"
MARKER_SOURCE = "voiceclone.tests"
TAP_PATTERN = json.dumps({"source": [SOURCE, MARKER_SOURCE]})


@pytest.fixture(scope="module")
def tap(stack: LocalStack) -> BusTap:
    assert stack.events is not None
    (bus,) = stack.events.bus_names.values()
    sqs, events = stack.client("sqs"), stack.client("events")
    url = sqs.create_queue(QueueName="test-bus-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="test-bus-tap", EventBusName=bus, EventPattern=TAP_PATTERN)
    events.put_targets(Rule="test-bus-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
    return BusTap(sqs, url, events, bus, stack.events.stream)


def clone(client: VoicecloneClient, notify_url: str, timeout: float = 90.0) -> dict[str, Any]:
    job = client.create_job("tencent_vrs", "event-voice", "female", SPEAKER, notify_url=notify_url)
    assert job["notify_url"] == notify_url
    upload_recordings(client, job, SAMPLES)

    def done() -> dict[str, Any] | None:
        current = client.get_job(job["job_id"])
        return current if current["status"] in DONE else None

    return wait_for(done, timeout=timeout, what=f"job {job['job_id']} to finish")


def assert_each_change_once_in_order(tap: BusTap, job_id: str, path: list[str]) -> list[dict[str, Any]]:
    """The job's events, once all are in: one per status of `path`, in order, each valid."""
    wait_for(lambda: len(tap.of_job(job_id)) >= len(path), timeout=30, what=f"{len(path)} events of {job_id}")
    events = tap.settled(job_id)  # a duplicate published with them is in by now
    details = [e["detail"] for e in events]
    assert [d["status"] for d in details] == path, details
    assert len({d["event_id"] for d in details}) == len(details)
    sequences = [d["sequence"] for d in details]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert [d["previous_status"] for d in details] == [None, *path[:-1]]
    for envelope in events:
        assert envelope["source"] == "voiceclone"
        assert envelope["detail-type"] == DETAIL_TYPES[JobStatus(envelope["detail"]["status"])]
        jsonschema.validate(envelope["detail"], SCHEMA)
    return details


def test_a_successful_job_publishes_each_change_once_and_delivers_signed_webhooks(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient, tap: BusTap, receiver: Receiver
) -> None:
    # Given a job whose notify_url answers 200
    final = clone(client, f"{receiver.url}/ok")
    assert final["status"] == "SUCCEEDED", final
    job_id = final["job_id"]
    # Then each status change is on the bus once, in order, matching the schema
    details = assert_each_change_once_in_order(
        tap, job_id, ["AWAITING_AUDIO", "CHECKING", "TRAINING", "SUCCEEDED"]
    )
    assert details[-1]["voice_id"] == final["voice_id"] and all(d["has_webhook"] for d in details)
    # ...and each was delivered once to the receiver, signed with the tenant's secret
    deliveries = wait_for(
        lambda: (d := receiver.of_job(job_id, "/ok")) and len(d) >= 4 and d, timeout=30, what="4 deliveries"
    )
    secret = client.webhook_secret()["secret"]
    for delivery in deliveries:
        h = {k.lower(): v for k, v in delivery.headers.items()}
        assert verify(secret, delivery.body, h["voiceclone-timestamp"], h["voiceclone-signature"])
        assert h["voiceclone-event-id"] == json.loads(delivery.body)["event_id"]
        assert h["voiceclone-event-type"] == json.loads(delivery.body)["detail_type"]
        jsonschema.validate(json.loads(delivery.body), SCHEMA)
    assert sorted(json.loads(d.body)["event_id"] for d in deliveries) == sorted(
        d["event_id"] for d in details
    )
    # And its consent, put on record before its vendor task, was published once and delivered, signed
    voice_id = final["voice_id"]
    (recorded,) = wait_for(lambda: tap.of_voice(voice_id), timeout=30, what="Consent Recorded")
    assert recorded["detail-type"] == "Consent Recorded" and recorded["detail"]["job_id"] == job_id
    assert recorded["detail"]["audio_sha256"] == client.get_consent(voice_id)["audio_sha256"]
    jsonschema.validate(recorded["detail"], SCHEMA)
    training = next(d for d in details if d["status"] == "TRAINING")
    assert recorded["detail"]["occurred_at"] <= training["occurred_at"]
    (consent_hook,) = wait_for(
        lambda: receiver.of_type("Consent Recorded", voice_id), timeout=30, what="hook"
    )
    h = {k.lower(): v for k, v in consent_hook.headers.items()}
    assert verify(secret, consent_hook.body, h["voiceclone-timestamp"], h["voiceclone-signature"])
    # When the voice is deleted, Voice Deleted is published and delivered too
    client.delete_voice(voice_id)
    wait_for(lambda: len(tap.of_voice(voice_id)) >= 2, timeout=30, what="Voice Deleted")
    deleted = tap.of_voice(voice_id)[-1]
    assert deleted["detail-type"] == "Voice Deleted" and deleted["detail"]["job_id"] == job_id
    jsonschema.validate(deleted["detail"], SCHEMA)
    (voice_hook,) = wait_for(lambda: receiver.of_type("Voice Deleted", voice_id), timeout=30, what="hook")
    assert json.loads(voice_hook.body)["event_id"] == deleted["detail"]["event_id"]


def test_a_failed_job_publishes_each_change_once_in_order(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient, tap: BusTap, receiver: Receiver
) -> None:
    # Given a vendor whose training fails
    sandbox.config.fail_training = "音频质量不达标 (audio quality below standard)"
    final = clone(client, f"{receiver.url}/ok")
    assert final["status"] == "FAILED", final
    details = assert_each_change_once_in_order(
        tap, final["job_id"], ["AWAITING_AUDIO", "CHECKING", "TRAINING", "FAILED"]
    )
    assert details[-1]["error"]["vendor"] == "tencent_vrs" and details[-1]["error"]["message"]


def test_a_receiver_answering_500_is_retried_with_backoff_and_does_not_stop_the_job(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient, tap: BusTap, receiver: Receiver
) -> None:
    # Given a job whose notify_url always answers 500
    final = clone(client, f"{receiver.url}/fail")
    # Then the job succeeds all the same
    assert final["status"] == "SUCCEEDED", final
    job_id = final["job_id"]
    assert_each_change_once_in_order(tap, job_id, ["AWAITING_AUDIO", "CHECKING", "TRAINING", "SUCCEEDED"])

    # ...and the first event's delivery was tried again, later each time (1 s, 2 s, ... locally)
    def retried() -> list[Delivery] | None:
        first = [d for d in receiver.of_job(job_id, "/fail") if json.loads(d.body)["sequence"] == 0]
        return first if len(first) >= 3 else None

    attempts = wait_for(retried, timeout=30, what="the first event's delivery retried twice")
    stamps = [int(d.headers["Voiceclone-Timestamp"]) for d in attempts]
    assert stamps == sorted(stamps) and stamps[2] - stamps[0] >= 2  # 1 s, then 2 s of backoff
    assert {d.status for d in attempts} == {500}


def test_the_webhook_secret_is_made_once_and_can_be_rotated(client: VoicecloneClient) -> None:
    first = client.webhook_secret()
    assert first["secret"].startswith("whsec_") and len(first["secret"]) > 40
    assert client.webhook_secret() == first
    rotated = client.rotate_webhook_secret()
    assert rotated["secret"] != first["secret"]
    assert client.webhook_secret()["secret"] == rotated["secret"]
