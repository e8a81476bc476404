"""No web page can read the local stack: moto answers a browser only for the studio's uploads and audio,
and every local server (gateway, moto, each sandbox) answers only a loopback Host.

A page on any site the developer visits could otherwise read the vendor credentials from the local
Secrets Manager (moto reflected every Origin and checks no signature), the table and the bucket,
or rebind its own name to 127.0.0.1 and read the gateway's /studio/config.json (the dev key).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import REGION, LocalStack

from tests.helpers import SPEAKER, wav_bytes

EVIL = "https://evil.example"
SECRET_ID = "voiceclone/tencent_vrs"


def signed(
    stack: LocalStack, service: str, target: str, body: dict[str, Any]
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a SigV4-signed JSON call, as an SDK sends it (a page can forge the same)."""
    content = json.dumps(body).encode()
    request = AWSRequest(
        method="POST",
        url=stack.moto_url + "/",
        data=content,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(Credentials("testing", "testing"), service, REGION).add_auth(request)
    return dict(request.headers.items()), content


def secret_call(stack: LocalStack, **extra: str) -> httpx.Response:
    headers, body = signed(stack, "secretsmanager", "secretsmanager.GetSecretValue", {"SecretId": SECRET_ID})
    return httpx.post(stack.moto_url + "/", headers={**headers, **extra}, content=body)


def scan_call(stack: LocalStack, **extra: str) -> httpx.Response:
    headers, body = signed(stack, "dynamodb", "DynamoDB_20120810.Scan", {"TableName": stack.table_name})
    headers["Content-Type"] = "application/x-amz-json-1.0"
    return httpx.post(stack.moto_url + "/", headers={**headers, **extra}, content=body)


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def refused(response: httpx.Response) -> bool:
    """A browser refusal: 403, no CORS header, and none of moto's answer."""
    return response.status_code == 403 and not cors_headers(response) and "Refused" in response.text


def presigned_get(stack: LocalStack, key: str) -> str:
    """A presigned GET as the service makes it for the audio the studio plays (SigV4)."""
    s3 = boto3.client(
        "s3", region_name=REGION, endpoint_url=stack.moto_url, config=Config(signature_version="s3v4")
    )
    return str(s3.generate_presigned_url("get_object", Params={"Bucket": stack.bucket_name, "Key": key}))


def stored(stack: LocalStack, key: str) -> bool:
    listed = stack.client("s3").list_objects_v2(Bucket=stack.bucket_name, Prefix=key)
    return any(o["Key"] == key for o in listed.get("Contents", []))


def upload(form: dict[str, Any], **headers: str) -> httpx.Response:
    """The studio's upload: the form's fields, then the take, multipart, to the presigned POST."""
    files = {"file": ("take.wav", wav_bytes(seconds=1.0), "audio/wav")}
    return httpx.post(form["url"], data=form["fields"], files=files, headers=headers)


@pytest.fixture
def form(client: VoicecloneClient) -> dict[str, Any]:
    """A fresh presigned POST of a new job's first sentence."""
    job = client.create_job("tencent_vrs", f"security-{uuid.uuid4().hex[:6]}", "female", SPEAKER)
    return dict(job["sentences"][0]["upload"])


@pytest.fixture
def studio(stack: LocalStack) -> str:
    """The studio's origin: the local gateway's, which serves it."""
    assert stack.studio_url.startswith(stack.api_url + "/")
    return stack.api_url


# ----- a page on another site ----------------------------------------------------------------------


def test_a_page_cannot_read_the_vendor_secret(stack: LocalStack) -> None:
    # Given the signed GetSecretValue an SDK sends, which moto answers with the secret
    control = secret_call(stack)
    assert control.status_code == 200 and SECRET_ID in control.json()["Name"]
    secret = control.json()["SecretString"]

    # When a page on another site sends it, and when it asks first (the preflight its headers need)
    answer = secret_call(stack, Origin=EVIL)
    preflight = httpx.options(
        stack.moto_url + "/",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-amz-date,x-amz-target",
        },
    )

    # Then both are refused, without CORS header and without the secret
    assert refused(answer) and secret not in answer.text
    assert refused(preflight)


def test_a_page_cannot_read_the_table(stack: LocalStack) -> None:
    assert scan_call(stack).status_code == 200
    answer = scan_call(stack, Origin=EVIL)
    assert refused(answer) and "Items" not in answer.text


def test_a_page_cannot_read_or_write_the_bucket(stack: LocalStack, form: dict[str, Any]) -> None:
    # Given an object in the bucket, and a presigned POST of another key
    existing = f"uploads/security/{uuid.uuid4().hex}.wav"
    stack.client("s3").put_object(Bucket=stack.bucket_name, Key=existing, Body=b"RIFF audio")
    bucket = f"{stack.moto_url}/{stack.bucket_name}"

    # When a page on another site reads it (presigned and not), lists the bucket, and writes
    answers = [
        httpx.get(presigned_get(stack, existing), headers={"Origin": EVIL}),
        httpx.get(f"{bucket}/{existing}", headers={"Origin": EVIL}),
        httpx.get(bucket, headers={"Origin": EVIL}),
        httpx.get(stack.moto_url + "/", headers={"Origin": EVIL}),
        upload(form, Origin=EVIL),
        httpx.put(f"{bucket}/uploads/security/planted.wav", content=b"x", headers={"Origin": EVIL}),
        httpx.delete(f"{bucket}/{existing}", headers={"Origin": EVIL}),
        httpx.options(bucket, headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}),
    ]

    # Then every one is refused, and nothing was read, written or deleted
    assert all(refused(a) for a in answers), [(a.request.method, a.status_code) for a in answers]
    assert all(b"RIFF" not in a.content and stack.bucket_name not in a.text for a in answers)
    assert not stored(stack, form["fields"]["key"]) and not stored(stack, "uploads/security/planted.wav")
    assert stored(stack, existing)


