"""moto's server for the local stack, made safe to share between threads.

moto keeps every service's state in plain Python objects and is not thread-safe:
under concurrent jobs its DynamoDB answered TransactWriteItems with "dictionary
changed size during iteration" while another request wrote the same table. Its
backends also call each other directly (S3 notifications and DynamoDB streams
invoke Lambda, EventBridge sends to SQS), so one lock per service would not cover
them. Here:

- ``GATE``: one lock over moto's state. Every request to the server holds it while
  moto handles it, and the in-process paths that reach moto's state (the
  DynamoDB-stream dispatcher) take it too. The Lambda shim releases it while a
  function's handler runs, so a handler (which calls moto over HTTP) never waits
  for the request that invoked it, and moto's own work, a few milliseconds per
  request, is all that is serialized.
- TransactWriteItems without moto's deep copy of every table it touches (whose
  size grows with the table, and whose copy dragged along the table's stream and
  event-source mappings): an undo log of the items written, the same answers.
- Step Functions' tasks reuse one boto3 client per service instead of building
  one per task (moto builds a new client for every Lambda task).
- The server finds a request's backend without listing moto's package directory
  (moto lists it, and stats each of its ~200 entries, on every request).
- DynamoDB's item operations answer their result as it is: it is already the wire
  format, and moto's generic serializer, which walks every attribute of every item
  through the service model, was most of moto's CPU under load (and all of it holds
  the lock).

In front of it all, the server answers only loopback Hosts (``loopback``) and, from a browser, only
the studio's uploads and audio (``browser_access``): moto checks no signature.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from voiceclone_local import loopback
from voiceclone_local.browser_access import BrowserGuard, StudioStorage


class MotoGate:
    """A lock the holding thread may take again, and set aside while it waits on other threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self.acquisitions = 0  # how many times the lock was taken (not re-entered), for tests

    def _depth(self) -> int:
        return int(getattr(self._local, "depth", 0))

    @property
    def held_here(self) -> bool:
        return self._depth() > 0

    @contextmanager
    def held(self) -> Iterator[None]:
        depth = self._depth()
        if depth == 0:
            self._lock.acquire()
            self.acquisitions += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                self._lock.release()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Let other threads in while this one waits (a Lambda handler runs, calling moto over HTTP)."""
        depth = self._depth()
        if depth == 0:
            yield
            return
        self._local.depth = 0
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire()
            self.acquisitions += 1
            self._local.depth = depth


GATE = MotoGate()


def _gated_app(app: Any) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """The WSGI app, each request handled under the gate, its body read before the gate opens again."""

    def call(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with GATE.held():
            result = app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return call


class LocalMotoServer:
    """moto's Werkzeug server (backlog 128, a thread per request) with every request under ``GATE``.

    Threads are not pooled here: a Lambda invocation keeps its request's thread while the
    handler runs and calls moto again, so a bounded pool could wait on itself. Until
    ``serve_studio`` names the studio, no browser request is answered.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._browsers: BrowserGuard | None = None
        self._studio = StudioStorage()

    def serve_studio(self, studio: StudioStorage) -> None:
        """Answer the studio's browser requests (from its origins, to its buckets) from now on."""
        self._studio = studio
        if self._browsers is not None:
            self._browsers.studio = studio

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        moto = _gated_app(DomainDispatcherApplication(create_backend_app))
        self._browsers = BrowserGuard(moto, self._studio)
        app = loopback.wsgi(self._browsers, self.port)
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


# ----- corrections to moto, installed with the server -----------------------------------------------


class _StreamRecorder:
    """Stands in for a table's stream shard during a transaction: records reach the stream at commit."""

    def __init__(self) -> None:
        self.records: list[tuple[Any, Any]] = []

    def add(self, old: Any, new: Any) -> None:
        self.records.append((old, new))


