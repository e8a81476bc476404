"""The soak's hostile client: requests no client should send, each with the answer the service owes it.

Every case builds one request from what the run has made so far (a voice of some vendor, a job
id) and judges the answer: as expected, another 4xx, accepted (2xx) when it should not be, or a
5xx. A 5xx to a request whose input is bad is the service failing on client input; a case whose
input is valid (only its headers are odd) may meet an injected vendor fault like any request,
and a 502/503 naming the vendor then counts as the vendor's.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

# Speech texts with nothing to read: emoji, zero-width spaces, punctuation only, control characters.
UNREADABLE_TEXTS = ("😀😀", "\u200b\u200b", "。。。！", "...", "-", "<>", "\x01\x02\x7f")
# A speed the API's schema takes (0.5 to 2.0) but the vendor cannot speak at.
SPEED_OUTSIDE_VENDOR = {"tencent_vrs": 0.55, "tencent_gateway": 1.5}
# A usage period of 367 days (the API allows 366).
LONG_USAGE_PERIOD = {"from": "2025-12-05", "to": "2026-12-06"}
OVERSIZED_BYTES = 70 * 1024  # the API refuses bodies over 64 KB


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    json_body: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    key: str | None = None  # None: the soak tenant's own key; "" sends no Authorization header


@dataclass(frozen=True)
class World:
    """What a case may build on: the run's ready voices by vendor, its jobs, the vendors."""

    voices: Mapping[str, Sequence[str]]
    job_ids: Sequence[str]
    vendors: Sequence[str]


Expect = Callable[[httpx.Response], bool]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[World, random.Random], Request | None]  # None: nothing to build it on yet
    expect: Expect
    expected: str  # the answer owed, in words for the table
    valid_input: bool = False  # only the headers are odd: a vendor's 502/503 is then the vendor's
    vendor_of: Callable[[Request], str] = lambda _: ""


@dataclass(frozen=True)
class Answer:
    case: str
    vendor: str
    status: int
    error: str
    verdict: str  # "expected", "another 4xx", "2xx, not as owed", "5xx", "vendor 5xx"
    speech_id: str = ""
    job_id: str = ""


def status_is(*statuses: int) -> Expect:
    return lambda response: response.status_code in statuses


def refused_with(status: int, error: str) -> Expect:
    return lambda response: response.status_code == status and error_of(response) == error


def json_not_audio(response: httpx.Response) -> bool:
    """`Accept: audio/wav;q=0, application/json` refuses WAV: the answer is JSON (or an error)."""
    return not response.headers.get("content-type", "").startswith("audio/")


def error_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _job_body(**changes: Any) -> dict[str, Any]:
    return {
        "vendor": "qiniu",
        "voice_name": "hostile",
        "speaker_name": "hostile speaker",
        "gender": "female",
        "language": "zh-CN",
        **changes,
    }


def _speech(
    vendors: Sequence[str] | None = None, headers: Mapping[str, str] | None = None, **body: Any
) -> Callable[[World, random.Random], Request | None]:
    """A speech request to a ready voice of one of ``vendors`` (any vendor's when None)."""

    def build(world: World, rng: random.Random) -> Request | None:
        ready = [v for v in (vendors or world.vendors) if world.voices.get(v)]
        if not ready:
            return None
        voice = rng.choice(list(world.voices[rng.choice(ready)]))
        return Request("POST", f"/v1/voices/{voice}/speech", json_body=body, headers=headers or {})

    return build


def _fixed(request: Request) -> Callable[[World, random.Random], Request | None]:
    return lambda world, rng: request


def _with_job(make: Callable[[str], Request]) -> Callable[[World, random.Random], Request | None]:
    return lambda world, rng: make(rng.choice(list(world.job_ids))) if world.job_ids else None


