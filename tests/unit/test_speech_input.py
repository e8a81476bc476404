"""What a speech request may ask of a vendor, refused before the vendor is called when it cannot be served.

Text with nothing to read, a speed outside the vendor's range, an Accept header that refuses what
the route serves, a usage period over the limit and an option value in the wrong format: each is
a 4xx that says what to change, and reaches neither the store nor the vendor.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from voiceclone.domain.api_models import SpeechRequest
from voiceclone.domain.errors import InvalidField, InvalidRequest
from voiceclone.domain.text import readable, without_markup
from voiceclone.logic.account import usage as account_usage
from voiceclone.logic.core import services as core_services
from voiceclone.logic.speech import service as speech
from voiceclone.vendors.registry import capabilities, vendor_ids

from tests.unit.test_api_input import CREATE, FakeContext, Untouchable, assert_refused, event
from tests.unit.text_strategies import UNREADABLE_SAMPLES, readable_texts, unreadable_texts

SPEAKING = tuple(v for v in vendor_ids() if capabilities(v).speech != "none")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Any:
    from voiceclone import rest as module

    monkeypatch.setattr(
        core_services, "_services", SimpleNamespace(store=Untouchable(), adapter_for=Untouchable())
    )
    return module


def answer(api: Any, evt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = api.handle(evt, FakeContext())
    return int(result["statusCode"]), json.loads(result["body"])


def speech_event(body: dict[str, Any], accept: str | None = None) -> dict[str, Any]:
    evt = event("POST", "/v1/voices/v-1/speech", json.dumps(body, ensure_ascii=False))
    if accept is not None:
        evt["headers"]["Accept"] = accept
        evt["multiValueHeaders"]["Accept"] = [accept]
    return evt


# ----- readable text ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", UNREADABLE_SAMPLES)
def test_the_texts_vendors_cannot_read_are_unreadable(text: str) -> None:
    assert not readable(text)


@pytest.mark.parametrize(
    "text", ["a", "你", "é", "٣", "½", "3", "<b>hi</b>", "😀 ok", "\u200bx", "a < b", "1 > 0", "。好"]
)
def test_a_letter_or_digit_outside_tags_is_readable(text: str) -> None:
    assert readable(text)


@given(unreadable_texts())
def test_generated_unreadable_text_has_no_letter_or_digit_outside_tags(text: str) -> None:
    assert not readable(text)
    assert not any(ch.isalnum() for ch in without_markup(text))


@given(readable_texts())
def test_generated_text_with_a_word_is_readable(text: str) -> None:
    assert readable(text)


@given(st.text(max_size=60))
def test_the_rule_is_at_least_as_strict_as_the_vendors_letter_or_digit_check(text: str) -> None:
    # The Tencent VRS and Volcengine sandboxes refuse text without a letter or digit, as those vendors
    # do: whatever they refuse, the API refuses first.
    if not any(ch.isalnum() for ch in text):
        assert not readable(text)


@settings(max_examples=60)
@given(unreadable_texts())
def test_unreadable_text_is_a_422_before_any_lookup_or_vendor_call(text: str) -> None:
    from voiceclone import rest

    saved = core_services._services
    core_services._services = SimpleNamespace(store=Untouchable(), adapter_for=Untouchable())  # type: ignore[assignment]
    try:
        status, body = answer(rest, speech_event({"text": text}))
    finally:
        core_services._services = saved
    assert_refused(status, body, 422)
    assert [d["type"] for d in body["detail"]] == ["unreadable_text"], body
    assert body["detail"][0]["loc"] == ["body", "text"]
    assert "nothing a voice can read" in body["message"]


def test_the_openapi_pattern_of_the_text_matches_only_readable_samples() -> None:
    import re

    # A pattern cannot say "outside tags": the schema's approximation is checked on the samples without.
    pattern = SpeechRequest.model_json_schema()["properties"]["text"]["pattern"]
    for text in UNREADABLE_SAMPLES:
        assert "<" in text or not re.search(pattern, text), text
    for text in ("hello", "你好", "Grüße", "привет", "3"):
        assert re.search(pattern, text), text


def test_pieces_with_nothing_to_read_are_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    # A long text whose cut leaves a piece of punctuation alone: only the readable pieces are spoken.
    from voiceclone.vendors.speech import split_text

    text = "你好。" * 3 + "！！！"
    pieces = [p for p in split_text(text, 9, "chars") if readable(p)]
    assert "".join(pieces).startswith("你好。") and all(readable(p) for p in pieces)
    assert not readable("！！！")


# ----- speed -------------------------------------------------------------------------------------------


def test_a_boolean_is_no_speed_nor_sample_rate() -> None:
    for field in ("speed", "sample_rate"):
        with pytest.raises(ValidationError) as raised:
            SpeechRequest.model_validate({"text": "hi", field: True})
        assert raised.value.errors()[0]["loc"] == (field,)
    assert SpeechRequest.model_validate({"text": "hi", "speed": 1}).speed == 1.0


def test_speed_true_is_a_422_at_the_api(api: Any) -> None:
    status, body = answer(api, speech_event({"text": "你好", "speed": True}))
    assert_refused(status, body, 422)
    assert body["detail"][0]["loc"] == ["body", "speed"]


@pytest.mark.parametrize("vendor", SPEAKING)
def test_every_vendor_that_speaks_declares_its_speeds_and_they_are_checked_on_both_sides(vendor: str) -> None:
    caps = capabilities(vendor)
    assert caps.speech_speeds is not None
    low, high = caps.speech_speeds
    api_low, api_high = 0.5, 2.0  # what SpeechRequest itself takes
    for inside in {max(low, api_low), min(high, api_high), 1.0 if low <= 1.0 <= high else low}:
        request = SpeechRequest(text="hi", speed=inside)
        assert speech._check_format(vendor, caps, request) in caps.speech_sample_rates
    for outside in (low - 0.01, high + 0.01):
        if not api_low <= outside <= api_high:
            continue  # the request model refuses it already
        with pytest.raises(InvalidField) as raised:
            speech._check_format(vendor, caps, SpeechRequest(text="hi", speed=round(outside, 2)))
        assert raised.value.code == "UnsupportedSpeed" and raised.value.loc == ("body", "speed")
        assert raised.value.details["speeds"] == [low, high]


def test_tencent_vrs_slower_than_its_range_is_unsupported_speed() -> None:
    caps = capabilities("tencent_vrs")
    for speed in (0.5, 0.55, 0.59):
        with pytest.raises(InvalidField) as raised:
            speech._check_format("tencent_vrs", caps, SpeechRequest(text="hi", speed=speed))
        assert (
            raised.value.message
            == "tencent_vrs speaks at 0.6 to 2.5 times the natural pace, not " + f"{speed:g}"
        )
    assert speech._check_format("tencent_vrs", caps, SpeechRequest(text="hi", speed=0.6)) == 16000


def test_a_vendor_that_speaks_must_declare_its_speeds() -> None:
    from voiceclone.vendors.base import Capabilities

    with pytest.raises(ValidationError, match="speech_speeds"):
        Capabilities(
            audio_transport="url", speech="sync", speech_formats=("wav",), speech_sample_rates=(16000,)
        )
    Capabilities(audio_transport="url", speech="none")


# ----- content negotiation -----------------------------------------------------------------------------

JSON, WAV, MP3 = "application/json", "audio/wav", "audio/mpeg"
OFFERED = [JSON, WAV, "audio/x-wav", "audio/wave", MP3]


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("audio/wav", WAV),
        ("audio/mpeg", MP3),
        ("audio/wav;q=0, application/json", JSON),
        ("audio/wav; q=0.0, */*", JSON),
        ("audio/*;q=0, application/json;q=0.1", JSON),
        ("audio/wav, application/json", WAV),
        ("application/json, audio/wav", JSON),
        ("application/json;q=0.5, audio/wav", WAV),
        ("audio/wav;q=0.4, audio/mpeg;q=0.9", MP3),
        ("*/*;q=0.1, audio/mpeg", MP3),
        ("audio/*, application/json;q=0", WAV),
        ("AUDIO/WAV", WAV),
        ("text/html", None),
        ("audio/wav;q=0", None),
        ("application/json;q=0, audio/*;q=0", None),
        ("*/*;q=0", None),
        ("audio/wav;q=abc", None),
    ],
)
def test_negotiate_follows_the_quality_values(accept: str, chosen: str | None) -> None:
    from voiceclone.rest.speech import negotiate

    assert negotiate(accept, OFFERED) == chosen


def test_a_q0_audio_type_gets_json_not_the_audio(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a speech route whose logic answers a view (the vendor call is not what is tested here)
    asked: list[bool] = []

    def speak(svc: Any, tenant: str, voice: str, body: Any, *, audio_response: bool) -> Any:
        asked.append(audio_response)
        raise InvalidRequest("Stop", "the route got this far")

    monkeypatch.setattr(speech, "speak", speak)
    # When the client refuses WAV (q=0) and accepts JSON
    status, body = answer(api, speech_event({"text": "你好"}, accept="audio/wav;q=0, application/json"))
    # Then the route asks for no audio in the response
    assert (status, body["error"], asked) == (400, "Stop", [False])


def test_an_accept_that_refuses_everything_the_route_serves_is_a_406(api: Any) -> None:
    status, body = answer(api, speech_event({"text": "你好"}, accept="text/html"))
    assert_refused(status, body, 406)
    assert body["error"] == "NotAcceptable" and "application/json" in body["message"]


# ----- usage period ------------------------------------------------------------------------------------


def usage_of(days: int) -> Any:
    store = SimpleNamespace(
        usage=SimpleNamespace(speech=lambda *a: {}), voices=SimpleNamespace(clone_counts=lambda *a: {})
    )
    end = date(2026, 12, 6)
    return account_usage.usage(SimpleNamespace(store=store), "acme", end - timedelta(days=days - 1), end, end)  # type: ignore[arg-type]


def test_a_usage_period_counts_both_ends_and_takes_at_most_366_days() -> None:
    assert usage_of(366).start == date(2025, 12, 6)
    with pytest.raises(InvalidRequest) as raised:
        usage_of(367)
    assert raised.value.code == "PeriodTooLong"
    assert "2025-12-05 to 2026-12-06 is 367" in raised.value.message
    assert usage_of(1).start == usage_of(1).end


def test_the_367_day_period_is_a_400_at_the_api(api: Any) -> None:
    evt = event("GET", "/v1/usage", None, query={"from": "2025-12-05", "to": "2026-12-06"})
    status, body = answer(api, evt)
    assert_refused(status, body, 400)
    assert body["error"] == "PeriodTooLong"


# ----- option values -----------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", vendor_ids())
def test_every_option_of_every_vendor_declares_its_choices_or_format(vendor: str) -> None:
    caps = capabilities(vendor)
    for option in caps.options:
        assert option in caps.option_choices or option in caps.option_formats, (vendor, option)


@pytest.mark.parametrize("value", ["../../x", "S_", "s_abc", "S_abc/def", "S_" + "a" * 63, " ", "S_ab c"])
def test_a_volcengine_speaker_id_in_the_wrong_format_is_a_400_at_create(api: Any, value: str) -> None:
    request = {**CREATE, "vendor": "volcengine", "options": {"speaker_id": value}}
    status, body = answer(api, event("POST", "/v1/jobs", json.dumps(request)))
    assert_refused(status, body, 400)
    assert body["error"] == "InvalidOption" and "S_ and letters or digits" in body["message"]


def test_a_volcengine_speaker_id_in_the_console_format_passes() -> None:
    caps = capabilities("volcengine")
    assert caps.validate_options({"speaker_id": "S_r3YGBCoB1"}) == []
    assert caps.validate_options({"speaker_id": " S_sandbox001 "}) == []
