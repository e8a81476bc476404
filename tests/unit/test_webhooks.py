"""Webhooks: the documented signature, the retry schedule, one delivery, a batch with a failing receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from voiceclone.domain.api_models import CreateJobRequest
from voiceclone.domain.models import Gender, Job, JobStatus, Language
from voiceclone.domain.notifications import JobEvent
from voiceclone.logic.core.services import Services
from voiceclone.logic.notifications import webhooks
from voiceclone.logic.notifications.webhooks import (
    DeliveryFailed,
    backoff_seconds,
    deliver,
    process_queue,
    signature,
    verify,
)
from voiceclone.settings import Settings

SECRET = "whsec_test"
REAL_PRIVATE_TARGET = webhooks.private_target


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"event_id":"j1:0"}'
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1700000000, body) == f"v1={expected}"


def test_verify_accepts_the_signature_and_nothing_else() -> None:
    body, ts = b'{"a":1}', 1700000000
    header = signature(SECRET, ts, body)
    assert verify(SECRET, body, str(ts), header, now=ts + 10)
    # One of several v1 entries (e.g. during a key change on the receiver's side)
    assert verify(SECRET, body, str(ts), f"v1=00ff, {header}", now=ts)
    assert not verify(SECRET, b'{"a":2}', str(ts), header, now=ts)  # body changed
    assert not verify("whsec_other", body, str(ts), header, now=ts)  # other secret
    assert not verify(SECRET, body, str(ts + 1), header, now=ts)  # timestamp changed
    assert not verify(SECRET, body, str(ts), header, now=ts + 301)  # replayed late
    assert not verify(SECRET, body, "yesterday", header, now=ts)


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff_seconds(n, 30, 3600) for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]  # fmt: skip
    assert backoff_seconds(0, 1, 4) == 1 and backoff_seconds(100, 1, 4) == 4


def test_notify_url_must_be_an_http_url_of_at_most_2048_characters() -> None:
    ok = CreateJobRequest(
        vendor="tencent_vrs",
        voice_name="v",
        gender=Gender.FEMALE,
        speaker_name="s",
        notify_url="https://a.b/h",
    )
    assert ok.notify_url == "https://a.b/h"
    for bad in ("ftp://a.b/h", "not a url", "https://", "https://a.b/" + "x" * 2048):
        with pytest.raises(ValidationError):
            CreateJobRequest(
                vendor="tencent_vrs", voice_name="v", gender=Gender.FEMALE, speaker_name="s", notify_url=bad
            )


# ----- delivery ----------------------------------------------------------------------------------


class FakeStore:
    """The job the event names, and the tenant's webhook secret."""

    def __init__(self, job: Job | None) -> None:
        self.jobs = SimpleNamespace(get=lambda job_id: job)
        self.account = SimpleNamespace(
            webhook_secret=lambda tenant_id: (SECRET, datetime(2026, 1, 1, tzinfo=UTC))
        )


def make_job(notify_url: str | None = "https://receiver.example/hook") -> Job:
    return Job(
        job_id="j1",
        tenant_id="t1",
        vendor="tencent_vrs",
        voice_name="v",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        status=JobStatus.SUCCEEDED,
        version=9,
        voice_id="v-j1",
        notify_url=notify_url,
        updated_at=datetime(2026, 1, 2, tzinfo=UTC),
    )


def services(job: Job | None, **env: str) -> Services:
    settings = Settings.model_validate({"VOICECLONE_TABLE_NAME": "t", "VOICECLONE_BUCKET_NAME": "b", **env})
    svc = Services(settings=settings)
    svc.__dict__["store"] = FakeStore(job)
    return svc


@pytest.fixture(autouse=True)
def public_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    """receiver.example resolves nowhere here; treat it as a public host."""
    monkeypatch.setattr(webhooks, "private_target", lambda url: "127.0.0.1" in url)


