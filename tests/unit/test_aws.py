"""voiceclone.aws: the DynamoDB attribute format matches boto3's, and clients come without boto3."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from voiceclone import aws

VALUES: list[Any] = [
    "text",
    "",
    "漢字",
    0,
    -7,
    10**20,
    Decimal("1.5"),
    Decimal("-0.000001"),
    True,
    False,
    None,
    b"\x00\xff",
    ["a", 1, None, {"b": [True, Decimal("2.25")]}],
    {"nested": {"deep": ["x", {"y": 3}]}, "empty": {}, "list": []},
    {"a", "b"},
    {1, 2, Decimal("3.5")},
    {b"a", b"b"},
    set(),
]


@pytest.mark.parametrize("value", VALUES, ids=[f"value{i}" for i in range(len(VALUES))])
def test_serialize_and_deserialize_as_boto3_does(value: Any) -> None:
    wire = aws.serialize(value)
    assert wire == TypeSerializer().serialize(value)
    back = TypeDeserializer().deserialize(wire)
    expected = back.value if isinstance(back, Binary) else back
    assert aws.deserialize(wire) == expected


# Ids by position: a set's repr follows the hash seed, which differs between xdist workers.
@pytest.mark.parametrize(
    "value", [1.5, {1.5}, {"a", 1}, object()], ids=["float", "float-set", "mixed-set", "object"]
)
def test_what_boto3_refuses_is_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        TypeSerializer().serialize(value)
    with pytest.raises(TypeError):
        aws.serialize(value)


def test_a_number_outside_dynamodbs_precision_is_refused() -> None:
    with pytest.raises(ArithmeticError):
        aws.serialize(Decimal("1." + "1" * 40))


def test_clients_come_from_one_botocore_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    aws.reset()
    first, second = aws.client("dynamodb"), aws.client("sqs")
    assert first.meta.region_name == second.meta.region_name == "eu-central-1"
    assert aws.session() is aws.session()
    aws.reset()
