"""Job events and webhooks on the local stack: the template's bus, rules, queues and event sources in moto.

What moto does itself: the event bus, rules with SQS targets, queues with their
redrive policy (maxReceiveCount to the dead-letter queue), the table's stream and a
DynamoDB-stream event source mapping. Two things differ from AWS and are mended here:

- moto invokes the stream's function inside the write that made the record, so every
  write would wait for the events it causes. `StreamDispatcher` hands the records to one
  worker thread instead, which invokes in order, as Lambda's one poller per shard does
  (under moto's lock, ``moto_server.GATE``, which the Lambda shim sets aside while the
  function runs).
- moto's SQS event source invokes once at send time and never redelivers. `SqsPoller`
  receives from the queue honouring visibility timeouts, invokes the function with an SQS
  event and deletes the messages the function did not report in ``batchItemFailures``.
  It polls without long polling: moto's long poll waits inside the request, under moto's
  lock, and would hold up every other request for its whole wait.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, MutableMapping
from typing import Any

from voiceclone_local.moto_server import GATE
from voiceclone_local.template import Resolver, resources_of_type

Invoker = Callable[[str, dict[str, Any]], tuple[dict[str, Any], str | None]]
# How long a poller waits after an empty receive: also about how long stopping it takes.
POLL_WAIT_SECONDS = 0.5


def matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filtering, the part the template uses: nested keys, lists of allowed values."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(matches(p, value.get(k)) for k, p in pattern.items())
    if isinstance(pattern, list):
        return value in pattern
    return bool(pattern == value)


class StreamDispatcher:
    """moto's DynamoDB-stream delivery, moved off the writer's thread onto one worker (in order).

    The mapping's filter criteria apply before the function is invoked, as in AWS (moto ignores them).
    """

    def __init__(self) -> None:
        self.filters: dict[str, list[Any]] = {}  # function ARN -> patterns (none: every record)
        self._work: queue.Queue[tuple[Any, str, list[Any], str] | threading.Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="dynamodb-stream", daemon=True)
        self._restore: Callable[[], None] | None = None
        self._original: Any = None

    def install(self) -> None:
        from moto.awslambda.models import LambdaBackend

        original = LambdaBackend.send_dynamodb_items
        self._original = original

        def send(backend: Any, function_arn: str, items: list[Any], source: str) -> str:
            # A copy: moto keeps appending to the shard's list until the truthy answer clears it.
            patterns = self.filters.get(function_arn)
            wanted = [i for i in items if not patterns or any(matches(p, i.to_json()) for p in patterns)]
            if wanted:
                self._work.put((backend, function_arn, wanted, source))
            return "queued"

        LambdaBackend.send_dynamodb_items = send  # type: ignore[method-assign,assignment]

        def restore() -> None:
            LambdaBackend.send_dynamodb_items = original  # type: ignore[method-assign]

        self._restore = restore
        self._thread.start()

    def _run(self) -> None:
        while True:
            work = self._work.get()
            if work is None:
                return
            if isinstance(work, threading.Event):
                work.set()  # every record queued before it was delivered
                continue
            backend, function_arn, items, source = work
            try:
                with GATE.held():  # moto's own code reads its backends; the shim opens it for the function
                    self._original(backend, function_arn, items, source)
            except Exception as exc:  # noqa: BLE001 - one bad batch must not stop the stream
                print(f"[local] stream delivery to {function_arn}: {type(exc).__name__}: {exc}")

    def caught_up(self, timeout: float = 60.0) -> bool:
        """Wait until the records queued so far were delivered (their functions returned): what a
        check that nothing more comes of a write waits for, instead of sleeping."""
        done = threading.Event()
        self._work.put(done)
        return done.wait(timeout)

    def stop(self) -> None:
        if self._restore is not None:
            self._restore()
            self._restore = None
        self._work.put(None)
        self._thread.join(timeout=30)


class SqsPoller:
    """Lambda's SQS event source for one queue and one function, in a thread."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        function_name: str,
        invoke: Invoker,
        batch_size: int,
        region: str,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.function_name = function_name
        self.invoke = invoke
        self.batch_size = max(1, min(10, batch_size))
        self.region = region
        self.batches = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqs-poller-{function_name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=POLL_WAIT_SECONDS + 10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # noqa: BLE001 - the poller keeps going, as Lambda's does
                if self._stopping.is_set():
                    return
                print(f"[local] SQS poller of {self.function_name}: {type(exc).__name__}: {exc}")
                self._stopping.wait(0.5)

    def poll_once(self) -> int:
        """Receive one batch and hand it to the function; the number of messages received."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            self._stopping.wait(POLL_WAIT_SECONDS)
            return 0
        self.batches += 1
        payload, error = self.invoke(self.function_name, {"Records": [self._record(m) for m in messages]})
        if error:
            return len(messages)  # all stay: each is received again once its visibility timeout ends
        failures = payload.get("batchItemFailures", []) if isinstance(payload, dict) else []
        failed = {str(f.get("itemIdentifier")) for f in failures}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }


class LocalEvents:
    """The template's event resources in moto. `prepare` before the template is resolved, `provision` after
    the functions exist, `stop` with the stack."""

    def __init__(
        self,
        template: dict[str, Any],
        client: Callable[[str], Any],
        invoke: Invoker,
        function_names: dict[str, str],
        region: str,
        account: str,
    ) -> None:
        self.template = template
        self.client = client
        self.invoke = invoke
        self.function_names = function_names
        self.region = region
        self.account = account
        self.queue_urls: dict[str, str] = {}  # logical id -> URL
        self.queue_arns: dict[str, str] = {}  # logical id -> ARN
        self.bus_names: dict[str, str] = {}  # logical id -> name
        self.pollers: list[SqsPoller] = []
        self.stream = StreamDispatcher()

    def queue_url(self, logical_prefix: str) -> str:
        """The URL of the template's queue whose logical id starts with `logical_prefix`."""
        (url,) = [u for logical, u in self.queue_urls.items() if logical.startswith(logical_prefix)]
        return url

    def prepare(self, refs: MutableMapping[str, Any], attrs: MutableMapping[tuple[str, str], Any]) -> None:
        """Create the buses and queues, and give their names and ARNs to the template's resolver."""
        events = self.client("events")
        for logical, res in resources_of_type(self.template, "AWS::Events::EventBus").items():
            name = str(res["Properties"]["Name"])
            arn = events.create_event_bus(Name=name)["EventBusArn"]
            self.bus_names[logical] = name
            refs[logical] = name
            attrs[(logical, "Name")] = name
            attrs[(logical, "Arn")] = arn
        queues = resources_of_type(self.template, "AWS::SQS::Queue")
        # Dead-letter queues first: a redrive policy names an existing queue.
        ordered = sorted(queues.items(), key=lambda item: "RedrivePolicy" in item[1].get("Properties", {}))
        sqs = self.client("sqs")
        for logical, res in ordered:
            props = res.get("Properties", {})
            name = f"voiceclone-local-{logical}"[:80]
            attributes: dict[str, str] = {}
            if "VisibilityTimeout" in props:
                attributes["VisibilityTimeout"] = str(props["VisibilityTimeout"])
            if "MessageRetentionPeriod" in props:
                attributes["MessageRetentionPeriod"] = str(props["MessageRetentionPeriod"])
            if "RedrivePolicy" in props:
                policy = props["RedrivePolicy"]
                target = policy["deadLetterTargetArn"]["Fn::GetAtt"][0]
                attributes["RedrivePolicy"] = json.dumps(
                    {
                        "deadLetterTargetArn": self.queue_arns[target],
                        "maxReceiveCount": policy["maxReceiveCount"],
                    }
                )
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.queue_urls[logical], self.queue_arns[logical] = url, arn
            refs[logical] = url
            attrs[(logical, "Arn")] = arn
            attrs[(logical, "QueueName")] = name
            attrs[(logical, "QueueUrl")] = url

    def provision(self, resolve: Resolver) -> None:
        """The rules with their targets, and the event sources of the functions (once those exist)."""
        events = self.client("events")
        for logical, res in resources_of_type(self.template, "AWS::Events::Rule").items():
            props = resolve(res["Properties"])
            bus = str(props.get("EventBusName", "default"))
            name = logical[:64]
            events.put_rule(
                Name=name,
                EventBusName=bus,
                EventPattern=json.dumps(props["EventPattern"]),
                State=props.get("State", "ENABLED"),
            )
            events.put_targets(
                Rule=name,
                EventBusName=bus,
                Targets=[{"Id": t["Id"], "Arn": t["Arn"]} for t in props.get("Targets", [])],
            )
        lam = self.client("lambda")
        self.stream.install()
        for res in resources_of_type(self.template, "AWS::Lambda::EventSourceMapping").values():
            props = resolve(res["Properties"])
            function = str(props["FunctionName"])
            source = str(props["EventSourceArn"])
            if ":dynamodb:" in source:
                filters = props.get("FilterCriteria", {}).get("Filters", [])
                mapping = lam.create_event_source_mapping(
                    EventSourceArn=source,
                    FunctionName=function,
                    StartingPosition=props.get("StartingPosition", "TRIM_HORIZON"),
                    BatchSize=int(props.get("BatchSize", 100)),
                )
                self.stream.filters[mapping["FunctionArn"]] = [json.loads(f["Pattern"]) for f in filters]
            elif ":sqs:" in source:
                # Not moto's own SQS mapping: it would invoke at send time and never redeliver.
                (url,) = [u for logical, u in self.queue_urls.items() if self.queue_arns[logical] == source]
                poller = SqsPoller(
                    self.client("sqs"),
                    url,
                    source,
                    function,
                    self.invoke,
                    int(props.get("BatchSize", 10)),
                    self.region,
                )
                poller.start()
                self.pollers.append(poller)

    def stop(self) -> None:
        self.stream.stop()
        for poller in self.pollers:
            poller.stop()
        self.pollers.clear()
