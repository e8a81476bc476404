"""POST /v1/comparisons refuses a bad request with every problem named at once, before any store or
vendor call: unknown, duplicate and non-cloning vendors, options for a vendor not chosen, option values
a vendor refuses, a name too long for one of the vendors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from voiceclone.vendors import registry
from voiceclone.vendors.base import Capabilities
from voiceclone.vendors.qiniu import QiniuAdapter

from tests.unit.test_api_input import answer, api, event  # noqa: F401 - the fixture is used by name

BODY = {"voice_name": "v", "gender": "female", "speaker_name": "Li Hua"}


class SpeechOnly(QiniuAdapter):
    """A vendor registered for speech alone: it clones nothing."""

    vendor_id = "speech_only"
    capabilities = QiniuAdapter.capabilities.model_copy(update={"clones": False})


@pytest.fixture
def speech_only() -> Iterator[str]:
    registry.register("speech_only", SpeechOnly)
    yield "speech_only"
    registry.unregister("speech_only")


def create(api: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: F811
    return answer(api, event("POST", "/v1/comparisons", json.dumps({**BODY, **body})))


def test_every_problem_of_a_comparison_is_named_at_once(api: Any, speech_only: str) -> None:  # noqa: F811
    status, body = create(
        api,
        {
            "vendors": ["volcengine", "nobody", "volcengine", speech_only, "huawei", "qiniu"],
            "voice_name": "x" * 40,
            "options": {
                "volcengine": {"speaker_id": "not-a-slot"},
                "huawei": {"edition": "GOLD", "colour": "red"},
                "tencent_vrs": {"a": "b"},
            },
        },
    )
    assert status == 422, body
    found = {(".".join(d["loc"]), d["type"]) for d in body["detail"]}
    assert found == {
        ("body.vendors.1", "UnknownVendor"),
        ("body.vendors.2", "DuplicateVendor"),
        ("body.vendors.3", "VendorCannotClone"),
        ("body.voice_name", "NameTooLong"),  # Qiniu's limit
        ("body.options.volcengine", "InvalidOption"),
        ("body.options.huawei", "InvalidOption"),
        ("body.options.tencent_vrs", "UnknownOption"),
    }
    huawei = [d["msg"] for d in body["detail"] if d["loc"] == ["body", "options", "huawei"]]
    assert len(huawei) == 2 and any("GOLD" in m for m in huawei) and any("colour" in m for m in huawei)
    assert all(d["msg"] for d in body["detail"]) and body["message"]


def test_one_vendor_is_no_comparison(api: Any) -> None:  # noqa: F811
    status, body = create(api, {"vendors": ["qiniu"]})
    assert status == 422 and body["detail"][0]["loc"] == ["body", "vendors"]


def test_a_vendor_declares_that_it_clones_by_default() -> None:
    assert Capabilities(audio_transport="url").clones


def test_a_vote_is_a_or_b_or_same_on_a_pair_id_the_service_issued(api: Any) -> None:  # noqa: F811
    path = "/v1/comparisons/cmp-1/votes"
    status, body = answer(
        api, event("POST", path, json.dumps({"pair_id": "pair-" + "0" * 32, "choice": "c"}))
    )
    assert status == 422 and body["detail"][0]["loc"] == ["body", "choice"]
    status, body = answer(api, event("POST", path, json.dumps({"pair_id": "qiniu", "choice": "a"})))
    assert status == 422 and body["detail"][0]["loc"] == ["body", "pair_id"]
    status, body = answer(api, event("POST", "/v1/comparisons/cmp-1/keep", json.dumps({"vendor": "a/b"})))
    assert status == 422 and body["detail"][0]["loc"] == ["body", "vendor"]
