"""A unit test's own moto, in a worker whose local stack is up, leaves the stack as it was.

pytest-xdist runs unit and integration tests on the same workers, so a unit test that makes AWS
resources in this process can run while the worker's session stack is serving.
"""

from __future__ import annotations

from voiceclone_local.stack import LocalStack

from tests.helpers import TABLE_SCHEMA, moto_client


def test_a_unit_tests_moto_neither_resets_nor_reaches_the_stack(stack: LocalStack) -> None:
    # Given the stack's table and bucket, with an item of its own
    dynamodb = stack.client("dynamodb")
    dynamodb.put_item(TableName=stack.table_name, Item={"pk": {"S": "probe#moto"}, "sk": {"S": "x"}})
    stack_tables = set(dynamodb.list_tables()["TableNames"])
    # When a unit test makes and removes a table of its own, in a region the stack does not use
    with moto_client("dynamodb", "eu-west-3") as client:
        client.create_table(TableName="t", **TABLE_SCHEMA)
        assert client.list_tables()["TableNames"] == ["t"]
        client.delete_table(TableName="t")
    # Then the stack's tables and item are all still there once it is done
    assert set(dynamodb.list_tables()["TableNames"]) == stack_tables
    item = dynamodb.get_item(TableName=stack.table_name, Key={"pk": {"S": "probe#moto"}, "sk": {"S": "x"}})
    assert "Item" in item
    assert stack.bucket_name in {b["Name"] for b in stack.client("s3").list_buckets()["Buckets"]}
    dynamodb.delete_item(TableName=stack.table_name, Key={"pk": {"S": "probe#moto"}, "sk": {"S": "x"}})