def cases(vendors: Sequence[str], sync_vendors: Sequence[str]) -> list[Case]:
    """Every hostile case the soak mixes in; one per unreadable text and per speed a vendor lacks.

    ``sync_vendors`` answer speech in the call (audio in the response is theirs to send).
    """
    found = [
        Case(
            "malformed JSON",
            _fixed(Request("POST", "/v1/jobs", content=b'{"vendor": "qiniu",', headers=_JSON)),
            status_is(400, 422),
            "400/422",
        ),
        Case(
            "unknown field",
            _fixed(Request("POST", "/v1/jobs", json_body=_job_body(colour="red"))),
            status_is(422),
            "422",
        ),
        Case(
            "wrong types",
            _fixed(Request("POST", "/v1/jobs", json_body=_job_body(vendor=7, voice_name=["x"], gender=True))),
            status_is(422),
            "422",
        ),
        Case(
            "oversized body",
            _fixed(Request("POST", "/v1/jobs", json_body=_job_body(voice_name="x" * OVERSIZED_BYTES))),
            status_is(413),
            "413",
        ),
        Case(
            "control characters in a name",
            _fixed(Request("POST", "/v1/jobs", json_body=_job_body(voice_name="a\x1b[2Jb"))),
            status_is(422),
            "422",
        ),
        Case(
            "unknown job id",
            lambda world, rng: Request("GET", f"/v1/jobs/{uuid.UUID(int=rng.getrandbits(128)).hex}"),
            status_is(404),
            "404",
        ),
        Case(
            "malformed job id",
            _fixed(Request("GET", "/v1/jobs/..%2F..%2Fetc%2Fpasswd")),
            status_is(400, 404, 422),
            "400/404/422",
        ),
        Case(
            "unknown speech id",
            lambda world, rng: Request("GET", f"/v1/speech/sp-{uuid.UUID(int=rng.getrandbits(128)).hex}"),
            status_is(404),
            "404",
        ),
        Case(
            "unknown sentence",
            _with_job(lambda job: Request("POST", f"/v1/jobs/{job}/sentences/99999/upload-url")),
            status_is(404, 409, 422),
            "404/409/422",
        ),
        Case(
            "cursor not issued",
            _fixed(Request("GET", "/v1/jobs", params={"cursor": "eyJub3QiOiAiYSBjdXJzb3IifQ"})),
            status_is(404),
            "404",
        ),
        Case(
            "unknown query parameter",
            _fixed(Request("GET", "/v1/voices", params={"sort": "name"})),
            status_is(422),
            "422",
        ),
        Case(
            "wrong key", _fixed(Request("GET", "/v1/jobs", key="vck_not-a-key")), status_is(401, 403), "401"
        ),
        Case("no key", _fixed(Request("GET", "/v1/jobs", key="")), status_is(401), "401"),
        Case(
            "forged callback",
            _with_job(
                lambda job: Request(
                    "POST",
                    f"/v1/callbacks/tencent_vrs/{job}",
                    json_body={"TaskId": "forged", "Status": 2},
                    params={"token": "forged"},
                    key="",
                )
            ),
            status_is(400, 401, 403, 404, 409),
            "4xx",
        ),
        Case(
            "usage over 367 days",
            _fixed(Request("GET", "/v1/usage", params=LONG_USAGE_PERIOD)),
            status_is(400),
            "400",
        ),
        Case(
            "volcengine speaker_id ../../x",
            _fixed(
                Request(
                    "POST",
                    "/v1/jobs",
                    json_body=_job_body(
                        vendor="volcengine", voice_name="hostile", options={"speaker_id": "../../x"}
                    ),
                )
            ),
            lambda response: 400 <= response.status_code < 500,
            "4xx at create",
            vendor_of=lambda request: "volcengine",
        ),
        Case("speed true", _speech(text="你好。", speed=True), status_is(422), "422"),
        Case("text over 5,000 characters", _speech(text="好" * 5001), status_is(422), "422"),
        Case(
            "Accept: audio/wav;q=0, application/json",
            _speech(
                sync_vendors,
                headers={"Accept": "audio/wav;q=0, application/json"},
                text="你好。",
            ),
            json_not_audio,
            "JSON, no WAV",
            valid_input=True,
        ),
    ]
    found += [
        Case(f"unreadable text {text!r}", _speech(text=text), status_is(422), "422")
        for text in UNREADABLE_TEXTS
    ]
    found += [
        Case(
            f"{vendor} speed {speed}",
            _speech([vendor], text="你好。", speed=speed),
            refused_with(422, "UnsupportedSpeed"),
            "422 UnsupportedSpeed",
        )
        for vendor, speed in SPEED_OUTSIDE_VENDOR.items()
        if vendor in vendors
    ]
    return found


_JSON = {"Content-Type": "application/json"}


def send(api: httpx.Client, key: str, request: Request) -> httpx.Response:
    """The request as built, with the tenant's key unless the case names another (or none)."""
    headers = dict(request.headers)
    chosen = key if request.key is None else request.key
    if chosen:
        headers["Authorization"] = f"Bearer {chosen}"
    content = request.content
    if request.json_body is not None:
        content = json.dumps(request.json_body, ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    return api.request(
        request.method, request.path, content=content, headers=headers, params=dict(request.params)
    )


def judge(case: Case, request: Request, response: httpx.Response, voice_vendors: Mapping[str, str]) -> Answer:
    """One answer's verdict; what it made (a speech, a job) is kept so the soak can follow it."""
    status, error = response.status_code, error_of(response)
    vendor = case.vendor_of(request) or _voice_vendor(request, voice_vendors)
    if status >= 500:
        verdict = (
            "vendor 5xx" if case.valid_input and status in (502, 503) and _names_vendor(response) else "5xx"
        )
    elif case.expect(response):
        verdict = "expected"
    else:
        verdict = "2xx, not as owed" if status < 400 else "another 4xx"
    made = _made(response) if status < 300 else {}
    return Answer(
        case.name, vendor, status, error, verdict, made.get("speech_id", ""), made.get("job_id", "")
    )


def _voice_vendor(request: Request, voice_vendors: Mapping[str, str]) -> str:
    parts = request.path.split("/")
    return voice_vendors.get(parts[3], "") if request.path.startswith("/v1/voices/") else ""


def _names_vendor(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and bool((body.get("details") or {}).get("vendor") or body.get("vendor"))


def _made(response: httpx.Response) -> dict[str, str]:
    speech_id = response.headers.get("voiceclone-speech-id", "")
    if speech_id:
        return {"speech_id": speech_id}
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {k: str(body[k]) for k in ("speech_id", "job_id") if body.get(k)}
