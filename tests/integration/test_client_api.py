"""The client's side of the API on the local stack: API keys, tenant isolation, voices, cancel, OpenAPI."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LocalStack

from infra.api import CLIENT_ROUTES, STREAM_ROUTE
from tests.helpers import SPEAKER, http, upload_recordings, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
LETTER = SAMPLES.parent / "authorization-letter.pdf"
DONE = ("SUCCEEDED", "FAILED", "CHECK_FAILED", "CANCELLED")
# The Qiniu sandbox's name for the status poll (GET one voice slot).
STATUS_ROUTE = "GET /v1/voice-clones/{id}"

# Every route a client calls: the api function's, and streaming speech's through its own function.
ROUTES = (*CLIENT_ROUTES, STREAM_ROUTE)


def new_tenant(
    stack: LocalStack, label: str, organisation: str = "Example Organisation"
) -> tuple[str, VoicecloneClient, httpx.Client]:
    tenant = f"{label}-{uuid.uuid4().hex[:8]}"
    key = stack.issue_api_key(tenant, organisation)
    return tenant, VoicecloneClient(stack.api_url, api_key=key), http(stack, key)


def upload_all(client: VoicecloneClient, job: dict[str, Any]) -> None:
    for document in job["documents"]:
        client.upload(document["upload"], LETTER)
    upload_recordings(client, job, SAMPLES)


def wait_status(client: VoicecloneClient, job_id: str, statuses: tuple[str, ...], timeout: float = 90) -> Any:
    def reached() -> dict[str, Any] | None:
        job = client.get_job(job_id)
        return job if job["status"] in statuses else None

    return wait_for(reached, timeout=timeout, what=f"job {job_id} to reach {statuses}")


def clone(client: VoicecloneClient, vendor: str = "tencent_vrs", name: str = "voice") -> dict[str, Any]:
    job = client.create_job(vendor, name, "female", SPEAKER)
    upload_all(client, job)
    final = wait_status(client, job["job_id"], DONE, timeout=120)
    assert final["status"] == "SUCCEEDED", final
    return final


@pytest.fixture(scope="module")
def tenant_a(stack: LocalStack) -> tuple[str, VoicecloneClient, httpx.Client]:
    return new_tenant(stack, "tenant-a", "Tenant A's organisation")


@pytest.fixture(scope="module")
def voice_of_a(tenant_a: tuple[str, VoicecloneClient, httpx.Client]) -> dict[str, Any]:
    """A finished job of tenant A, with its voice."""
    return clone(tenant_a[1], name="a-voice")


# ----- authentication --------------------------------------------------------------------------------


def concrete(path: str) -> str:
    return (
        path.replace("{job_id}", "j1")
        .replace("{text_id}", "00001")
        .replace("{voice_id}", "v-1")
        .replace("{vendor}", "tencent_vrs")
        .replace("{comparison_id}", "cmp-1")
    )


def test_every_client_route_needs_a_valid_api_key(stack: LocalStack) -> None:
    for verb, path in ROUTES:
        url = stack.api_url + concrete(path)
        missing = httpx.request(verb, url, json={})
        assert missing.status_code == 401 and missing.json() == {"message": "Unauthorized"}, (verb, path)
        wrong = httpx.request(verb, url, json={}, headers={"Authorization": "Bearer vck_not-a-key"})
        assert wrong.status_code == 401, (verb, path)
        not_bearer = httpx.request(verb, url, json={}, headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert not_bearer.status_code == 401, (verb, path)


def test_the_openapi_document_is_public_and_generated_from_the_code(stack: LocalStack) -> None:
    doc = httpx.get(f"{stack.api_url}/v1/openapi.json")
    assert doc.status_code == 200
    spec = doc.json()
    documented = {(verb.upper(), path) for path, item in spec["paths"].items() for verb in item}
    assert documented == set(ROUTES)
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert "VoiceView" in spec["components"]["schemas"] and "ErrorBody" in spec["components"]["schemas"]
    ui = httpx.get(f"{stack.api_url}/v1/docs")
    assert ui.status_code == 200 and "swagger-ui" in ui.text.lower()


# ----- tenant isolation --------------------------------------------------------------------------------

# Each client route, called by tenant B with tenant A's ids (or, without ids, checked for what it shows).
Probe = Callable[[httpx.Client, str, dict[str, Any]], None]


def _not_found(response: httpx.Response, error: str) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["error"] == error


def _create(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    created = b.post(
        f"{url}/v1/jobs",
        json={"vendor": "tencent_vrs", "voice_name": "b", "speaker_name": "s", "gender": "male"},
    )
    assert created.status_code == 201
    assert f"/{a['tenant']}/" not in str(created.json()["sentences"][0]["upload"]["fields"]["key"])


def _list_jobs(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    ids = {j["job_id"] for j in b.get(f"{url}/v1/jobs", params={"limit": 100}).json()["items"]}
    assert a["job_id"] not in ids


def _list_voices(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    ids = {v["voice_id"] for v in b.get(f"{url}/v1/voices", params={"limit": 100}).json()["items"]}
    assert a["voice_id"] not in ids


def _create_comparison(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    created = b.post(
        f"{url}/v1/comparisons",
        json={
            "vendors": ["qiniu", "tencent_gateway"],
            "voice_name": "b",
            "speaker_name": "s",
            "gender": "male",
        },
    )
    assert created.status_code == 201, created.text
    assert f"/{a['tenant']}/" not in str(created.json()["sentences"][0]["upload"]["fields"]["key"])


def _list_comparisons(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    comparison_id = a["comparison_id"]()
    ids = {c["comparison_id"] for c in b.get(f"{url}/v1/comparisons", params={"limit": 100}).json()["items"]}
    assert comparison_id not in ids


def _keep(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    # B names A's comparison and one of its vendors: told it does not exist, A's comparison unchanged
    comparison_id = a["comparison_id"]()
    before = a["comparison"](comparison_id)
    _not_found(
        b.post(f"{url}/v1/comparisons/{comparison_id}/keep", json={"vendor": "qiniu"}), "ComparisonNotFound"
    )
    assert a["comparison"](comparison_id) == before


def _texts(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    assert b.get(f"{url}/v1/vendors/tencent_vrs/training-texts").status_code == 200  # no tenant data


def _webhook_secret(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    assert b.get(f"{url}/v1/webhooks/secret").json()["secret"] != a["webhook_secret"]


def _rotate(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    assert b.post(f"{url}/v1/webhooks/secret/rotate").json()["secret"] != a["webhook_secret"]


def _speak(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    _not_found(b.post(f"{url}/v1/voices/{a['voice_id']}/speech", json={"text": "你好。"}), "VoiceNotFound")
    wav = {"Accept": "audio/wav"}
    speech_url = f"{url}/v1/voices/{a['voice_id']}/speech"
    _not_found(b.post(speech_url, json={"text": "你好。"}, headers=wav), "VoiceNotFound")


def _speak_streamed(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    stream_url = f"{url}/v1/voices/{a['voice_id']}/speech/stream"
    _not_found(b.post(stream_url, json={"text": "你好。", "format": "wav"}), "VoiceNotFound")


def _get_speech(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    _not_found(b.get(f"{url}/v1/speech/{a['speech_id']()}"), "SpeechNotFound")


def _usage(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    # A fresh tenant has used nothing, whatever tenant A spoke and cloned today
    assert a["speech_id"]()
    assert b.get(f"{url}/v1/usage").json()["vendors"] == []


def _check_file(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    # B holds A's speech file: it learns that the file is not its own, and nothing of A's
    audio = a["speech_audio"]()
    report = b.post(f"{url}/v1/provenance", content=audio, headers={"Content-Type": "audio/wav"}).json()
    assert (report["yours"], report["speech"]) == (False, None)
    assert a["voice_id"] not in str(report) and a["tenant"] not in str(report)


def _label_policy(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    a["set_policy"](False)  # A turns its audible label off: B still has the deployment's default
    assert b.get(f"{url}/v1/labels/policy").json()["explicit_label_source"] == "deployment"


def _set_label_policy(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    before = a["policy"]()
    changed = b.put(f"{url}/v1/labels/policy", json={"explicit_label": not before["explicit_label"]})
    assert changed.status_code == 200 and a["policy"]() == before


def _settings(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    # B sees and sets its own organisation, never A's
    assert b.get(f"{url}/v1/settings").json()["organisation_name"] != "Tenant A's organisation"


def _set_settings(b: httpx.Client, url: str, a: dict[str, Any]) -> None:
    changed = b.patch(f"{url}/v1/settings", json={"organisation_name": "B's organisation"})
    assert changed.status_code == 200 and changed.json()["organisation_name"] == "B's organisation"


PROBES: dict[tuple[str, str], Probe] = {
    ("POST", "/v1/jobs"): _create,
    ("GET", "/v1/jobs"): _list_jobs,
    ("GET", "/v1/jobs/{job_id}"): lambda b, url, a: _not_found(
        b.get(f"{url}/v1/jobs/{a['job_id']}"), "JobNotFound"
    ),
    ("POST", "/v1/jobs/{job_id}/cancel"): lambda b, url, a: _not_found(
        b.post(f"{url}/v1/jobs/{a['job_id']}/cancel"), "JobNotFound"
    ),
    ("POST", "/v1/jobs/{job_id}/sentences/{text_id}/upload-url"): lambda b, url, a: _not_found(
        b.post(f"{url}/v1/jobs/{a['job_id']}/sentences/00001/upload-url"), "JobNotFound"
    ),
    ("GET", "/v1/voices"): _list_voices,
    ("GET", "/v1/voices/{voice_id}"): lambda b, url, a: _not_found(
        b.get(f"{url}/v1/voices/{a['voice_id']}"), "VoiceNotFound"
    ),
    ("PATCH", "/v1/voices/{voice_id}"): lambda b, url, a: _not_found(
        b.patch(f"{url}/v1/voices/{a['voice_id']}", json={"name": "stolen"}), "VoiceNotFound"
    ),
    ("DELETE", "/v1/voices/{voice_id}"): lambda b, url, a: _not_found(
        b.delete(f"{url}/v1/voices/{a['voice_id']}"), "VoiceNotFound"
    ),
    ("POST", "/v1/voices/{voice_id}/speech"): _speak,
    STREAM_ROUTE: _speak_streamed,
    ("GET", "/v1/voices/{voice_id}/speech"): lambda b, url, a: _not_found(
        b.get(f"{url}/v1/voices/{a['voice_id']}/speech"), "VoiceNotFound"
    ),
    ("GET", "/v1/speech/{speech_id}"): _get_speech,
    ("GET", "/v1/usage"): _usage,
    ("GET", "/v1/vendors/{vendor}/training-texts"): _texts,
    ("GET", "/v1/webhooks/secret"): _webhook_secret,
    ("POST", "/v1/webhooks/secret/rotate"): _rotate,
    ("POST", "/v1/provenance"): _check_file,
    ("GET", "/v1/labels/policy"): _label_policy,
    ("PUT", "/v1/labels/policy"): _set_label_policy,
    ("GET", "/v1/voices/{voice_id}/consent"): lambda b, url, a: _not_found(
        b.get(f"{url}/v1/voices/{a['voice_id']}/consent"), "VoiceNotFound"
    ),
    ("GET", "/v1/settings"): _settings,
    ("PATCH", "/v1/settings"): _set_settings,
    ("POST", "/v1/comparisons"): _create_comparison,
    ("GET", "/v1/comparisons"): _list_comparisons,
    ("GET", "/v1/comparisons/{comparison_id}"): lambda b, url, a: _not_found(
        b.get(f"{url}/v1/comparisons/{a['comparison_id']()}"), "ComparisonNotFound"
    ),
    ("POST", "/v1/comparisons/{comparison_id}/pairs"): lambda b, url, a: _not_found(
        b.post(f"{url}/v1/comparisons/{a['comparison_id']()}/pairs"), "ComparisonNotFound"
    ),
    ("POST", "/v1/comparisons/{comparison_id}/votes"): lambda b, url, a: _not_found(
        b.post(
            f"{url}/v1/comparisons/{a['comparison_id']()}/votes",
            json={"pair_id": f"pair-{'0' * 32}", "choice": "a"},
        ),
        "ComparisonNotFound",
    ),
    ("GET", "/v1/comparisons/{comparison_id}/ranking"): lambda b, url, a: _not_found(
        b.get(f"{url}/v1/comparisons/{a['comparison_id']()}/ranking"), "ComparisonNotFound"
    ),
    ("POST", "/v1/comparisons/{comparison_id}/keep"): _keep,
}


def test_every_client_route_has_an_isolation_probe() -> None:
    assert set(PROBES) == set(ROUTES)


@pytest.mark.parametrize("route", list(ROUTES), ids=[f"{v} {p}" for v, p in ROUTES])
def test_tenant_b_cannot_see_or_change_tenant_a(
    stack: LocalStack,
    tenant_a: tuple[str, VoicecloneClient, httpx.Client],
    voice_of_a: dict[str, Any],
    route: tuple[str, str],
) -> None:
    tenant, client_a, http_a = tenant_a
    _, _, http_b = new_tenant(stack, "tenant-b")
    before_job = client_a.get_job(voice_of_a["job_id"])
    before_voice = http_a.get(f"{stack.api_url}/v1/voices/{voice_of_a['voice_id']}").json()
    a = {
        "tenant": tenant,
        "job_id": voice_of_a["job_id"],
        "voice_id": voice_of_a["voice_id"],
        "webhook_secret": http_a.get(f"{stack.api_url}/v1/webhooks/secret").json()["secret"],
        "speech_id": lambda: speech_of_a(stack, http_a, voice_of_a),
        "speech_audio": lambda: client_a.download(
            client_a.get_speech(speech_of_a(stack, http_a, voice_of_a))["audio_url"]
        ),
        "policy": lambda: http_a.get(f"{stack.api_url}/v1/labels/policy").json(),
        "set_policy": lambda on: http_a.put(f"{stack.api_url}/v1/labels/policy", json={"explicit_label": on}),
        "comparison_id": lambda: client_a.create_comparison(["qiniu", "tencent_gateway"], "a", "female", "s")[
            "comparison_id"
        ],
        "comparison": client_a.get_comparison,
    }
    # (A's voice has spoken once before the probe: the probes of the speech routes and of
    # POST /v1/provenance need a speech of A's, and making it is A's doing, not B's)
    speech_of_a(stack, http_a, voice_of_a)
    spoken_before = http_a.get(f"{stack.api_url}/v1/voices/{voice_of_a['voice_id']}/speech").json()
    # When tenant B calls the route with tenant A's ids
    PROBES[route](http_b, stack.api_url, a)
    # Then A's job, voice, consent, settings and webhook secret are as they were (404 said nothing and
    # changed nothing)
    assert client_a.get_job(voice_of_a["job_id"]) == before_job
    assert client_a.get_consent(voice_of_a["voice_id"])["statement"] == before_job["consent"]["statement"]
    assert client_a.settings()["organisation_name"] == "Tenant A's organisation"
    assert http_a.get(f"{stack.api_url}/v1/voices/{voice_of_a['voice_id']}").json() == before_voice
    assert http_a.get(f"{stack.api_url}/v1/webhooks/secret").json()["secret"] == a["webhook_secret"]
    spoken = http_a.get(f"{stack.api_url}/v1/voices/{voice_of_a['voice_id']}/speech").json()
    assert _unsigned(spoken) == _unsigned(spoken_before)


def _unsigned(listing: dict[str, Any]) -> dict[str, Any]:
    """A speech listing without its audio URLs: each is presigned when listed (its X-Amz-Date changes)."""
    return {
        **listing,
        "items": [{k: v for k, v in item.items() if k != "audio_url"} for item in listing["items"]],
    }


_SPEECH_OF_A: dict[str, str] = {}


def speech_of_a(stack: LocalStack, http_a: httpx.Client, voice: dict[str, Any]) -> str:
    """A speech of tenant A's voice (made once), for the probes of the speech routes."""
    if voice["voice_id"] not in _SPEECH_OF_A:
        made = http_a.post(f"{stack.api_url}/v1/voices/{voice['voice_id']}/speech", json={"text": "你好。"})
        assert made.status_code == 201, made.text
        _SPEECH_OF_A[voice["voice_id"]] = made.json()["speech_id"]
    return _SPEECH_OF_A[voice["voice_id"]]


