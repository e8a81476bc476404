"""The one DynamoDB table: models to items and back, pages of a list, and the one versioned read-change-write.

Single-table design (docs/table-design.md has the full picture). Every record kind of the store
(voiceclone.store.jobs, .voices, .speech, .usage, .account) keeps its items here through these
few operations; :meth:`Table.change` is the only read-change-write there is: read a record, let
the caller change it, write it only at the version read, and read again when another writer got
there first, up to :data:`MAX_CONFLICT_RETRIES` times, then :class:`Conflict`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from voiceclone import aws
from voiceclone.domain.errors import Conflict, NotFound, VersionConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from pydantic import BaseModel

# A record read into a model and written back.
Record = TypeVar("Record", bound="BaseModel")

# How often a read-change-write reads again after another writer changed the record under it.
MAX_CONFLICT_RETRIES = 8


def to_attrs(data: dict[str, Any]) -> dict[str, Any]:
    """Serialize a JSON-able dict for DynamoDB (floats become Decimals, Nones are dropped)."""
    plain = json.loads(json.dumps(data, default=str), parse_float=Decimal)
    return {k: aws.serialize(v) for k, v in plain.items() if v is not None}


def item_of(model: BaseModel, **keys: str | None) -> dict[str, Any]:
    """A model's item: its JSON fields and the table's keys (pk, sk, type, index keys) for its kind."""
    return to_attrs({**model.model_dump(mode="json"), **keys})


def from_attrs(item: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | set):
            return [plain(v) for v in value]
        return value

    return {k: plain(aws.deserialize(v)) for k, v in item.items()}


def conditional_failed(error: ClientError) -> bool:
    """Whether a write was refused by its condition (alone, or as part of a transaction)."""
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or not reasons
    return False


def version_is(expected_version: int) -> dict[str, Any]:
    """The condition of a versioned write: the item exists and still has the version its writer read."""
    return {
        "ConditionExpression": "attribute_exists(pk) AND version = :v",
        "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
    }


# ----- pages ------------------------------------------------------------------------------------------

# A page cursor is the key of the last item returned (LastEvaluatedKey of a gsi1 query): these
# four string attributes and nothing else. Anything else is refused before DynamoDB sees it.
CURSOR_ATTRIBUTES = frozenset(("pk", "sk", "gsi1pk", "gsi1sk"))
MAX_CURSOR_VALUE_CHARS = 512


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def _invalid_cursor() -> NotFound:
    return NotFound("InvalidCursor", "the page cursor is not valid; start again without it")


def _cursor_string(value: Any) -> bool:
    """Whether `value` is a DynamoDB string attribute a key of this table can hold."""
    if not isinstance(value, dict) or set(value) != {"S"}:
        return False
    text = value["S"]
    return (
        isinstance(text, str)
        and 0 < len(text) <= MAX_CURSOR_VALUE_CHARS
        and text.isprintable()
        and text.isascii()  # every key this service writes is ASCII (ids, tenants, timestamps)
    )


def page_start(cursor: str | None, gsi1pk: str) -> dict[str, Any] | None:
    """The ExclusiveStartKey a cursor stands for, refused unless it is a page of this very list."""
    start = decode_cursor(cursor)
    if start is None:
        return None
    if (
        set(start) != CURSOR_ATTRIBUTES
        or not all(_cursor_string(start[name]) for name in CURSOR_ATTRIBUTES)
        or start["gsi1pk"]["S"] != gsi1pk
    ):
        raise _invalid_cursor()
    return start


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, RecursionError) as exc:  # not base64, not UTF-8, not JSON, or nested too deep
        raise _invalid_cursor() from exc
    if not isinstance(value, dict):
        raise _invalid_cursor()
    return value


class Table:
    """The table, and what every record kind does with it."""

    def __init__(self, name: str, client: DynamoDBClient | None = None) -> None:
        self.name = name
        self._client = client

    @cached_property
    def client(self) -> DynamoDBClient:
        return self._client or aws.client("dynamodb")

    def read(self, model: type[Record], pk: str, sk: str) -> Record | None:
        """One item by its key, read consistently, as `model`; None if there is none."""
        resp = self.client.get_item(
            TableName=self.name, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        )
        item = resp.get("Item")
        return model.model_validate(from_attrs(item)) if item else None

    def put_new(self, item: dict[str, Any]) -> None:
        """Put an item that must not exist yet."""
        self.client.put_item(TableName=self.name, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def put_versioned(self, item: dict[str, Any], expected_version: int, what: str) -> None:
        """Put an existing item only if its version is still the one the writer read; else VersionConflict."""
        try:
            self.client.put_item(TableName=self.name, Item=item, **version_is(expected_version))
        except ClientError as exc:
            if conditional_failed(exc):
                raise VersionConflict("Conflict", f"{what} changed concurrently") from exc
            raise

    def transact(self, items: list[dict[str, Any]], what: str) -> None:
        """Write `items` all at once or not at all; a failed condition is a VersionConflict naming `what`."""
        try:
            self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if conditional_failed(exc):
                raise VersionConflict("Conflict", f"{what} changed concurrently") from exc
            raise

    def change(
        self,
        read: Callable[[], Record],
        write: Callable[[Record, Record], Record],
        change: Callable[[Record], Record | None],
        what: str,
        first: Record | None = None,
    ) -> Record:
        """The one versioned read-change-write of the store.

        ``change`` gets the record as read and returns the new one, or None when there is nothing
        to do (the idempotent case: a repeated event finds its work done). ``write(new, read)``
        stores it only at the version read and raises VersionConflict when another writer got there
        first; then the record is read again and changed again. Any other error (a Conflict of the
        caller's own, say) ends it at once. ``first``: a record the caller
        just read, used for the first try instead of reading it once more.
        """
        current = first
        for _ in range(MAX_CONFLICT_RETRIES):
            if current is None:
                current = read()
            updated = change(current)
            if updated is None:
                return current
            try:
                return write(updated, current)
            except VersionConflict:
                current = None
        raise Conflict("Conflict", f"{what} kept changing; gave up after {MAX_CONFLICT_RETRIES} tries")

    def query_all(self, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item a query finds, page after page."""
        items: list[dict[str, Any]] = []
        kwargs = {"TableName": self.name, **kwargs}
        while True:
            resp = self.client.query(**kwargs)
            items += [from_attrs(i) for i in resp.get("Items", [])]
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs = {**kwargs, "ExclusiveStartKey": resp["LastEvaluatedKey"]}

    def page(self, gsi1pk: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of a gsi1 list (newest first) and the cursor of the next one."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": gsi1pk}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = page_start(cursor, gsi1pk)
        if start:
            kwargs["ExclusiveStartKey"] = start
        resp = self.client.query(**kwargs)
        return [from_attrs(i) for i in resp.get("Items", [])], encode_cursor(resp.get("LastEvaluatedKey"))
