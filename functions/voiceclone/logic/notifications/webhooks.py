"""Webhooks: a job's events POSTed to its notify_url, signed with the tenant's secret, retried with backoff.

The body is the event's detail (a JobEvent, docs/events.schema.json) as JSON. The
signature scheme (docs/events.md)::

    Voiceclone-Timestamp: <unix seconds>
    Voiceclone-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>

A delivery succeeds on any 2xx answer. Anything else (another status, a redirect, a
timeout, a refused connection) fails it: the SQS message is made visible again after
base * 2**(attempt-1) seconds (at most max) and reported as a batch item failure; after
the queue's maxReceiveCount it goes to the dead-letter queue. The job is never touched.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone import aws
from voiceclone.domain.errors import NotFound
from voiceclone.domain.notifications import ComparisonEvent, Event, SpeechEvent, event_of_detail
from voiceclone.lazy import lazy_module
from voiceclone.logic.core.services import Services
from voiceclone.observability import count, logger

if TYPE_CHECKING:
    import httpx
else:  # a delivery's HTTP client: bound now, loaded when the first delivery is made
    httpx = lazy_module("httpx")

# boto3's SQS client (the project's boto3-stubs extras do not include sqs).
SQSClient = Any
SIGNATURE_SCHEME = "v1"
HEADER_EVENT_ID = "Voiceclone-Event-Id"
HEADER_EVENT_TYPE = "Voiceclone-Event-Type"
HEADER_TIMESTAMP = "Voiceclone-Timestamp"
HEADER_SIGNATURE = "Voiceclone-Signature"
USER_AGENT = "voiceclone-webhooks/1"
# What docs/events.md tells receivers to allow between our clock and theirs.
DEFAULT_TOLERANCE_SECONDS = 300


class DeliveryFailed(Exception):
    """The receiver did not take the event (non-2xx, redirect, timeout, connection error)."""


# ----- signing (pure) ---------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The Voiceclone-Signature value: ``v1=`` + hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_SCHEME}={mac}"


def verify(
    secret: str,
    body: bytes,
    timestamp: str,
    signature_header: str,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does: the timestamp is recent and one `v1=` entry of the header matches."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_seconds:
        return False
    expected = signature(secret, sent, body)
    candidates = [part.strip() for part in signature_header.split(",")]
    return any(hmac.compare_digest(expected, c) for c in candidates if c.startswith(f"{SIGNATURE_SCHEME}="))


def signed_headers(secret: str, event: Event, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        HEADER_EVENT_ID: event.event_id,
        HEADER_EVENT_TYPE: event.detail_type,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature(secret, timestamp, body),
    }


def backoff_seconds(attempt: int, base: int, maximum: int) -> int:
    """The pause after failed attempt `attempt` (1 = the first delivery): base * 2**(attempt-1), capped."""
    attempt = max(1, attempt)
    return int(min(maximum, base * 2 ** min(attempt - 1, 30)))


def private_target(url: str) -> bool:
    """Whether the URL's host is, or resolves to, an address that is not a public unicast one.

    Lambda's own runtime API listens on loopback, and the instance metadata service on link-local:
    a webhook must never reach either, nor anything else of a private network.
    """
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False  # unresolvable: the POST fails and is retried like any unreachable receiver
    return any(not_public(ipaddress.ip_address(str(address).split("%", 1)[0])) for address in addresses)


# IPv6 addresses that carry an IPv4 one a router or the host forwards to (RFC 6052's well-known
# NAT64 prefix; the mapped ::ffff:0:0/96 and 6to4's 2002::/16 are ipaddress's own properties).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Not a global unicast address: private, loopback, link-local, shared (100.64/10), reserved,
    multicast, site-local; an IPv6 address carrying an IPv4 one is judged by the IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return not_public(embedded)
        if ip.is_site_local:
            return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved


# ----- delivery ---------------------------------------------------------------------------------


@cache
def _http(timeout: float) -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)


@cache
def _sqs_client() -> SQSClient:
    return aws.client("sqs")


@cache
def _queue_url(sqs: SQSClient, queue_arn: str) -> str:
    _, _, _, _, account, name = queue_arn.split(":", 5)
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def event_of_message(body: str) -> Event:
    """The event in an SQS message from the webhook rule (the full EventBridge envelope)."""
    envelope: dict[str, Any] = json.loads(body)
    return event_of_detail(envelope["detail"])


def _notify_url(svc: Services, event: Event) -> str | None:
    """Where the event goes: its speech's notify_url, else its job's (a voice's, a consent's); same tenant."""
    if isinstance(event, ComparisonEvent):
        comparison = svc.store.comparisons.get(event.comparison_id)
        if comparison is None or comparison.tenant_id != event.tenant_id:
            return None
        return comparison.notify_url
    if isinstance(event, SpeechEvent):
        try:
            return svc.store.speech.get(event.speech_id, event.tenant_id).notify_url
        except NotFound:
            return None
    job = svc.store.jobs.get(event.job_id)
    if job is None or job.tenant_id != event.tenant_id:
        return None
    return job.notify_url


def deliver(svc: Services, event: Event, http: httpx.Client | None = None) -> str:
    """POST the event to its job's (or speech's) notify_url; DeliveryFailed when the receiver refused it."""
    notify_url = _notify_url(svc, event)
    log = {"subject_id": event.subject_id, "event_id": event.event_id, "vendor": event.vendor}
    if not notify_url:
        logger.info("no webhook for the event", extra=log)
        return "no-webhook"
    settings = svc.settings
    if not settings.webhook_allow_private_targets and private_target(notify_url):
        # Not retried: the address will not change its nature. Nothing else is logged of the URL.
        logger.warning("webhook target refused: a private address", extra=log)
        count("WebhookRefused", event.vendor)
        return "refused"
    secret, _ = svc.store.account.webhook_secret(event.tenant_id)
    body = event.model_dump_json().encode()
    headers = signed_headers(secret, event, body, int(time.time()))
    client = http or _http(settings.webhook_timeout_seconds)
    try:
        with client.stream("POST", notify_url, content=body, headers=headers) as response:
            status = response.status_code
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__} reaching the receiver") from exc
    if not 200 <= status < 300:
        raise DeliveryFailed(f"the receiver answered HTTP {status}")
    logger.info("webhook delivered", extra={**log, "http_status": status})
    count("WebhookDelivered", event.vendor)
    return "delivered"


def _retry_later(svc: Services, record: SQSRecord, sqs: SQSClient) -> int:
    """Hide the message for the backoff of its attempt; the pause set (best effort)."""
    attempt = int(record.attributes.approximate_receive_count or 1)
    settings = svc.settings
    delay = backoff_seconds(
        attempt, settings.webhook_backoff_base_seconds, settings.webhook_backoff_max_seconds
    )
    try:
        sqs.change_message_visibility(
            QueueUrl=_queue_url(sqs, record.event_source_arn or ""),
            ReceiptHandle=record.receipt_handle,
            VisibilityTimeout=delay,
        )
    except Exception:  # noqa: BLE001 - the queue's own visibility timeout then spaces the retry
        logger.warning("could not set the retry delay", extra={"message_id": record.message_id})
    return delay


def process_queue(
    svc: Services,
    event: dict[str, Any],
    context: LambdaContext,
    http: httpx.Client | None = None,
    sqs: SQSClient | None = None,
) -> PartialItemFailureResponse:
    """Deliver each message's event; failed ones are retried later (batch item failures)."""

    def record_handler(record: SQSRecord) -> str:
        attempt = int(record.attributes.approximate_receive_count or 1)
        vendor: str | None = None  # a batch spans vendors: each record is counted with its own
        try:
            job_event = event_of_message(record.body)
            vendor = job_event.vendor
            return deliver(svc, job_event, http)
        except Exception as exc:
            queue = sqs or svc.overrides.get("sqs") or _sqs_client()
            delay = _retry_later(svc, record, queue)
            logger.warning(
                "webhook delivery failed",
                extra={
                    "message_id": record.message_id,
                    "attempt": attempt,
                    "retry_in": delay,
                    "why": str(exc),
                    "vendor": vendor,
                },
            )
            count("WebhookFailed", vendor)
            raise

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