def test_another_tenants_id_looks_exactly_like_a_missing_one(
    stack: LocalStack, voice_of_a: dict[str, Any]
) -> None:
    _, _, http_b = new_tenant(stack, "tenant-b")
    theirs = http_b.get(f"{stack.api_url}/v1/jobs/{voice_of_a['job_id']}")
    missing = http_b.get(f"{stack.api_url}/v1/jobs/{'0' * 32}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"] == missing.json()["error"] == "JobNotFound"


def test_presigned_uploads_cannot_write_outside_the_tenants_own_key(
    stack: LocalStack, tenant_a: tuple[str, VoicecloneClient, httpx.Client]
) -> None:
    tenant, client_a, _ = tenant_a
    other_tenant, client_b, _ = new_tenant(stack, "tenant-b")
    job_a = client_a.create_job("tencent_vrs", "scoped", "female", SPEAKER)
    job_b = client_b.create_job("tencent_vrs", "victim", "female", SPEAKER)
    target = job_a["sentences"][0]["upload"]
    assert target["fields"]["key"].startswith(f"uploads/{tenant}/{job_a['job_id']}/")
    s3 = stack.client("s3")
    audio = (SAMPLES / "00001.wav").read_bytes()
    # When tenant A's client points its URL at tenant B's recording, or at another key of its own prefix
    for key in (
        job_b["sentences"][0]["upload"]["fields"]["key"],
        f"uploads/{tenant}/{job_a['job_id']}/99999.wav",
        f"uploads/{other_tenant}/anything.wav",
    ):
        response = httpx.post(
            target["url"],
            data={**target["fields"], "key": key},
            files={"file": ("x.wav", audio, "audio/wav")},
        )
        # Then S3 refuses it: the key is a condition of the signed policy
        assert response.status_code == 403 and "AccessDenied" in response.text, key
        assert s3.list_objects_v2(Bucket=stack.bucket_name, Prefix=key).get("KeyCount", 0) == 0
    # ...while the URL as given still works
    ok = httpx.post(target["url"], data=target["fields"], files={"file": ("x.wav", audio, "audio/wav")})
    assert ok.status_code == 204


