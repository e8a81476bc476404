"""An HTTP client of the voiceclone REST API (local stack or deployed), used by the CLI."""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(f"{error}: {message} (HTTP {status})")
        self.status = status
        self.error = error
        self.message = message


class SigV4(httpx.Auth):
    """Sign requests to a deployed API (IAM authorization) with the caller's AWS credentials."""

    def __init__(self, region: str) -> None:
        import boto3

        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise ApiError(0, "NoCredentials", "the API uses IAM authorization: configure AWS credentials")
        self.credentials = credentials
        self.region = region

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        aws = AWSRequest(
            method=request.method,
            url=str(request.url),
            data=request.content,
            headers={"Content-Type": request.headers.get("Content-Type", "application/json")},
        )
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(aws)
        request.headers.update(dict(aws.headers))
        yield request


def _auth_for(url: str) -> httpx.Auth | None:
    host = urlsplit(url).hostname or ""
    if host.endswith(".amazonaws.com"):
        # https://<api>.execute-api.<region>.amazonaws.com/<stage>
        return SigV4(region=host.split(".")[2])
    return None


class VoicecloneClient:
    def __init__(self, base_url: str | None = None, timeout: float = 30.0) -> None:
        url = base_url or os.environ.get("VOICECLONE_API_URL")
        if not url:
            raise ApiError(
                0, "NoApiUrl", "set VOICECLONE_API_URL (the local stack prints it: voiceclone local up)"
            )
        self.base_url = url.rstrip("/")
        self._http = httpx.Client(timeout=timeout, auth=_auth_for(self.base_url))

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, self.base_url + path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(0, "Unreachable", f"cannot reach {self.base_url}: {exc}") from exc
        body = response.json() if response.content else {}
        if response.status_code >= 400:
            if isinstance(body, dict):
                error = str(body.get("error") or body.get("message") or "Error")
                message = str(body.get("message") or body.get("detail") or body)
            else:
                error, message = "Error", str(body)
            raise ApiError(response.status_code, error, message)
        return body

    def vendor_info(self, vendor: str) -> dict[str, Any]:
        """The vendor's sentences to record, and the options and documents it takes."""
        info: dict[str, Any] = self._request("GET", f"/v1/vendors/{vendor}/training-texts")
        return info

    def training_texts(self, vendor: str) -> list[dict[str, str]]:
        texts: list[dict[str, str]] = self.vendor_info(vendor)["texts"]
        return texts

    def create_job(
        self,
        vendor: str,
        voice_name: str,
        gender: str,
        language: str = "zh-CN",
        options: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        payload = {
            "vendor": vendor,
            "voice_name": voice_name,
            "gender": gender,
            "language": language,
            "options": options or {},
        }
        job: dict[str, Any] = self._request("POST", "/v1/jobs", json=payload)
        return job

    def get_job(self, job_id: str) -> dict[str, Any]:
        job: dict[str, Any] = self._request("GET", f"/v1/jobs/{job_id}")
        return job

    def list_jobs(self, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        page: dict[str, Any] = self._request("GET", "/v1/jobs", params=params)
        return page

    def upload(self, target: dict[str, Any], path: Path) -> None:
        """POST one recording to its presigned S3 target (form fields first, the file last)."""
        data = path.read_bytes()
        try:
            response = httpx.post(
                target["url"],
                data=target["fields"],
                files={"file": (path.name, data, target.get("content_type", "audio/wav"))},
                timeout=60.0,
            )
        except httpx.TransportError as exc:
            raise ApiError(0, "UploadFailed", f"cannot upload {path.name}: {exc}") from exc
        if response.status_code >= 300:
            raise ApiError(response.status_code, "UploadRejected", f"{path.name}: {response.text[:300]}")
