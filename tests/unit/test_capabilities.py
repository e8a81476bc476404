"""Voice management per vendor: the Capabilities flags match what each adapter really does.

The independent statement of what each vendor's API offers is its page, docs/vendors/<vendor>.md,
written from the vendor's own documentation: under "Operations" one heading per operation names, in
backticks, the adapter methods it describes (``### Delete (`delete_voice`) and cancel (`cancel_task`)``),
and a vendor that streams speech has a "Streaming speech" section. The tests compare the adapters'
declarations with those pages, so a flag changed in the code alone (or on the page alone) fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from voiceclone.domain.errors import VendorRejected
from voiceclone.domain.models import VendorVoice
from voiceclone.vendors.base import VendorAdapter
from voiceclone.vendors.registry import capabilities, vendor_ids

from tests.unit.conftest import offline_adapter

PAGES = Path(__file__).resolve().parents[2] / "docs" / "vendors"
MANAGEMENT = ("rename_voice", "delete_voice", "cancel_task")
VENDOR_IDS = vendor_ids()


def page(vendor_id: str) -> str:
    return (PAGES / f"{vendor_id}.md").read_text(encoding="utf-8")


def documented_operations(vendor_id: str) -> set[str]:
    """The adapter methods the vendor's page documents: the names in backticks of its Operations headings."""
    section = re.search(r"^## Operations\n(.*?)(?=^## )", page(vendor_id), re.MULTILINE | re.DOTALL)
    assert section, f"docs/vendors/{vendor_id}.md has no Operations section"
    headings = re.findall(r"^### (.*)$", section.group(1), re.MULTILINE)
    return {name for heading in headings for name in re.findall(r"`(\w+)`", heading)}


def documented_streaming(vendor_id: str) -> bool:
    return re.search(r"^## Streaming speech$", page(vendor_id), re.MULTILINE) is not None


UNSUPPORTED = [v for v in VENDOR_IDS if not documented_operations(v) & set(MANAGEMENT)]
STREAMING = {v for v in VENDOR_IDS if documented_streaming(v)}


def test_every_vendor_has_its_page() -> None:
    assert [v for v in VENDOR_IDS if not (PAGES / f"{v}.md").is_file()] == []


@pytest.mark.parametrize("vendor_id", VENDOR_IDS)
def test_the_flags_match_the_vendors_api(vendor_id: str) -> None:
    # The page documents an operation exactly where the adapter declares it (only Qiniu renames; Qiniu,
    # Huawei and CosyVoice delete, and "cancel" by deleting, none having a cancel of its own)
    caps = capabilities(vendor_id)
    declared = {flag for flag in MANAGEMENT if getattr(caps, flag)}
    assert declared == documented_operations(vendor_id) & set(MANAGEMENT)


@pytest.mark.parametrize("vendor_id", VENDOR_IDS)
def test_the_speech_kind_matches_the_vendors_api(vendor_id: str) -> None:
    # One call answers with the audio (synthesize), or the vendor makes it in a job (start_synthesis)
    documented = documented_operations(vendor_id)
    kind = "sync" if "synthesize" in documented else "async" if "start_synthesis" in documented else "none"
    assert capabilities(vendor_id).speech == kind


@pytest.mark.parametrize("vendor_id", VENDOR_IDS)
def test_an_operation_is_overridden_exactly_where_its_flag_is_true(vendor_id: str) -> None:
    # A flag that is True must come with the adapter's own method (not the NotSupported default).
    cls = type(offline_adapter(vendor_id))
    assert cls.capabilities is capabilities(vendor_id)
    for flag in ("rename_voice", "delete_voice", "cancel_task"):
        overridden = getattr(cls, flag) is not getattr(VendorAdapter, flag)
        assert overridden is getattr(cls.capabilities, flag), (vendor_id, flag)
    # And a callback is read exactly where the vendor calls back; a polled vendor refuses with NoCallback
    reads_callbacks = cls.parse_callback is not VendorAdapter.parse_callback
    assert reads_callbacks is (cls.capabilities.completion == "callback"), vendor_id