# ----- voices ----------------------------------------------------------------------------------------------


@pytest.fixture
def voice_tenant(stack: LocalStack) -> Iterator[tuple[str, VoicecloneClient, httpx.Client]]:
    yield new_tenant(stack, "voices")


def test_voices_are_listed_filtered_and_paged(
    stack: LocalStack, voice_tenant: tuple[str, VoicecloneClient, httpx.Client]
) -> None:
    _, client, api = voice_tenant
    first, second = clone(client, name="first"), clone(client, name="second")
    url = f"{stack.api_url}/v1/voices"
    page = api.get(url, params={"limit": 1}).json()
    assert [v["voice_id"] for v in page["items"]] == [second["voice_id"]] and page["next_cursor"]
    rest = api.get(url, params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [v["voice_id"] for v in rest["items"]] == [first["voice_id"]]
    voice = rest["items"][0]
    assert (
        voice["state"] == "READY" and voice["vendor"] == "tencent_vrs" and voice["job_id"] == first["job_id"]
    )
    assert voice["tts"]["VoiceType"] and voice["vendor_voice_id"] == str(voice["tts"]["VoiceType"])
    assert len(api.get(url, params={"vendor": "tencent_vrs"}).json()["items"]) == 2
    assert api.get(url, params={"vendor": "qiniu"}).json()["items"] == []
    assert api.get(url, params={"state": "DELETED"}).json()["items"] == []
    assert api.get(url, params={"state": "GONE"}).status_code == 422
    assert api.get(f"{url}/{first['voice_id']}").json() == voice


def test_a_voice_the_vendor_cannot_rename_or_delete_says_so_and_its_audio_is_deleted(
    stack: LocalStack, voice_tenant: tuple[str, VoicecloneClient, httpx.Client]
) -> None:
    tenant, client, api = voice_tenant
    job = clone(client, name="before")
    url = f"{stack.api_url}/v1/voices/{job['voice_id']}"
    prefix = f"uploads/{tenant}/{job['job_id']}/"
    s3 = stack.client("s3")
    # (20 sentences and the consent statement)
    assert s3.list_objects_v2(Bucket=stack.bucket_name, Prefix=prefix)["KeyCount"] == 21
    # Rename: Tencent VRS has no rename, so the name changes here only, and the note says so
    renamed = api.patch(url, json={"name": "after"}).json()
    assert renamed["name"] == "after" and "tencent_vrs cannot rename" in renamed["note"]
    assert api.patch(url, json={"name": ""}).status_code == 422
    # Delete: no delete API at Tencent VRS; marked DELETED with a note, and the recordings are gone
    deleted = api.delete(url)
    assert deleted.status_code == 200
    body = deleted.json()
    assert body["state"] == "DELETED" and body["deleted_at"]
    assert "no API to delete" in body["note"] and "remains usable" in body["note"]
    assert s3.list_objects_v2(Bucket=stack.bucket_name, Prefix=prefix)["KeyCount"] == 0
    # Deleting again changes nothing; renaming a deleted voice is a conflict; the list shows it DELETED
    assert api.delete(url).json() == body
    conflict = api.patch(url, json={"name": "again"})
    assert conflict.status_code == 409 and conflict.json()["error"] == "VoiceDeleted"
    listed = api.get(f"{stack.api_url}/v1/voices", params={"state": "DELETED"}).json()["items"]
    assert [v["voice_id"] for v in listed] == [job["voice_id"]]


def test_a_qiniu_voice_is_renamed_and_deleted_at_qiniu(
    stack: LocalStack, voice_tenant: tuple[str, VoicecloneClient, httpx.Client]
) -> None:
    _, client, api = voice_tenant
    qiniu = stack.sandboxes["qiniu"]
    job = clone(client, vendor="qiniu", name="qiniu-voice")
    slot_id = job["voice"]["vendor_voice_id"]
    url = f"{stack.api_url}/v1/voices/{job['voice_id']}"
    renamed = api.patch(url, json={"name": "新名字"}).json()
    assert renamed["name"] == "新名字" and renamed["note"] is None
    assert qiniu.slots[slot_id].name == "新名字"
    # Qiniu takes at most 20 characters: refused before Qiniu is asked (422 naming the limit), nothing changes
    too_long = api.patch(url, json={"name": "x" * 21})
    assert too_long.status_code == 422 and too_long.json()["error"] == "NameTooLong"
    assert "at most 20 characters" in too_long.json()["message"]
    assert api.get(url).json()["name"] == "新名字"
    deleted = api.delete(url).json()
    assert deleted["state"] == "DELETED" and deleted["note"] is None
    assert slot_id not in qiniu.slots


# ----- cancel ---------------------------------------------------------------------------------------


def test_cancel_during_training_at_a_callback_vendor_ends_cancelled_for_good(
    stack: LocalStack, sandbox: Any, client: VoicecloneClient
) -> None:
    sandbox.config.training_seconds = 3.0
    callbacks_before = len(sandbox.callbacks)
    job = client.create_job("tencent_vrs", "to-cancel", "female", SPEAKER)
    upload_all(client, job)
    wait_status(client, job["job_id"], ("TRAINING",))
    # When the client cancels while the vendor trains
    cancelled = client.cancel_job(job["job_id"])
    # Then the job is CANCELLED, the execution stopped, and the note says Tencent cannot stop its task
    assert cancelled["status"] == "CANCELLED"
    assert "tencent_vrs has no API to cancel" in cancelled["note"]
    wait_for(lambda: stack.execution_status(job["job_id"]) == "ABORTED" or None, what="execution to stop")
    # ...and the vendor's later callback moves nothing
    wait_for(lambda: len(sandbox.callbacks) > callbacks_before or None, timeout=30, what="the callback")
    final = client.get_job(job["job_id"])
    assert final["status"] == "CANCELLED" and final["voice_id"] is None
    assert client.cancel_job(job["job_id"])["status"] == "CANCELLED"  # again: same answer


def test_cancel_during_training_at_a_polling_vendor_stops_the_vendor_task(
    stack: LocalStack, client: VoicecloneClient
) -> None:
    qiniu = stack.sandboxes["qiniu"]
    saved = qiniu.config.model_copy()
    qiniu.config.training_seconds = 30.0
    try:
        job = client.create_job("qiniu", "to-cancel", "female", SPEAKER)
        upload_all(client, job)
        training = wait_status(client, job["job_id"], ("TRAINING",))
        slot_id = training["vendor_task_id"]
        assert slot_id in qiniu.slots
        cancelled = client.cancel_job(job["job_id"])
        assert cancelled["status"] == "CANCELLED" and cancelled["note"] is None
        # Qiniu's slot is deleted (its only way to stop training) and the polling stops with the execution
        assert slot_id not in qiniu.slots
        wait_for(lambda: stack.execution_status(job["job_id"]) == "ABORTED" or None, what="execution to stop")
        # No poll after the stop: by the time the stopped execution's interpreter has returned
        # (nothing of it runs after that), it had asked Qiniu nothing more
        polls = qiniu.requests.get(STATUS_ROUTE, 0)
        assert stack.execution_ended(job["job_id"]), "the stopped execution kept running"
        assert qiniu.requests.get(STATUS_ROUTE, 0) == polls
    finally:
        qiniu.config = saved
    assert client.get_job(job["job_id"])["status"] == "CANCELLED"


def test_a_finished_job_cannot_be_cancelled(
    stack: LocalStack, tenant_a: tuple[str, VoicecloneClient, httpx.Client], voice_of_a: dict[str, Any]
) -> None:
    response = tenant_a[2].post(f"{stack.api_url}/v1/jobs/{voice_of_a['job_id']}/cancel")
    assert response.status_code == 409 and response.json()["error"] == "JobFinished"
    assert "SUCCEEDED" in response.json()["message"]


# ----- what a client gets wrong ----------------------------------------------------------------------


def test_mistakes_are_named_not_ignored(stack: LocalStack) -> None:
    api = http(stack)
    typo = api.get(f"{stack.api_url}/v1/jobs", params={"limt": 5})
    assert typo.status_code == 422
    assert typo.json()["detail"][0]["loc"] == ["query", "limt"]
    assert "this route takes cursor, limit" in typo.json()["message"]
    form = api.post(
        f"{stack.api_url}/v1/jobs",
        content=b"vendor=qiniu",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415 and "application/json" in form.json()["message"]
    invalid = api.post(f"{stack.api_url}/v1/jobs", json={"vendor": "tencent_vrs", "voice_name": "x" * 65})
    assert invalid.status_code == 422
    fields = {tuple(d["loc"]) for d in invalid.json()["detail"]}
    assert ("body", "gender") in fields and ("body", "voice_name") in fields
    assert ("body", "speaker_name") in fields
    assert all(d["msg"] for d in invalid.json()["detail"])
    bad_id = api.get(f"{stack.api_url}/v1/voices/a%20b")
    assert bad_id.status_code == 422 and bad_id.json()["detail"][0]["loc"] == ["path", "voice_id"]
