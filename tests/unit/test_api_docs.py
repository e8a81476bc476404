"""The API's documentation routes: the OpenAPI document always, Swagger UI only where turned on."""

from __future__ import annotations

import json

import pytest
from voiceclone import rest

from tests.unit.test_api_input import FakeContext, event


def get(path: str) -> dict[str, object]:
    return rest.handle(event("GET", path, None), FakeContext())


@pytest.mark.parametrize("setting", [None, "false", "TRUE", "true"])
def test_swagger_ui_follows_the_setting_read_when_asked_not_when_imported(
    monkeypatch: pytest.MonkeyPatch, setting: str | None
) -> None:
    # Given the api module imported already (this test module imported it), and the setting changed since
    if setting is None:
        monkeypatch.delenv("VOICECLONE_SWAGGER_UI", raising=False)
    else:
        monkeypatch.setenv("VOICECLONE_SWAGGER_UI", setting)
    # When Swagger UI is asked for
    answer = get("/v1/docs")
    # Then it is served only where the setting says true; elsewhere the answer is a route's it lacks
    if setting in ("true", "TRUE"):
        assert answer["statusCode"] == 200 and "swagger-ui" in str(answer["body"]).lower()
    else:
        unknown = get("/v1/no-such-route")
        assert (answer["statusCode"], answer["body"]) == (404, unknown["body"])


def test_the_openapi_document_is_served_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOICECLONE_SWAGGER_UI", raising=False)
    answer = get("/v1/openapi.json")
    assert answer["statusCode"] == 200
    assert "/v1/jobs" in json.loads(str(answer["body"]))["paths"]
