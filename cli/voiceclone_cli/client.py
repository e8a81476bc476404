"""An HTTP client of the voiceclone REST API (local stack or deployed), used by the CLI."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

KEY_HINT = (
    "set VOICECLONE_API_KEY (the local stack prints one at start: voiceclone local up; "
    "in AWS: voiceclone admin issue-key --tenant <id>)"
)
UNREACHABLE_HINT = "is the local stack running? voiceclone local up (or check VOICECLONE_API_URL)"


class ApiError(Exception):
    """A failed call: the API's error code and message, and what to do about it where that is known."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{error}: {message} (HTTP {status})")
        self.status = status
        self.error = error
        self.message = message
        self.hint = hint
        self.details = details or {}


class ApiKey(httpx.Auth):
    """The API key as a bearer token: what the API's authorizer (or the local gateway) checks."""

    def __init__(self, key: str) -> None:
        self.key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.key}"
        yield request


def _validation_message(detail: Any) -> str:
    """Powertools' 422 `detail` list as `field: problem; field: problem`."""
    if not isinstance(detail, list):
        return str(detail)
    problems = []
    for item in detail:
        if not isinstance(item, dict):
            problems.append(str(item))
            continue
        loc = [str(part) for part in item.get("loc") or [] if part not in ("body", "query", "path")]
        where = ".".join(loc) or "request"
        problems.append(f"{where}: {item.get('msg') or item.get('type') or 'invalid'}")
    return "; ".join(problems) or "the request is not valid"


def error_from(response: httpx.Response, has_key: bool) -> ApiError:
    """The ApiError for an HTTP error response, whatever shape its body has."""
    status = response.status_code
    try:
        body: Any = response.json() if response.content else {}
    except ValueError:
        body = response.text.strip()[:300]
    if status == 401:
        why = "the API key was refused" if has_key else "no API key was sent"
        return ApiError(status, "Unauthorized", why, hint=KEY_HINT)
    if status == 403:
        message = body.get("message") if isinstance(body, dict) else None
        return ApiError(status, "Forbidden", str(message or "the API key may not do this"), hint=KEY_HINT)
    if not isinstance(body, dict):
        return ApiError(status, f"HTTP{status}", str(body) or response.reason_phrase)
    if status == 422 and "detail" in body:
        return ApiError(
            status,
            "InvalidRequest",
            _validation_message(body["detail"]),
            details={"detail": body["detail"]},
        )
    error = str(body.get("error") or body.get("message") or f"HTTP{status}")
    message = str(body.get("message") or body.get("detail") or response.reason_phrase)
    details = body.get("details")
    vendor = details.get("vendor") if isinstance(details, dict) else None
    who = f"the vendor ({vendor})" if vendor else "the vendor"
    hint = None
    if status == 503:
        hint = f"{who} is busy or unavailable: try again in a minute"
    elif status == 502:
        hint = f"{who} refused the call: check the vendor's credentials and the message above"
    return ApiError(status, error, message, hint=hint, details=details if isinstance(details, dict) else {})


# A streamed answer: a few seconds to connect, as long as a vendor may pause between two chunks.
STREAM_TIMEOUT = httpx.Timeout(30.0, read=120.0)


class StreamCut(Exception):
    """A streamed answer ended without HTTP's last chunk: it failed after its first audio."""


@dataclass
class SpeechStream:
    """A streamed speech's answer: its id, ``live`` or ``whole`` (Voiceclone-Stream), and its audio."""

    speech_id: str
    delivery: str
    media_type: str
    sample_rate: int
    chunks: Iterator[bytes]


