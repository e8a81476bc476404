"""The store's one read-change-write, its versioned writes and its page cursors, on moto's DynamoDB.

Table.change is what every record kind relies on for concurrent writers: these tests hand it writers
that lose the race a given number of times and check it reads again, gives up after exactly
MAX_CONFLICT_RETRIES tries, and lets every other error through at once.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import BaseModel
from voiceclone.domain.errors import Conflict, NotFound, VersionConflict
from voiceclone.store import table as table_module
from voiceclone.store.table import (
    MAX_CONFLICT_RETRIES,
    Table,
    conditional_failed,
    decode_cursor,
    encode_cursor,
    from_attrs,
    item_of,
    page_start,
    to_attrs,
    version_is,
)

from tests.helpers import TABLE_SCHEMA, moto_client


class Counter(BaseModel):
    name: str
    value: int
    version: int = 1
    ratio: float | None = None


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    with moto_client("dynamodb", "us-east-1") as client:
        yield client


@pytest.fixture
def table(dynamodb: Any) -> Iterator[Table]:
    dynamodb.create_table(TableName="t", **TABLE_SCHEMA)
    yield Table("t", dynamodb)
    dynamodb.delete_table(TableName="t")


def put(table: Table, counter: Counter) -> None:
    table.put_new(item_of(counter, pk=f"C#{counter.name}", sk="C", type="counter"))


def read(table: Table, name: str = "a") -> Counter:
    found = table.read(Counter, f"C#{name}", "C")
    assert found is not None
    return found


def write(table: Table, name: str = "a") -> Any:
    def store(new: Counter, old: Counter) -> Counter:
        saved = new.model_copy(update={"version": old.version + 1})
        table.put_versioned(item_of(saved, pk=f"C#{name}", sk="C", type="counter"), old.version, "counter")
        return saved

    return store


# ----- read-change-write ---------------------------------------------------------------------------


def test_change_reads_changes_and_writes_at_the_version_read(table: Table) -> None:
    put(table, Counter(name="a", value=1))
    result = table.change(lambda: read(table), write(table), lambda c: c.model_copy(update={"value": 2}), "a")
    assert (result.value, result.version) == (2, 2)
    assert read(table) == result


def test_nothing_to_change_writes_nothing(table: Table) -> None:
    put(table, Counter(name="a", value=1))
    writes: list[Counter] = []
    result = table.change(
        lambda: read(table), lambda new, old: writes.append(new) or new, lambda c: None, "a"
    )
    assert result == read(table) and writes == []


def test_the_record_given_first_is_not_read_again(table: Table) -> None:
    put(table, Counter(name="a", value=1))
    reads: list[int] = []

    def reader() -> Counter:
        reads.append(1)
        return read(table)

    first = read(table)
    table.change(reader, write(table), lambda c: c.model_copy(update={"value": 5}), "a", first=first)
    assert reads == [] and read(table).value == 5


@pytest.mark.parametrize("losses", [1, 3, MAX_CONFLICT_RETRIES - 1])
def test_a_lost_race_reads_again_and_changes_what_the_other_writer_left(table: Table, losses: int) -> None:
    # Given another writer that gets in first `losses` times, adding 10 each time
    put(table, Counter(name="a", value=0))
    reads: list[int] = []

    def reader() -> Counter:
        current = read(table)
        reads.append(current.value)
        if len(reads) <= losses:  # the other writer, between this read and the write
            other = current.model_copy(update={"value": current.value + 10})
            write(table)(other, current)
        return current

    # When incremented by one
    result = table.change(reader, write(table), lambda c: c.model_copy(update={"value": c.value + 1}), "a")
    # Then every lost race read again, and nothing of the other writer's was lost
    assert reads == [10 * n for n in range(losses + 1)]
    assert result.value == 10 * losses + 1 and read(table).value == 10 * losses + 1


def test_after_max_conflict_retries_lost_races_it_gives_up_with_a_conflict(table: Table) -> None:
    put(table, Counter(name="a", value=0))
    attempts: list[int] = []

    def always_loses(new: Counter, old: Counter) -> Counter:
        attempts.append(old.version)
        raise VersionConflict("Conflict", "changed concurrently")

    with pytest.raises(
        Conflict, match=f"a counter kept changing; gave up after {MAX_CONFLICT_RETRIES} tries"
    ):
        table.change(lambda: read(table), always_loses, lambda c: c, "a counter")
    assert len(attempts) == MAX_CONFLICT_RETRIES == 8


def test_another_conflict_ends_the_change_at_once(table: Table) -> None:
    put(table, Counter(name="a", value=0))
    attempts: list[int] = []

    def refuses(new: Counter, old: Counter) -> Counter:
        attempts.append(1)
        raise Conflict("AlreadyDone", "the caller's own conflict")

    with pytest.raises(Conflict, match="the caller's own conflict"):
        table.change(lambda: read(table), refuses, lambda c: c, "a")
    assert attempts == [1]


# ----- versioned writes ----------------------------------------------------------------------------


def test_put_new_refuses_an_existing_item_and_put_versioned_a_stale_version(table: Table) -> None:
    put(table, Counter(name="a", value=1))
    with pytest.raises(ClientError) as caught:
        put(table, Counter(name="a", value=2))
    assert conditional_failed(caught.value)
    item = item_of(Counter(name="a", value=3, version=2), pk="C#a", sk="C")
    with pytest.raises(VersionConflict, match="counter changed concurrently"):
        table.put_versioned(item, 0, "counter")
    table.put_versioned(item, 1, "counter")
    assert read(table).value == 3
    # An item that does not exist has no version to match
    with pytest.raises(VersionConflict):
        table.put_versioned(item_of(Counter(name="b", value=1), pk="C#b", sk="C"), 1, "counter")


def test_a_transaction_writes_all_or_nothing(table: Table) -> None:
    put(table, Counter(name="a", value=1))
    good = {"Put": {"TableName": "t", "Item": item_of(Counter(name="b", value=1), pk="C#b", sk="C")}}
    stale = {
        "Put": {
            "TableName": "t",
            "Item": item_of(Counter(name="a", value=9, version=2), pk="C#a", sk="C"),
            **version_is(7),
        }
    }
    with pytest.raises(VersionConflict, match="pair changed concurrently"):
        table.transact([good, stale], "pair")
    assert table.read(Counter, "C#b", "C") is None and read(table).value == 1
    table.transact([good], "pair")
    assert read(table, "b").value == 1


def test_only_a_failed_condition_is_a_conflict() -> None:
    def error(code: str, reasons: list[dict[str, str]] | None = None) -> ClientError:
        response: dict[str, Any] = {"Error": {"Code": code, "Message": "m"}}
        if reasons is not None:
            response["CancellationReasons"] = reasons
        return ClientError(response, "PutItem")  # type: ignore[arg-type]

    assert conditional_failed(error("ConditionalCheckFailedException"))
    assert conditional_failed(error("TransactionCanceledException", [{"Code": "ConditionalCheckFailed"}]))
    assert conditional_failed(
        error("TransactionCanceledException", [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}])
    )
    assert conditional_failed(error("TransactionCanceledException"))
    assert not conditional_failed(error("TransactionCanceledException", [{"Code": "ThrottlingError"}]))
    assert not conditional_failed(error("ProvisionedThroughputExceededException"))
    assert not conditional_failed(ClientError({}, "PutItem"))  # type: ignore[arg-type]


def test_another_write_error_is_not_a_conflict(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    def throttled(**kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "PutItem")

    monkeypatch.setattr(table.client, "put_item", throttled)
    monkeypatch.setattr(table.client, "transact_write_items", throttled)
    with pytest.raises(ClientError, match="ThrottlingException"):
        table.put_versioned({}, 1, "counter")
    with pytest.raises(ClientError, match="ThrottlingException"):
        table.transact([], "pair")


def test_version_is_names_the_version_read() -> None:
    assert version_is(4) == {
        "ConditionExpression": "attribute_exists(pk) AND version = :v",
        "ExpressionAttributeValues": {":v": {"N": "4"}},
    }


# ----- items ---------------------------------------------------------------------------------------


def test_items_round_trip_numbers_and_drop_nones() -> None:
    attrs = to_attrs({"a": 1.5, "b": 2, "c": None, "d": {"e": [1, 2.25]}, "f": "x"})
    assert attrs == {
        "a": {"N": "1.5"},
        "b": {"N": "2"},
        "d": {"M": {"e": {"L": [{"N": "1"}, {"N": "2.25"}]}}},
        "f": {"S": "x"},
    }
    assert from_attrs(attrs) == {"a": 1.5, "b": 2, "d": {"e": [1, 2.25]}, "f": "x"}
    back = from_attrs({"n": {"N": "3"}, "s": {"NS": ["1", "2.5"]}})
    assert back["n"] == 3 and type(back["n"]) is int and sorted(back["s"]) == [1, 2.5]
    assert item_of(Counter(name="a", value=1), pk="P", sk=None) == {
        "name": {"S": "a"},
        "value": {"N": "1"},
        "version": {"N": "1"},
        "pk": {"S": "P"},
    }
    assert from_attrs({"x": {"N": "2.0"}})["x"] == 2 and type(from_attrs({"x": {"N": "2.0"}})["x"]) is int
    assert from_attrs({"x": {"N": "0.1"}})["x"] == 0.1 and not isinstance(
        from_attrs(to_attrs({"x": 0.1}))["x"], Decimal
    )


def test_query_all_follows_every_page(table: Table) -> None:
    for n in range(7):
        table.put_new(to_attrs({"pk": "L", "sk": f"{n:02}", "n": n}))
    found = table.query_all(
        {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "L"}},
            "Limit": 2,
        }
    )
    assert [i["n"] for i in found] == list(range(7))


# ----- pages and cursors ---------------------------------------------------------------------------


def test_pages_go_newest_first_and_the_last_has_no_cursor(table: Table) -> None:
    for n in range(5):
        table.put_new(to_attrs({"pk": f"J#{n}", "sk": "J", "gsi1pk": "T#a", "gsi1sk": f"{n:02}", "n": n}))
    table.put_new(to_attrs({"pk": "J#x", "sk": "J", "gsi1pk": "T#b", "gsi1sk": "99", "n": 99}))
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        items, cursor = table.page("T#a", 2, cursor)
        seen += [i["n"] for i in items]
        pages += 1
        if cursor is None:
            break
    assert seen == [4, 3, 2, 1, 0] and pages == 3


def cursor_of(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


GOOD_KEY = {"pk": {"S": "J#1"}, "sk": {"S": "J"}, "gsi1pk": {"S": "T#a"}, "gsi1sk": {"S": "01"}}


def test_a_cursor_is_the_last_key_and_only_of_its_own_list() -> None:
    cursor = encode_cursor(GOOD_KEY)
    assert cursor is not None and "=" not in cursor.rstrip("=") and decode_cursor(cursor) == GOOD_KEY
    assert page_start(cursor, "T#a") == GOOD_KEY
    assert encode_cursor(None) is None and encode_cursor({}) is None
    assert page_start(None, "T#a") is None and page_start("", "T#a") is None
    with pytest.raises(NotFound, match="not valid"):
        page_start(cursor, "T#b")  # another tenant's list


@pytest.mark.parametrize(
    "key",
    [
        [1, 2],
        {**GOOD_KEY, "extra": {"S": "x"}},
        {k: v for k, v in GOOD_KEY.items() if k != "sk"},
        {**GOOD_KEY, "sk": {"N": "1"}},
        {**GOOD_KEY, "sk": {"S": "J", "N": "1"}},
        {**GOOD_KEY, "sk": {"S": ""}},
        {**GOOD_KEY, "sk": {"S": "x" * 513}},
        {**GOOD_KEY, "sk": {"S": "line\nbreak"}},
        {**GOOD_KEY, "sk": {"S": "é"}},
        {**GOOD_KEY, "sk": {"S": 5}},
        {**GOOD_KEY, "sk": "J"},
    ],
)
def test_a_cursor_that_is_not_a_key_of_this_table_is_refused(key: Any) -> None:
    with pytest.raises(NotFound) as caught:
        page_start(cursor_of(key), "T#a")
    assert caught.value.code == "InvalidCursor"


def test_the_longest_cursor_value_is_still_a_key() -> None:
    key = {**GOOD_KEY, "sk": {"S": "x" * table_module.MAX_CURSOR_VALUE_CHARS}}
    assert page_start(cursor_of(key), "T#a") == key


@pytest.mark.parametrize("cursor", ["not base64!", base64.urlsafe_b64encode(b"\xff\xfe").decode(), "e30"])
def test_a_cursor_that_is_not_json_is_refused(cursor: str) -> None:
    with pytest.raises(NotFound):
        page_start(cursor, "T#a")


def test_a_deeply_nested_cursor_is_refused() -> None:
    deep = "[" * 100000 + "]" * 100000
    with pytest.raises(NotFound):
        decode_cursor(base64.urlsafe_b64encode(deep.encode()).decode())