def test_a_page_without_origin_cannot_drive_moto(stack: LocalStack) -> None:
    # Given what a page reaches without Origin: an <img> or a link to an SQS action (query protocol)
    url = f"{stack.moto_url}/?Action=ListQueues&Version=2012-11-05"

    # Then a page's request is refused; the same URL typed by the developer (or sent by a tool) is not
    assert refused(httpx.get(url, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}))
    assert httpx.get(url, headers={"Sec-Fetch-Site": "none"}).status_code == 200


# ----- the studio ------------------------------------------------------------------------------------


def test_the_studio_uploads_a_take_with_cors(stack: LocalStack, studio: str, form: dict[str, Any]) -> None:
    # When the studio's page posts a take to its presigned POST (a simple request; a preflight too)
    preflight = httpx.options(
        form["url"], headers={"Origin": studio, "Access-Control-Request-Method": "POST"}
    )
    answer = upload(form, Origin=studio)

    # Then the browser is told it may read both answers, and the take is stored
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["Access-Control-Allow-Origin"] == studio
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert answer.status_code == 204, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == studio and "Origin" in answer.headers["Vary"]
    assert stored(stack, form["fields"]["key"])


def test_the_studio_plays_audio_with_cors(stack: LocalStack, studio: str) -> None:
    # Given audio in the bucket and its presigned GET
    key = f"speech/security/{uuid.uuid4().hex}.wav"
    audio = wav_bytes(seconds=0.5)
    stack.client("s3").put_object(Bucket=stack.bucket_name, Key=key, Body=audio)
    url = presigned_get(stack, key)

    # When the studio's page reads it: whole, a range (as a media element does), and as <audio> without Origin
    whole = httpx.get(url, headers={"Origin": studio})
    part = httpx.get(url, headers={"Origin": studio, "Range": "bytes=0-43"})
    element = httpx.get(url, headers={"Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "audio"})
    preflight = httpx.options(
        url,
        headers={
            "Origin": studio,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
    )

    # Then each is the audio, with the CORS headers the browser needs where it asked for them
    assert whole.status_code == 200 and whole.content == audio
    assert whole.headers["Access-Control-Allow-Origin"] == studio
    assert part.status_code == 206 and part.content == audio[:44]
    assert part.headers["Access-Control-Allow-Origin"] == studio
    assert element.status_code == 200 and element.content == audio and not cors_headers(element)
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == studio


def test_the_studio_origin_reaches_nothing_else(stack: LocalStack, studio: str) -> None:
    secret = secret_call(stack, Origin=studio)
    scan = scan_call(stack, Origin=studio)
    listing = httpx.get(f"{stack.moto_url}/{stack.bucket_name}", headers={"Origin": studio})
    preflight = httpx.options(
        stack.moto_url + "/",
        headers={
            "Origin": studio,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target",
        },
    )
    assert refused(secret) and "SecretString" not in secret.text
    assert refused(scan) and "Items" not in scan.text
    assert refused(listing) and refused(preflight)


# ----- DNS rebinding: the Host of every local server -------------------------------------------------


def local_servers(stack: LocalStack) -> dict[str, str]:
    """Each local server by name: a URL it serves (the gateway's holds the dev key)."""
    servers = {
        "gateway": f"{stack.api_url}/studio/config.json",
        "moto": f"{stack.moto_url}/{stack.bucket_name}",
    }
    servers.update({f"{vendor} sandbox": f"{sandbox.url}/" for vendor, sandbox in stack.sandboxes.items()})
    return servers


def test_every_local_server_refuses_a_rebound_host(stack: LocalStack) -> None:
    servers = local_servers(stack)
    assert {"gateway", "moto", "tencent_vrs sandbox", "volcengine sandbox"} <= set(servers)
    for name, url in servers.items():
        port = httpx.URL(url).port
        for host in (
            "evil.example",
            f"evil.example:{port}",
            "127.0.0.1.evil.example",
            f"localhost.evil.example:{port}",
        ):
            answer = httpx.get(url, headers={"Host": host})
            assert answer.status_code == 421, (name, host, answer.status_code)
            assert f"127.0.0.1, localhost, [::1] (with or without :{port})" in answer.text, (
                name,
                answer.text,
            )
            assert stack.api_key not in answer.text


def test_every_local_server_serves_loopback_hosts(stack: LocalStack) -> None:
    for name, url in local_servers(stack).items():
        port = httpx.URL(url).port
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "127.0.0.1", f"[::1]:{port}"):
            answer = httpx.get(url, headers={"Host": host})
            assert answer.status_code != 421 and "Misdirected" not in answer.text, (name, host, answer.text)
    config = httpx.get(f"{stack.api_url}/studio/config.json", headers={"Host": "localhost"})
    assert config.status_code == 200 and config.json()["apiKey"] == stack.api_key


def test_the_api_refuses_a_rebound_host(stack: LocalStack) -> None:
    port = httpx.URL(stack.api_url).port
    auth = {"Authorization": f"Bearer {stack.api_key}"}
    rebound = httpx.get(f"{stack.api_url}/v1/jobs", headers={**auth, "Host": f"evil.example:{port}"})
    assert rebound.status_code == 421 and "jobs" not in rebound.text
    assert httpx.get(f"{stack.api_url}/v1/jobs", headers=auth).status_code == 200