def _transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems with an undo log of the items it writes instead of whole-table copies.

    The checks, the order and the answers are moto's (moto 5.2.5,
    ``DynamoDBBackend.transact_write_items``); only the snapshot and the rollback differ, and
    stream records are written once the transaction commits, as in DynamoDB.
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    tables = {
        name: backend.tables[name]
        for item in transact_items
        for name in [next(iter(item.values())).get("TableName")]
        if name and name in backend.tables
    }
    shards = {name: table.stream_shard for name, table in tables.items() if table.stream_shard is not None}
    recorders = {name: _StreamRecorder() for name in shards}
    undo: list[tuple[Any, Any, Any, Any]] = []  # (table, hash key, range key, the item before or None)
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    def remember(table_name: str, key: dict[str, Any]) -> None:
        table = backend.get_table(table_name)
        hash_value, range_value = backend.get_keys_value(table, key)
        before = table.get_item(hash_value, range_value)
        undo.append((table, hash_value, range_value, copy.deepcopy(before)))

    def rollback() -> None:
        for table, hash_value, range_value, before in reversed(undo):
            if range_value:
                if before is None:
                    table.items[hash_value].pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = before
            elif before is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = before

    for name, recorder in recorders.items():
        tables[name].stream_shard = recorder
    committed = False
    try:
        errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
        for item in transact_items:
            original_item: dict[str, Any] | None = None
            if len(list(item.keys())) > 1:
                raise TransactWriteSingleOpException
            try:
                op_type, op = next(iter(item.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                condition_expression = op.get("ConditionExpression")
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    attrs = op["Item"]
                    table = backend.get_table(table_name)
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]
                check_unicity(table_name, key)
                current = backend.get_item(table_name, key)
                if condition_expression is not None:
                    condition_op = get_filter_expression(condition_expression, names, values)
                    if not condition_op.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)
                if op_type != "ConditionCheck":
                    remember(table_name, key)
                if op_type == "Put":
                    backend.put_item(
                        table_name,
                        op["Item"],
                        condition_expression=condition_expression,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Delete":
                    backend.delete_item(
                        table_name,
                        key,
                        condition_expression=condition_expression,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Update":
                    backend.update_item(
                        table_name,
                        key,
                        update_expression=op["UpdateExpression"],
                        condition_expression=condition_expression,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                rollback()
                raise
            except ConditionalCheckFailed as e:
                errors.append(("ConditionalCheckFailed", str(e.message), original_item))
            except Exception as e:  # noqa: BLE001 - moto reports any other error as the item's reason
                errors.append((type(e).__name__, str(e), original_item))
        if any(code is not None for code, _, _ in errors):
            rollback()
            raise TransactionCanceledException(errors)
        committed = True
    finally:
        for name, shard in shards.items():
            tables[name].stream_shard = shard
        if committed:
            for name, shard in shards.items():
                for old, new in recorders[name].records:
                    shard.add(old, new)


# Operations whose result moto already holds in DynamoDB's JSON wire format (items, keys, counts).
_ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def _fast_item_results(original: Callable[..., Any]) -> Callable[..., Any]:
    def execute_result(self: Any, context: Any) -> Any:
        result = self.result
        if context.operation_model.name in _ITEM_OPERATIONS and isinstance(result, dict):
            body = json.dumps(result, separators=(",", ":"))
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    return execute_result


def _cached_boto_client_for(original: Callable[..., Any]) -> Callable[..., Any]:
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # Credentials are not checked by moto; clients are thread-safe, so one per service serves all.
        with lock:
            if (region, service) not in clients:
                clients[(region, service)] = original(region=region, service=service)
            return clients[(region, service)]

    return boto_client_for


def install() -> Callable[[], None]:
    """Apply the corrections to moto; returns the function that removes them."""
    import sys

    import moto.backends

    # The Lambda task's module, imported now so that it is among the modules patched below.
    import moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoResult
    from moto.stepfunctions.parser.asl.utils import boto_client

    original_modules = moto.backends.list_of_moto_modules
    modules = tuple(original_modules())
    original_transact = DynamoDBBackend.transact_write_items
    original_execute_result = DynamoResult.execute_result
    original_client_for = boto_client.boto_client_for
    cached = _cached_boto_client_for(original_client_for)
    # Each interpreter module imported the function by name: replace it where it was imported
    # (its own module too, for the modules imported later).
    importers = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("moto.stepfunctions.")
        and getattr(module, "boto_client_for", None) is original_client_for
    ]
    moto.backends.list_of_moto_modules = lambda: modules
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign,assignment]
    DynamoResult.execute_result = _fast_item_results(original_execute_result)  # type: ignore[method-assign]
    for module in importers:
        module.boto_client_for = cached  # type: ignore[attr-defined]

    def uninstall() -> None:
        moto.backends.list_of_moto_modules = original_modules
        DynamoDBBackend.transact_write_items = original_transact  # type: ignore[method-assign]
        DynamoResult.execute_result = original_execute_result  # type: ignore[method-assign]
        for module in importers:
            module.boto_client_for = original_client_for  # type: ignore[attr-defined]

    return uninstall