@pytest.mark.parametrize("vendor_id", UNSUPPORTED)
def test_a_vendor_without_support_refuses_each_operation_and_says_why(vendor_id: str) -> None:
    # Given the adapter of a vendor whose API has no rename, delete or cancel
    adapter = offline_adapter(vendor_id)
    voice = VendorVoice(vendor=vendor_id, voice_id="voice-1")
    # When each is asked for / Then VendorRejected NotSupported naming the vendor, and nothing is sent
    for operation in (
        lambda: adapter.rename_voice(voice, "新名字"),
        lambda: adapter.delete_voice(voice),
        lambda: adapter.cancel_task("task-1"),
    ):
        with pytest.raises(VendorRejected) as caught:
            operation()
        assert caught.value.code == "NotSupported"
        assert caught.value.vendor == vendor_id and caught.value.message


def test_the_base_defaults_refuse_with_not_supported() -> None:
    # Given the VendorAdapter defaults (what an adapter gets when it overrides none of the three)
    adapter = offline_adapter("qiniu")
    voice = VendorVoice(vendor="qiniu", voice_id="v")
    messages = []
    for operation in (
        lambda: VendorAdapter.rename_voice(adapter, voice, "n"),
        lambda: VendorAdapter.delete_voice(adapter, voice),
        lambda: VendorAdapter.cancel_task(adapter, "t"),
    ):
        # When called / Then NotSupported, naming the vendor and what it cannot do
        with pytest.raises(VendorRejected) as caught:
            operation()
        assert caught.value.code == "NotSupported"
        messages.append(caught.value.message)
    assert messages == [
        "qiniu cannot rename voices",
        "qiniu cannot delete voices",
        "qiniu cannot cancel training",
    ]


def test_options_are_validated_against_the_declared_options_and_choices() -> None:
    # Given Huawei's capabilities (one option, "edition", with two editions)
    caps = capabilities("huawei")
    assert caps.option_choices == {"edition": ("BASIC", "ADVANCE")}
    # When valid options are checked (case and spaces as the adapter reads them) / Then no problem
    assert caps.validate_options({}) == []
    assert caps.validate_options({"edition": " advance "}) == []
    # When an unknown option and a value not allowed are checked / Then both problems are named
    problems = caps.validate_options({"edition": "GOLD", "speaker_id": "S_1"})
    assert len(problems) == 2
    assert "'edition'" in problems[0] and "BASIC, ADVANCE" in problems[0]
    assert "unknown option 'speaker_id'" in problems[1] and "edition" in problems[1]


def test_a_vendor_without_options_refuses_any() -> None:
    problems = capabilities("tencent_vrs").validate_options({"edition": "BASIC"})
    assert problems == ["unknown option 'edition' (this vendor takes: none)"]
    # And a vendor whose option takes any value accepts any value
    assert capabilities("volcengine").validate_options({"speaker_id": "S_anything"}) == []


def test_the_voice_name_limit_is_known_before_calling_the_vendor() -> None:
    assert capabilities("qiniu").voice_name_max_chars == 20
    assert capabilities("tencent_vrs").voice_name_max_chars is None


@pytest.mark.parametrize("vendor_id", VENDOR_IDS)
def test_a_vendor_streams_exactly_where_it_says_so(vendor_id: str) -> None:
    cls = type(offline_adapter(vendor_id))
    caps = cls.capabilities
    assert caps.speech_stream is (vendor_id in STREAMING)
    assert (cls.stream_synthesis is not VendorAdapter.stream_synthesis) is caps.speech_stream
    if caps.speech_stream:
        # Raw audio only, at rates the vendor's sync speech has too
        assert set(caps.speech_stream_formats) == {"pcm", "mp3"}
        assert set(caps.speech_stream_sample_rates) <= set(caps.speech_sample_rates)
        assert caps.speech_stream_text_limit >= caps.speech_text_limit


@pytest.mark.parametrize("vendor_id", sorted(set(VENDOR_IDS) - STREAMING))
def test_a_vendor_that_does_not_stream_refuses_before_sending_anything(vendor_id: str) -> None:
    from voiceclone.vendors.speech import SynthesisRequest

    adapter = offline_adapter(vendor_id)
    with pytest.raises(VendorRejected) as caught:
        adapter.stream_synthesis(
            VendorVoice(vendor=vendor_id, voice_id="v"),
            SynthesisRequest(text="你好", format="pcm", sample_rate=16000),
        )
    assert caught.value.code == "NotSupported" and "cannot stream speech" in caught.value.message
