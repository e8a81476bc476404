"""Request hardening: what the API refuses before routing, in one place.

A body that is too large, not JSON text, not UTF-8, nested deeper than any request model goes, or
holding a lone surrogate is refused before it is parsed (413, 415, 422); a query parameter the
route does not take is an error, not silently ignored. The one route that takes a file
(POST /v1/provenance: audio) has its own media types and size limit instead.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from voiceclone.domain.api_models import ErrorBody
from voiceclone.rest.errors import unsupported_media_type, validation_error_body

# A request body larger than any this API takes is refused before it is parsed; so is JSON nested
# deeper than any request model goes (a parser's recursion must not be the client's to spend).
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16
# The routes whose body is an audio file, the media types they take (infra/api.py has API Gateway pass
# them as bytes) and the largest file: Lambda takes a 6 MB event, in which the file travels base64-encoded.
AUDIO_BODY_ROUTES = frozenset({"/v1/provenance"})
AUDIO_MEDIA_TYPES = ("audio/wav", "audio/x-wav", "audio/wave", "audio/mpeg", "application/octet-stream")
MAX_AUDIO_BYTES = 4 * 1024 * 1024


def refuse_unreadable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """Refuse a body that is not small, UTF-8, sanely nested JSON text (an API Gateway proxy response).

    413 over MAX_BODY_BYTES, 415 for another declared media type, 422 (in the validation error's
    shape) for bytes that are not UTF-8, JSON nested deeper than MAX_JSON_DEPTH, or a string
    holding a lone surrogate (valid JSON escapes, but no Unicode text: nothing downstream can
    encode it). JSON syntax errors are left to the validation, which names where they are.
    """
    raw = event.get("body")
    if event.get("resource") in AUDIO_BODY_ROUTES:
        return _refuse_unreadable_audio(event)
    if not raw:
        return None
    if _body_bytes(raw, bool(event.get("isBase64Encoded"))) > MAX_BODY_BYTES:
        error = ErrorBody(
            error="PayloadTooLarge", message=f"the body is over {MAX_BODY_BYTES} bytes; no request needs that"
        )
        return _proxy_response(413, error.model_dump_json())
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type and media_type != "application/json":
        return _proxy_response(415, unsupported_media_type(media_type).model_dump_json())
    text = raw
    if event.get("isBase64Encoded"):
        try:
            text = base64.b64decode(raw, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return _invalid_body(["body"], "the body is not UTF-8 encoded JSON", "json_invalid")
    try:
        value = json.loads(text)
    except ValueError:
        return None  # the validation names the syntax error
    except RecursionError:  # nested deeper than the parser goes
        return _invalid_body(["body"], f"JSON nested deeper than {MAX_JSON_DEPTH} levels", "json_depth")
    problem = _json_problem(value)
    return _invalid_body(*problem) if problem else None


def _refuse_unreadable_audio(event: dict[str, Any]) -> dict[str, Any] | None:
    """An audio route's body: one of its media types (else 415), at most MAX_AUDIO_BYTES (else 413)."""
    raw = event.get("body") or ""
    if _body_bytes(raw, bool(event.get("isBase64Encoded"))) > MAX_AUDIO_BYTES:
        error = ErrorBody(
            error="PayloadTooLarge",
            message=f"the file is over {MAX_AUDIO_BYTES // (1024 * 1024)} MiB; check a shorter one",
        )
        return _proxy_response(413, error.model_dump_json())
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in AUDIO_MEDIA_TYPES:
        shown = media_type.encode("ascii", "backslashreplace").decode()[:100] or "no media type"
        error = ErrorBody(
            error="UnsupportedMediaType",
            message=f"send the audio file as {', '.join(AUDIO_MEDIA_TYPES)}, not {shown}",
        )
        return _proxy_response(415, error.model_dump_json())
    return None


def _body_bytes(raw: str, base64_encoded: bool) -> int:
    """The body's size in bytes as the client sent it (a character of text may take up to four)."""
    if base64_encoded:
        return len(raw) * 3 // 4
    if len(raw) > MAX_BODY_BYTES:
        return len(raw)  # over the limit whatever the encoding: no need to encode it
    return len(raw.encode("utf-8", "surrogatepass"))


def _json_problem(value: Any) -> tuple[list[str | int], str, str] | None:
    """(loc, msg, type) of the first value too deeply nested or holding a lone surrogate, else None."""
    stack: list[tuple[list[str | int], Any]] = [(["body"], value)]
    while stack:
        loc, item = stack.pop()
        if len(loc) - 1 > MAX_JSON_DEPTH:
            return loc[: MAX_JSON_DEPTH + 1], f"JSON nested deeper than {MAX_JSON_DEPTH} levels", "json_depth"
        children: list[tuple[Any, Any]] = []
        if isinstance(item, dict):
            children = list(item.items())
        elif isinstance(item, list):
            children = list(enumerate(item))
        for key, child in children:
            if isinstance(key, str) and _has_surrogate(key):
                return loc, "a key holds a lone surrogate: not Unicode text", "string_unicode"
            stack.append(([*loc, _safe(key)], child))
        if isinstance(item, str) and _has_surrogate(item):
            return loc, "the string holds a lone surrogate (e.g. \\ud800): not Unicode text", "string_unicode"
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _safe(key: Any) -> str | int:
    return key if isinstance(key, int) else key.encode("utf-8", "backslashreplace").decode()[:64]


def _invalid_body(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    return _proxy_response(422, json.dumps(validation_error_body([{"loc": loc, "msg": msg, "type": kind}])))


def _proxy_response(status: int, body: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": body}


def reject_unknown_query_parameters(
    app: APIGatewayRestResolver, next_middleware: NextMiddleware
) -> Response[Any]:
    """A query parameter the route does not take is an error, not silently ignored (`?limt=5`)."""
    route = app.context.get("_route")  # the matched route, as Powertools' own validation reads it
    known = {p.alias for p in route.dependant.query_params} if route is not None else set()
    unknown = sorted(set(app.current_event.query_string_parameters or {}) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "no query parameters"
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"unknown query parameter; this route takes {takes}",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ]
        )
    return next_middleware(app)