def receiver(status: int, seen: list[httpx.Request]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_a_delivery_posts_the_detail_signed_with_the_tenants_secret() -> None:
    job = make_job()
    event = JobEvent.of(job, JobStatus.TRAINING)
    seen: list[httpx.Request] = []
    assert deliver(services(job), event, receiver(204, seen)) == "delivered"
    (request,) = seen
    assert request.method == "POST" and str(request.url) == job.notify_url
    h = request.headers
    assert h["Content-Type"] == "application/json"
    assert h["Voiceclone-Event-Id"] == "j1:9" and h["Voiceclone-Event-Type"] == "Job Succeeded"
    assert verify(SECRET, request.content, h["Voiceclone-Timestamp"], h["Voiceclone-Signature"])
    assert JobEvent.model_validate_json(request.content) == event


@pytest.mark.parametrize("status", [500, 404, 302])
def test_a_receiver_that_does_not_answer_2xx_fails_the_delivery(status: int) -> None:
    job = make_job()
    with pytest.raises(DeliveryFailed, match=str(status)):
        deliver(services(job), JobEvent.of(job, JobStatus.TRAINING), receiver(status, []))


def test_an_unreachable_receiver_fails_the_delivery() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    job = make_job()
    with pytest.raises(DeliveryFailed, match="ConnectError"):
        deliver(services(job), JobEvent.of(job, None), httpx.Client(transport=httpx.MockTransport(refuse)))


def test_no_webhook_and_private_targets_are_not_posted() -> None:
    seen: list[httpx.Request] = []
    job = make_job(notify_url=None)
    assert deliver(services(job), JobEvent.of(job, None), receiver(200, seen)) == "no-webhook"
    private = make_job(notify_url="http://127.0.0.1:9001/2018-06-01/runtime/invocation/next")
    assert deliver(services(private), JobEvent.of(private, None), receiver(200, seen)) == "refused"
    allowed = services(private, VOICECLONE_WEBHOOK_ALLOW_PRIVATE_TARGETS="true")
    assert deliver(allowed, JobEvent.of(private, None), receiver(200, seen)) == "delivered"
    assert len(seen) == 1


@pytest.mark.parametrize(
    "host",
    [
        # IPv4: loopback, the private ranges at both ends, link-local and the metadata service
        "127.0.0.1", "127.255.255.254", "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255",
        "192.168.0.1", "192.168.255.255", "169.254.169.254", "169.254.0.1",
        # this network, shared address space (carrier NAT), IETF, benchmarking, documentation
        "0.0.0.0", "100.64.0.1", "100.127.255.254", "192.0.0.1", "198.18.0.1", "192.0.2.1", "203.0.113.9",
        # multicast, reserved, broadcast
        "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
        # IPv6: loopback, unspecified, unique local (AWS's IPv6 metadata fd00:ec2::254), link-local,
        # site-local, multicast, documentation, reserved
        "[::1]", "[::]", "[fd00:ec2::254]", "[fc00::1]", "[fe80::1]", "[fec0::1]", "[ff02::1]",
        "[2001:db8::1]", "[4000::1]",
        # IPv6 carrying a private IPv4 address: mapped, NAT64, 6to4, Teredo
        "[::ffff:127.0.0.1]", "[::ffff:169.254.169.254]", "[::ffff:10.0.0.1]", "[64:ff9b::a9fe:a9fe]",
        "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[2002:a9fe:a9fe::1]", "[2001:0:4136:e378::1]",
        # names the host resolves without a network
        "localhost",
    ],
)  # fmt: skip
def test_private_target_refuses_every_kind_of_non_public_address(host: str) -> None:
    assert REAL_PRIVATE_TARGET(f"http://{host}:8080/hook")


@pytest.mark.parametrize(
    "host",
    [
        # public IPv4 just outside each private range
        "93.184.215.14", "8.8.8.8", "9.255.255.255", "11.0.0.1", "126.255.255.255", "128.0.0.1",
        "172.15.255.255", "172.32.0.1", "192.167.255.255", "192.169.0.1", "169.253.255.255",
        "169.255.0.1", "100.63.255.255", "100.128.0.1", "223.255.255.254",
        # public IPv6, and IPv6 carrying a public IPv4 address
        "[2606:4700:4700::1111]", "[2a00:1450:4001::200e]", "[::ffff:8.8.8.8]", "[64:ff9b::808:808]",
        "[2002:808:808::1]",
    ],
)  # fmt: skip
def test_private_target_lets_public_addresses_through(host: str) -> None:
    assert not REAL_PRIVATE_TARGET(f"https://{host}/hook")


def test_a_name_is_refused_when_any_of_its_addresses_is_private(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {
        "public.example": ["93.184.215.14", "2606:4700:4700::1111"],
        "rebind.example": ["93.184.215.14", "169.254.169.254"],
        "scoped.example": ["fe80::1%eth0"],
    }

    def getaddrinfo(host: str, port: Any) -> list[tuple[Any, ...]]:
        if host not in answers:
            raise OSError("unknown name")
        return [(None, None, None, "", (address, 0)) for address in answers[host]]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", getaddrinfo)
    assert not REAL_PRIVATE_TARGET("https://public.example/hook")
    assert REAL_PRIVATE_TARGET("https://rebind.example/hook")
    assert REAL_PRIVATE_TARGET("https://scoped.example/hook")
    # A name that does not resolve is not refused here: its POST fails and is retried
    assert not REAL_PRIVATE_TARGET("https://nowhere.example/hook")


@pytest.mark.parametrize("offset", [-300, -299.5, 0, 299.5, 300])
def test_verify_accepts_a_timestamp_up_to_the_tolerance_either_way(offset: float) -> None:
    body, ts = b'{"a":1}', 1700000000
    assert verify(SECRET, body, str(ts), signature(SECRET, ts, body), tolerance_seconds=300, now=ts + offset)


@pytest.mark.parametrize("offset", [-301, -300.5, 300.5, 301, 86400])
def test_verify_refuses_a_timestamp_past_the_tolerance_either_way(offset: float) -> None:
    body, ts = b'{"a":1}', 1700000000
    header = signature(SECRET, ts, body)
    assert not verify(SECRET, body, str(ts), header, tolerance_seconds=300, now=ts + offset)


def test_verify_defaults_to_five_minutes_of_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    body, ts = b'{"a":1}', 1700000000
    header = signature(SECRET, ts, body)
    monkeypatch.setattr(webhooks.time, "time", lambda: ts + 300)
    assert verify(SECRET, body, str(ts), header)
    monkeypatch.setattr(webhooks.time, "time", lambda: ts + 301)
    assert not verify(SECRET, body, str(ts), header)


def test_verify_reads_only_v1_entries_of_the_header() -> None:
    body, ts = b'{"a":1}', 1700000000
    mac = signature(SECRET, ts, body).removeprefix("v1=")
    assert verify(SECRET, body, str(ts), f"v0={mac},v1={mac}", now=ts)
    assert verify(SECRET, body, str(ts), f"  v1={mac}  ", now=ts)
    assert not verify(SECRET, body, str(ts), f"v0=x, v2={mac}, {mac}", now=ts)


class FakeSqs:
    def __init__(self) -> None:
        self.visibility: list[tuple[str, int]] = []

    def get_queue_url(self, QueueName: str, QueueOwnerAWSAccountId: str) -> dict[str, str]:
        return {"QueueUrl": f"https://sqs.local/{QueueOwnerAWSAccountId}/{QueueName}"}

    def change_message_visibility(self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> None:
        self.visibility.append((ReceiptHandle, VisibilityTimeout))


def message(message_id: str, body: str, receive_count: int) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:webhooks",
        "awsRegion": "us-east-1",
    }


def envelope(event: JobEvent) -> str:
    return json.dumps(
        {
            "detail-type": event.detail_type,
            "source": "voiceclone",
            "detail": json.loads(event.model_dump_json()),
        }
    )


def test_failed_messages_are_reported_and_hidden_for_their_backoff_the_rest_acknowledged() -> None:
    # Given a batch: one event to a receiver answering 500 (third attempt), one malformed message
    job = make_job()
    batch = {
        "Records": [
            message("m1", envelope(JobEvent.of(job, JobStatus.TRAINING)), receive_count=3),
            message("m2", "not json", receive_count=1),
        ]
    }
    sqs = FakeSqs()
    svc = services(job, VOICECLONE_WEBHOOK_BACKOFF_BASE_SECONDS="10")
    # When the batch is processed, nothing is raised
    response = process_queue(svc, batch, None, http=receiver(500, []), sqs=sqs)  # type: ignore[arg-type]
    # Then both are retried later: the third attempt after 40 s, the first after 10 s
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    assert sqs.visibility == [("rh-m1", 40), ("rh-m2", 10)]


def test_a_delivered_message_is_acknowledged() -> None:
    job = make_job()
    batch = {"Records": [message("m1", envelope(JobEvent.of(job, None)), receive_count=1)]}
    sqs = FakeSqs()
    response = process_queue(services(job), batch, None, http=receiver(200, []), sqs=sqs)  # type: ignore[arg-type]
    assert response == {"batchItemFailures": []} and sqs.visibility == []


# ----- what a delivery counts, and where a message's retry goes ------------------------------------


def metrics(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    """(metric, vendor) of every EMF data point printed so far."""
    points = []
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        doc = json.loads(line)
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            points += [(metric["Name"], doc["vendor"]) for metric in directive["Metrics"]]
    return points


def test_each_outcome_is_counted_with_the_events_vendor(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from voiceclone.observability import NO_VENDOR

    # Metrics published as in Lambda (a local stack made earlier in this process turns them off)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    job = make_job()
    event = JobEvent.of(job, JobStatus.TRAINING)
    capsys.readouterr()
    assert deliver(services(job), event, receiver(299, [])) == "delivered"
    private = make_job(notify_url="http://127.0.0.1/x")
    assert deliver(services(private), JobEvent.of(private, None), receiver(200, [])) == "refused"
    assert deliver(services(make_job(notify_url=None)), event, receiver(200, [])) == "no-webhook"
    assert metrics(capsys) == [("WebhookDelivered", "tencent_vrs"), ("WebhookRefused", "tencent_vrs")]
    batch = {
        "Records": [
            message("m1", envelope(event), receive_count=1),
            message("m2", "not json", receive_count=1),
        ]
    }
    process_queue(services(job), batch, None, http=receiver(300, []), sqs=FakeSqs())  # type: ignore[arg-type]
    assert metrics(capsys) == [("WebhookFailed", "tencent_vrs"), ("WebhookFailed", NO_VENDOR)]


def test_an_event_of_another_tenant_or_without_its_job_is_not_posted() -> None:
    seen: list[httpx.Request] = []
    job = make_job()
    stranger = JobEvent.of(job, None).model_copy(update={"tenant_id": "t2"})
    assert deliver(services(job), stranger, receiver(200, seen)) == "no-webhook"
    assert deliver(services(None), JobEvent.of(job, None), receiver(200, seen)) == "no-webhook"
    assert seen == []


def test_a_speech_event_goes_to_its_speechs_notify_url_of_its_tenant_only() -> None:
    from voiceclone.domain.errors import NotFound
    from voiceclone.domain.models import Speech, SpeechStatus
    from voiceclone.domain.notifications import SpeechEvent

    speech = Speech(
        speech_id="sp1",
        tenant_id="t1",
        voice_id="v1",
        vendor="huawei",
        characters=3,
        format="wav",
        sample_rate=16000,
        status=SpeechStatus.SUCCEEDED,
        notify_url="https://receiver.example/speech",
    )
    asked: list[tuple[str, str]] = []

    def get(speech_id: str, tenant_id: str) -> Speech:
        asked.append((speech_id, tenant_id))
        if tenant_id != "t1":
            raise NotFound("SpeechNotFound", speech_id)
        return speech

    svc = services(make_job())
    svc.store.speech = SimpleNamespace(get=get)  # type: ignore[attr-defined]
    seen: list[httpx.Request] = []
    event = SpeechEvent.of(speech)
    assert deliver(svc, event, receiver(200, seen)) == "delivered"
    assert str(seen[0].url) == "https://receiver.example/speech"
    assert deliver(svc, event.model_copy(update={"tenant_id": "t2"}), receiver(200, seen)) == "no-webhook"
    assert asked == [("sp1", "t1"), ("sp1", "t2")] and len(seen) == 1


@pytest.mark.parametrize(("status", "delivered"), [(199, False), (200, True), (299, True), (300, False)])
def test_only_a_2xx_answer_delivers(status: int, delivered: bool) -> None:
    job = make_job()
    if delivered:
        assert deliver(services(job), JobEvent.of(job, None), receiver(status, [])) == "delivered"
    else:
        with pytest.raises(DeliveryFailed, match=f"HTTP {status}"):
            deliver(services(job), JobEvent.of(job, None), receiver(status, []))


def test_a_delivery_is_a_post_with_the_service_user_agent() -> None:
    seen: list[httpx.Request] = []
    job = make_job()
    deliver(services(job), JobEvent.of(job, None), receiver(200, seen))
    assert seen[0].method == "POST" and seen[0].headers["User-Agent"] == "voiceclone-webhooks/1"


def test_the_queue_from_the_overrides_takes_the_retry_and_a_message_with_no_count_is_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = make_job()
    sqs = FakeSqs()
    svc = services(job, VOICECLONE_WEBHOOK_BACKOFF_BASE_SECONDS="10")
    svc.overrides["sqs"] = sqs
    monkeypatch.setattr(webhooks, "_sqs_client", lambda: pytest.fail("the overrides' queue was not used"))
    record = message("m1", envelope(JobEvent.of(job, None)), receive_count=1)
    record["attributes"]["ApproximateReceiveCount"] = ""
    response = process_queue(svc, {"Records": [record]}, None, http=receiver(500, []))  # type: ignore[arg-type]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert sqs.visibility == [("rh-m1", 10)]


def test_a_queue_that_cannot_hide_the_message_still_reports_it_failed() -> None:
    class BrokenSqs(FakeSqs):
        def change_message_visibility(
            self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int
        ) -> None:
            raise RuntimeError("throttled")

    job = make_job()
    batch = {"Records": [message("m1", envelope(JobEvent.of(job, None)), receive_count=2)]}
    response = process_queue(services(job), batch, None, http=receiver(500, []), sqs=BrokenSqs())  # type: ignore[arg-type]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def test_the_retry_hides_the_message_in_its_own_queue() -> None:
    job = make_job()
    seen: list[str] = []

    class Sqs(FakeSqs):
        def change_message_visibility(
            self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int
        ) -> None:
            seen.append(QueueUrl)

    webhooks._queue_url.cache_clear()
    batch = {"Records": [message("m1", envelope(JobEvent.of(job, None)), receive_count=1)]}
    process_queue(services(job), batch, None, http=receiver(500, []), sqs=Sqs())  # type: ignore[arg-type]
    assert seen == ["https://sqs.local/123456789012/webhooks"]
