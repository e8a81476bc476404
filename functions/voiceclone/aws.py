"""AWS clients straight from botocore, and DynamoDB's attribute format: what the functions need of boto3.

``import boto3`` alone pulls in s3transfer (and through it multiprocessing and concurrent.futures)
and the resource layer, none of which the functions use: they make low-level client calls only.
Clients built here come from one botocore session per process, as boto3's default session would
give them (same credential chain, region, ``AWS_ENDPOINT_URL``, retries), so a handler's import
path never reaches boto3. The DynamoDB (de)serializer mirrors ``boto3.dynamodb.types`` for the
types the store writes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import TYPE_CHECKING, Any, Literal, overload

from botocore.session import Session, get_session

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_stepfunctions import SFNClient

_lock = threading.Lock()
_session: Session | None = None


def session() -> Session:
    """This process's botocore session, built on first use."""
    global _session
    with _lock:
        if _session is None:
            _session = get_session()
        return _session


@overload
def client(service: Literal["dynamodb"], config: Config | None = None) -> DynamoDBClient: ...
@overload
def client(service: Literal["s3"], config: Config | None = None) -> S3Client: ...
@overload
def client(service: Literal["stepfunctions"], config: Config | None = None) -> SFNClient: ...
@overload
def client(service: Literal["secretsmanager"], config: Config | None = None) -> SecretsManagerClient: ...
@overload
def client(service: str, config: Config | None = None) -> Any: ...
def client(service: str, config: Config | None = None) -> Any:
    """A low-level client for `service`, like ``boto3.client(service, config=config)``.

    Client creation is not thread-safe on one session (it loads and caches models), hence the lock.
    """
    current = session()
    with _lock:
        return current.create_client(service, config=config)


def reset() -> None:
    """Forget the session (its cached credentials): for a process whose AWS environment changed."""
    global _session
    with _lock:
        _session = None


# ----- DynamoDB's attribute values (boto3.dynamodb.types, for what the store writes) -------------

# DynamoDB's number range and precision, as boto3 enforces it.
_DYNAMODB_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)


def _number(value: int | Decimal) -> str:
    return str(_DYNAMODB_CONTEXT.create_decimal(value))


def serialize(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value (``{"S": ...}``, ``{"N": ...}``...).

    Numbers must be int or Decimal (a float raises TypeError, as in boto3).
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Set):
        items = list(value)
        # In boto3's order: an empty set is a number set.
        if all(isinstance(v, int | Decimal) and not isinstance(v, bool) for v in items):
            return {"NS": [_number(v) for v in items]}
        if all(isinstance(v, str) for v in items):
            return {"SS": items}
        if all(isinstance(v, bytes | bytearray) for v in items):
            return {"BS": [bytes(v) for v in items]}
        raise TypeError(f"Unsupported set for DynamoDB: {value!r}")
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(v) for v in value]}
    raise TypeError(f"Unsupported type {type(value)} for value {value!r}")


def deserialize(attr: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value as a Python value (numbers as Decimal, as in boto3)."""
    if not attr:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    ((kind, value),) = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        return _DYNAMODB_CONTEXT.create_decimal(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "B":
        return bytes(value)
    if kind == "M":
        return {k: deserialize(v) for k, v in value.items()}
    if kind == "L":
        return [deserialize(v) for v in value]
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {_DYNAMODB_CONTEXT.create_decimal(v) for v in value}
    if kind == "BS":
        return {bytes(v) for v in value}
    raise TypeError(f"Dynamodb type {kind} is not supported")