def _chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body as it arrives; an answer cut short (the connection closed mid-body) is StreamCut."""
    try:
        yield from response.iter_raw()
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise StreamCut(str(exc)) from exc


class VoicecloneClient:
    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = base_url or os.environ.get("VOICECLONE_API_URL")
        if not url:
            raise ApiError(
                0,
                "NoApiUrl",
                "VOICECLONE_API_URL is not set",
                hint="export the URL the local stack prints (voiceclone local up) or a deployed API's URL",
            )
        key = api_key or os.environ.get("VOICECLONE_API_KEY")
        self.base_url = url.rstrip("/")
        self.has_key = bool(key)
        self._http = httpx.Client(timeout=timeout, auth=ApiKey(key) if key else None, transport=transport)
        # Presigned targets carry their own signature: no API key goes to S3.
        self._uploads = httpx.Client(timeout=60.0, transport=transport)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, self.base_url + path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(
                0, "Unreachable", f"cannot reach {self.base_url}: {exc}", hint=UNREACHABLE_HINT
            ) from exc
        if response.status_code >= 400:
            raise error_from(response, self.has_key)
        try:
            return response.json() if response.content else {}
        except ValueError as exc:
            raise ApiError(
                response.status_code,
                "NotJson",
                f"{self.base_url} answered {response.text[:100]!r}, not JSON",
                hint="check VOICECLONE_API_URL: it should be the API's base URL",
            ) from exc

    # Vendors

    def vendor_info(self, vendor: str) -> dict[str, Any]:
        """The vendor's sentences to record, and the options and documents it takes."""
        info: dict[str, Any] = self._request("GET", f"/v1/vendors/{vendor}/training-texts")
        return info

    def training_texts(self, vendor: str) -> list[dict[str, str]]:
        texts: list[dict[str, str]] = self.vendor_info(vendor)["texts"]
        return texts

    # Jobs

    def create_job(
        self,
        vendor: str,
        voice_name: str,
        gender: str,
        speaker_name: str,
        language: str = "zh-CN",
        options: dict[str, str] | None = None,
        notify_url: str | None = None,
        consent_document: str | None = None,
    ) -> dict[str, Any]:
        """A new job: its sentences, the speaker's consent statement (`consent`) first, each with its form."""
        payload: dict[str, Any] = {
            "vendor": vendor,
            "voice_name": voice_name,
            "gender": gender,
            "speaker_name": speaker_name,
            "language": language,
            "options": options or {},
            **_given(notify_url=notify_url, consent_document=consent_document),
        }
        job: dict[str, Any] = self._request("POST", "/v1/jobs", json=payload)
        return job

    def get_job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self._request("GET", f"/v1/jobs/{job_id}")
        return job

    def list_jobs(self, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        return self._page("/v1/jobs", limit, cursor)

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self._request("POST", f"/v1/jobs/{job_id}/cancel")
        return job

    def new_upload_url(self, job_id: str, text_id: str) -> dict[str, Any]:
        """A fresh upload target for one sentence (to record it again after a rejection)."""
        target: dict[str, Any] = self._request("POST", f"/v1/jobs/{job_id}/sentences/{text_id}/upload-url")
        return target

    # Comparisons

    def create_comparison(
        self,
        vendors: list[str],
        voice_name: str,
        gender: str,
        speaker_name: str,
        language: str = "zh-CN",
        options: dict[str, dict[str, str]] | None = None,
        notify_url: str | None = None,
        consent_document: str | None = None,
    ) -> dict[str, Any]:
        """A new comparison: the takes to record once (consent first), each with its form; a job a vendor."""
        payload: dict[str, Any] = {
            "vendors": vendors,
            "voice_name": voice_name,
            "gender": gender,
            "speaker_name": speaker_name,
            "language": language,
            "options": options or {},
            **_given(notify_url=notify_url, consent_document=consent_document),
        }
        comparison: dict[str, Any] = self._request("POST", "/v1/comparisons", json=payload)
        return comparison

    def get_comparison(self, comparison_id: str) -> dict[str, Any]:
        comparison: dict[str, Any] = self._request("GET", f"/v1/comparisons/{comparison_id}")
        return comparison

    def list_comparisons(self, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        return self._page("/v1/comparisons", limit, cursor)

    def new_pair(self, comparison_id: str) -> dict[str, Any]:
        """The next blind pair: a probe text and the audio URLs of A and B (no vendor named)."""
        pair: dict[str, Any] = self._request("POST", f"/v1/comparisons/{comparison_id}/pairs")
        return pair

    def vote(self, comparison_id: str, pair_id: str, choice: str) -> dict[str, Any]:
        """One vote on a pair: "a", "b" or "same"."""
        body = {"pair_id": pair_id, "choice": choice}
        voted: dict[str, Any] = self._request("POST", f"/v1/comparisons/{comparison_id}/votes", json=body)
        return voted

    def ranking(self, comparison_id: str) -> dict[str, Any]:
        """The ranking by the blind votes; ApiError RankingNotReady until every pair has its votes."""
        ranked: dict[str, Any] = self._request("GET", f"/v1/comparisons/{comparison_id}/ranking")
        return ranked

    def keep(self, comparison_id: str, vendor: str) -> dict[str, Any]:
        """Keep one vendor's voice and delete the comparison's others."""
        kept: dict[str, Any] = self._request(
            "POST", f"/v1/comparisons/{comparison_id}/keep", json={"vendor": vendor}
        )
        return kept

    # Voices

    def list_voices(
        self,
        limit: int = 20,
        cursor: str | None = None,
        vendor: str | None = None,
        state: str | None = None,
    ) -> dict[str, Any]:
        return self._page("/v1/voices", limit, cursor, vendor=vendor, state=state)

    def get_voice(self, voice_id: str) -> dict[str, Any]:
        voice: dict[str, Any] = self._request("GET", f"/v1/voices/{voice_id}")
        return voice

    def rename_voice(self, voice_id: str, name: str) -> dict[str, Any]:
        voice: dict[str, Any] = self._request("PATCH", f"/v1/voices/{voice_id}", json={"name": name})
        return voice

    def delete_voice(self, voice_id: str) -> dict[str, Any]:
        voice: dict[str, Any] = self._request("DELETE", f"/v1/voices/{voice_id}")
        return voice

    def get_consent(self, voice_id: str) -> dict[str, Any]:
        """The voice's consent record (its audit entry once the voice is deleted), with a fresh audio URL."""
        consent: dict[str, Any] = self._request("GET", f"/v1/voices/{voice_id}/consent")
        return consent

    # The tenant's settings

    def settings(self) -> dict[str, Any]:
        found: dict[str, Any] = self._request("GET", "/v1/settings")
        return found

    def update_settings(self, organisation_name: str) -> dict[str, Any]:
        """Set the organisation name new jobs' consent statements give."""
        found: dict[str, Any] = self._request(
            "PATCH", "/v1/settings", json={"organisation_name": organisation_name}
        )
        return found

    # Speech

    def speak(
        self,
        voice_id: str,
        text: str,
        format: str = "wav",
        sample_rate: int | None = None,
        speed: float | None = None,
    ) -> dict[str, Any]:
        """Speak `text` with a voice: the speech, its audio behind `audio_url`."""
        payload: dict[str, Any] = {"text": text, "format": format}
        if sample_rate:
            payload["sample_rate"] = sample_rate
        if speed is not None:
            payload["speed"] = speed
        speech: dict[str, Any] = self._request("POST", f"/v1/voices/{voice_id}/speech", json=payload)
        return speech

    @contextmanager
    def stream_speech(
        self,
        voice_id: str,
        text: str,
        fmt: str = "pcm",
        *,
        sample_rate: int | None = None,
        speed: float | None = None,
    ) -> Iterator[SpeechStream]:
        """Speak `text` as a stream (POST /v1/voices/{id}/speech/stream): its audio as it arrives.

        A refusal or a vendor error before the first audio raises ApiError here; a stream cut after
        it raises StreamCut from the iteration (GET /v1/speech/{id} then says why).
        """
        payload: dict[str, Any] = {"text": text, "format": fmt}
        if sample_rate is not None:
            payload["sample_rate"] = sample_rate
        if speed is not None:
            payload["speed"] = speed
        url = f"{self.base_url}/v1/voices/{voice_id}/speech/stream"
        try:
            with self._http.stream("POST", url, json=payload, timeout=STREAM_TIMEOUT) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_from(response, self.has_key)
                yield SpeechStream(
                    speech_id=response.headers.get("Voiceclone-Speech-Id", ""),
                    delivery=response.headers.get("Voiceclone-Stream", ""),
                    media_type=response.headers.get("Content-Type", ""),
                    sample_rate=int(response.headers.get("Voiceclone-Sample-Rate") or 0),
                    chunks=_chunks(response),
                )
        except httpx.TransportError as exc:
            raise ApiError(
                0, "Unreachable", f"cannot reach {self.base_url}: {exc}", hint=UNREACHABLE_HINT
            ) from exc

    def _page(self, path: str, limit: int, cursor: str | None, **filters: str | None) -> dict[str, Any]:
        """One page of a list route: ``limit`` items from ``cursor`` (a previous page's next_cursor), and
        the filters given."""
        params: dict[str, Any] = {"limit": limit, **_given(cursor=cursor, **filters)}
        page: dict[str, Any] = self._request("GET", path, params=params)
        return page

    def get_speech(self, speech_id: str) -> dict[str, Any]:
        speech: dict[str, Any] = self._request("GET", f"/v1/speech/{speech_id}")
        return speech

    def list_speech(self, voice_id: str, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        return self._page(f"/v1/voices/{voice_id}/speech", limit, cursor)

    def usage(self, start: str | None = None, end: str | None = None) -> dict[str, Any]:
        """Characters synthesized and voices cloned per vendor, from `start` to `end` (YYYY-MM-DD)."""
        params = {k: v for k, v in (("from", start), ("to", end)) if v}
        usage: dict[str, Any] = self._request("GET", "/v1/usage", params=params)
        return usage

    def download(self, url: str) -> bytes:
        """The bytes behind a presigned GET (a speech's audio_url): no API key goes with it."""
        try:
            response = self._uploads.get(url)
        except httpx.TransportError as exc:
            raise ApiError(0, "DownloadFailed", f"cannot download the audio: {exc}") from exc
        if response.status_code >= 300:
            raise ApiError(
                response.status_code,
                "DownloadFailed",
                f"the audio URL answered {response.status_code}",
                hint="the URL lapses after a while: voiceclone voices speech <voice_id> lists fresh ones",
            )
        return response.content

    # Labels

    def verify(self, audio: bytes, content_type: str) -> dict[str, Any]:
        """What an audio file carries: C2PA manifest, GB 45438 label, audible label (POST /v1/provenance)."""
        report: dict[str, Any] = self._request(
            "POST", "/v1/provenance", content=audio, headers={"Content-Type": content_type}
        )
        return report

    def label_policy(self) -> dict[str, Any]:
        policy: dict[str, Any] = self._request("GET", "/v1/labels/policy")
        return policy

    def set_label_policy(self, explicit_label: bool) -> dict[str, Any]:
        body = {"explicit_label": explicit_label}
        policy: dict[str, Any] = self._request("PUT", "/v1/labels/policy", json=body)
        return policy

    # Webhooks

    def webhook_secret(self) -> dict[str, Any]:
        secret: dict[str, Any] = self._request("GET", "/v1/webhooks/secret")
        return secret

    def rotate_webhook_secret(self) -> dict[str, Any]:
        secret: dict[str, Any] = self._request("POST", "/v1/webhooks/secret/rotate")
        return secret

    # Uploads

    def upload(self, target: dict[str, Any], path: Path) -> None:
        """POST one recording to its presigned S3 target (form fields first, the file last).

        A recording goes with the content type of its real format (``audio/mp4`` for an M4A...) and
        its own file name; the form takes any ``audio/`` type. A refusal is S3's XML, explained.
        """
        data = path.read_bytes()
        content_type = target.get("content_type") or "audio/wav"
        if content_type.startswith("audio/"):
            content_type = content_type_of(path)
        fields = {**target["fields"]}
        if "Content-Type" in fields:
            fields["Content-Type"] = content_type
        try:
            response = self._uploads.post(
                target["url"], data=fields, files={"file": (path.name, data, content_type)}
            )
        except httpx.TransportError as exc:
            raise ApiError(
                0, "UploadFailed", f"cannot upload {path.name}: {exc}", hint="check the network and retry"
            ) from exc
        if response.status_code >= 300:
            code, message, hint = explain_upload_refusal(response.text, len(data), target, content_type)
            raise ApiError(response.status_code, code, f"{path.name}: {message}", hint=hint)


# The content type each accepted recording format is sent with (voiceclone.domain.audio_decode).
AUDIO_CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".wave": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "audio/webm",
}
_REUPLOAD_HINT = "voiceclone jobs reupload <job_id> <dir> gets fresh upload URLs"


def content_type_of(path: Path) -> str:
    """The audio content type of a recording, by its extension (WAV when unknown)."""
    return AUDIO_CONTENT_TYPES.get(path.suffix.lower(), "audio/wav")


def _xml_fields(text: str) -> dict[str, str]:
    """The elements of S3's <Error> document (Code, Message, ProposedSize...); {} if it is none."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text)  # noqa: S314 - S3's answer to our own request, no entities expanded
    except ET.ParseError:
        return {}
    return {child.tag: (child.text or "") for child in root}


def explain_upload_refusal(
    text: str, size: int, target: dict[str, Any], content_type: str
) -> tuple[str, str, str | None]:
    """(error code, what went wrong, what to do) for S3's refusal of a presigned POST."""
    fields = _xml_fields(text)
    code = fields.get("Code", "")
    message = fields.get("Message", "")
    max_bytes = target.get("max_bytes")
    if code == "EntityTooSmall" or (size == 0 and "content-length-range" in message):
        return (
            "EmptyFile",
            f"the file is empty ({size} bytes; it must be 1-{max_bytes} bytes)",
            "record the sentence again",
        )
    if code == "EntityTooLarge" or "content-length-range" in message:
        return (
            "FileTooLarge",
            f"the file is {size} bytes, more than the {max_bytes} allowed",
            "record a shorter take, or export it compressed (M4A, MP3, FLAC)",
        )
    if "expired" in message.lower():
        return "UploadUrlExpired", "the upload URL expired", _REUPLOAD_HINT
    if "Policy Condition failed" in message:
        condition = message.partition("Policy Condition failed:")[2].strip()
        if "content-type" in condition.lower():
            return (
                "WrongContentType",
                f"the upload form does not take content type {content_type} ({condition})",
                "send a recording as audio/* (WAV, MP3, M4A, FLAC, OGG, WebM)",
            )
        return "UploadRejected", f"the form's condition {condition} failed", _REUPLOAD_HINT
    if code == "SignatureDoesNotMatch":
        return "UploadRejected", "the form's signature does not match (was it changed?)", _REUPLOAD_HINT
    if code:
        return "UploadRejected", f"S3 refused it: {code}: {message}", _REUPLOAD_HINT
    return "UploadRejected", f"S3 refused it: {text[:300]}", _REUPLOAD_HINT


def _given(**fields: str | None) -> dict[str, str]:
    """The optional fields a request sends: those given, the others left out (not sent as null)."""
    return {name: value for name, value in fields.items() if value}
