"""The studio on the local gateway: only studio/'s files, with their types, its config and security headers;
and the api function's CORS, limited to the configured origins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from voiceclone_local.apigw import STUDIO_DIR, LocalApiGateway, StudioSite


def _invoke(name: str, event: dict[str, object]) -> tuple[dict[str, object], str | None]:
    raise AssertionError(f"no function may run for a studio file (asked {name})")


@pytest.fixture
def gateway(tmp_path: Path) -> LocalApiGateway:
    root = tmp_path / "studio"
    (root / "js").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>studio</title>")
    (root / "js" / "app.js").write_text("export {};")
    (root / "studio.css").write_text("body {}")
    (root / ".env").write_text("SECRET=1")
    (tmp_path / "outside.txt").write_text("not the studio's")
    (root / "link.txt").symlink_to(tmp_path / "outside.txt")
    gw = LocalApiGateway([], {}, _invoke, "123456789012")
    gw.url = "http://127.0.0.1:4567"
    assert gw.serve_studio("vck_dev", ["http://127.0.0.1:5000"], root=root) == "http://127.0.0.1:4567/studio/"
    return gw


def test_files_are_served_with_their_types_and_security_headers(gateway: LocalApiGateway) -> None:
    # When the page and its parts are asked for
    index = gateway.dispatch("GET", "/studio/", {}, b"")
    script = gateway.dispatch("GET", "/studio/js/app.js?v=1", {}, b"")
    style = gateway.dispatch("GET", "/studio/studio.css", {}, b"")
    # Then each comes with its type, and every answer with the security headers
    assert index[0] == 200 and index[2].startswith(b"<!doctype html>")
    assert index[1]["Content-Type"] == "text/html; charset=utf-8"
    assert script[0] == 200 and script[1]["Content-Type"] == "text/javascript; charset=utf-8"
    assert style[1]["Content-Type"] == "text/css; charset=utf-8"
    csp = index[1]["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "connect-src 'self' http://127.0.0.1:5000" in csp and "frame-ancestors 'none'" in csp
    assert index[1]["X-Content-Type-Options"] == "nosniff" and index[1]["X-Frame-Options"] == "DENY"


def test_config_names_the_api_the_dev_key_and_the_vendors(gateway: LocalApiGateway) -> None:
    status, headers, body = gateway.dispatch("GET", "/studio/config.json", {}, b"")
    config = json.loads(body)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert config["apiUrl"] == "http://127.0.0.1:4567" and config["apiKey"] == "vck_dev"
    assert "tencent_vrs" in config["vendors"] and config["local"] is True


@pytest.mark.parametrize(
    "path",
    [
        "/studio/../pyproject.toml",
        "/studio/%2e%2e/pyproject.toml",
        "/studio/js/../../outside.txt",
        "/studio/js/%2E%2E/%2E%2E/outside.txt",
        "/studio/..%2foutside.txt",
        "/studio/.env",
        "/studio/link.txt",  # a symlink out of studio/
        "/studio/js/",
        "/studio/missing.html",
        "/studio//etc/passwd",
        "/studio/js\\..\\..\\outside.txt",
    ],
)
def test_nothing_outside_studio_is_served(gateway: LocalApiGateway, path: str) -> None:
    status, _, body = gateway.dispatch("GET", path, {}, b"")
    assert status == 404, (path, body)
    assert b"not the studio's" not in body and b"SECRET" not in body


def test_only_get_and_the_bare_path_redirects(gateway: LocalApiGateway) -> None:
    assert gateway.dispatch("POST", "/studio/index.html", {}, b"x")[0] == 405
    status, headers, _ = gateway.dispatch("GET", "/studio", {}, b"")
    assert status == 301 and headers["Location"] == "/studio/"
    # The API's own paths are untouched: no route there is API Gateway's 403
    assert gateway.dispatch("GET", "/studiox/index.html", {}, b"")[0] == 403


def test_the_repository_studio_is_what_the_local_stack_serves() -> None:
    site = StudioSite(STUDIO_DIR, {})
    page = site.answer("GET", "/studio/")
    assert page[0] == 200 and b'<script type="module" src="js/app.js">' in page[2]
    for script in ("app.js", "api.js", "audio.js"):
        assert site.answer("GET", f"/studio/js/{script}")[0] == 200


def test_no_studio_folder_no_studio(tmp_path: Path) -> None:
    gw = LocalApiGateway([], {}, _invoke, "123456789012")
    assert gw.serve_studio("vck_dev", [], root=tmp_path) == ""
    assert gw.dispatch("GET", "/studio/", {}, b"")[0] == 403


def test_api_cors_allows_the_configured_origins_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from voiceclone import rest as api

    monkeypatch.delenv(api.ENV_CORS_ORIGINS, raising=False)
    assert api.cors_config() is None
    monkeypatch.setenv(api.ENV_CORS_ORIGINS, "https://d111.cloudfront.net, https://studio.example.com")
    cors = api.cors_config()
    assert cors is not None
    assert (
        cors.to_dict("https://d111.cloudfront.net")["Access-Control-Allow-Origin"]
        == "https://d111.cloudfront.net"
    )
    assert (
        cors.to_dict("https://studio.example.com")["Access-Control-Allow-Origin"]
        == "https://studio.example.com"
    )
    assert "Access-Control-Allow-Origin" not in cors.to_dict("https://evil.example")
    assert "Authorization" in cors.to_dict("https://d111.cloudfront.net")["Access-Control-Allow-Headers"]
