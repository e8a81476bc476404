"""Streaming speech: the real adapters against the Tencent and Volcengine sandboxes' WebSocket APIs.

Each sandbox trains a voice from the sample recordings; the adapter's stream must hand on the
first audio while the sandbox still holds the rest (shown by a held stream and its events, not
by a clock), join to exactly what the sync synthesis answers for the same text, and turn each
failure (credentials, error frames before and after the first audio, a connection cut without
the final frame, concurrency) into the taxonomy's error with the vendor's code.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from voiceclone.domain.errors import (
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.vendors import registry
from voiceclone.vendors.tencent_vrs import TencentVrsAdapter
from voiceclone.vendors.volcengine import VolcengineAdapter

from tests.integration.conftest import StreamCase as Case
from tests.integration.conftest import speech_request as request
from tests.integration.test_sandbox_speech import LONG, SHORT

VENDORS = ("tencent_vrs", "volcengine")
# Each vendor's code for a synthesis that failed inside (the sandbox's mid-stream failure), for a
# voice it does not know, and for too many streams at once.
FAILED = {"tencent_vrs": "20002", "volcengine": "3031"}
UNKNOWN_VOICE = {"tencent_vrs": "10001", "volcengine": "3050"}
BUSY = {"tencent_vrs": "10002", "volcengine": "3003"}


@pytest.fixture(params=VENDORS)
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    """Each vendor in turn, its stream knobs put back after the test."""
    chosen: Case = request.getfixturevalue("tencent" if request.param == "tencent_vrs" else "volcengine")
    saved = chosen.sandbox.config.model_copy()
    try:
        yield chosen
    finally:
        chosen.sandbox.release_streams()
        for record in list(chosen.sandbox.streams):
            record.done.wait(10)
        chosen.sandbox.config = saved
        chosen.sandbox.hold_streams()


# ----- streaming as it should go ------------------------------------------------------------------------


def test_the_first_audio_is_handed_on_before_the_vendor_sent_the_last(case: Case) -> None:
    # Given a vendor that spaces its chunks and stops after the first until told to go on
    case.sandbox.config.stream_chunk_delay_ms = 10
    case.sandbox.config.stream_hold_after_chunks = 1
    # When the adapter opens the stream of a long text
    stream = case.stream()
    record = case.last_stream()
    first = next(stream)
    # Then the first audio is in hand while the vendor has sent one chunk of many and not its last
    assert first
    assert record.chunks_sent == 1 and record.chunks_total > 5
    assert not record.last_chunk_sent.is_set()
    # And once the vendor goes on, the rest arrives in order, up to the vendor's final frame
    case.sandbox.release_streams()
    rest = list(stream)
    assert len(rest) == record.chunks_total - 1
    assert record.last_chunk_sent.is_set() and record.done.wait(10)
    assert record.outcome == "final" and record.closed_by_client
    assert stream.request_id


@pytest.mark.parametrize(("fmt", "rate"), [("pcm", 16000), ("pcm", 8000), ("mp3", 16000)])
def test_the_joined_stream_is_the_sync_synthesis_of_the_same_text(case: Case, fmt: str, rate: int) -> None:
    # When the same text is streamed and synthesized in one call
    with case.stream(LONG, fmt, rate) as stream:
        chunks = list(stream)
    whole = case.adapter.synthesize(case.voice, request(LONG, fmt, rate)).audio
    # Then the chunks, joined, are that audio byte for byte, cut in many pieces of about 100 ms
    assert b"".join(chunks) == whole
    assert len(chunks) > 5
    if fmt == "pcm":
        assert {len(c) for c in chunks[:-1]} == {rate // 10 * 2}
    assert (stream.format, stream.sample_rate) == (fmt, rate)


def test_a_caller_that_stops_early_closes_the_connection(case: Case) -> None:
    case.sandbox.config.stream_hold_after_chunks = 2
    stream = case.stream()
    next(stream)
    record = case.last_stream()
    stream.close()
    case.sandbox.release_streams()
    assert record.done.wait(10)
    assert record.outcome == "abandoned by the client" and not record.last_chunk_sent.is_set()


# ----- failures -----------------------------------------------------------------------------------------


def test_an_error_frame_before_any_audio_is_raised_by_the_call(case: Case) -> None:
    case.sandbox.config.stream_fail_after_chunks = 0
    with pytest.raises(VendorUnavailable) as caught:
        case.stream()
    assert caught.value.code == FAILED[case.vendor] and caught.value.retryable


def test_an_error_frame_after_audio_is_raised_by_the_iteration(case: Case) -> None:
    # Given a vendor that fails after three chunks
    case.sandbox.config.stream_fail_after_chunks = 3
    stream = case.stream()
    received = [next(stream) for _ in range(3)]
    # When the caller reads on / Then the vendor's error, with its code, after exactly that audio
    with pytest.raises(VendorUnavailable) as caught:
        next(stream)
    assert caught.value.code == FAILED[case.vendor]
    assert len(received) == 3 and case.last_stream().outcome.startswith("failed")


def test_a_vendor_code_of_another_kind_mid_stream_keeps_its_kind(case: Case) -> None:
    case.sandbox.config.stream_fail_after_chunks = 1
    case.sandbox.config.stream_fail_code = int(BUSY[case.vendor])
    stream = case.stream()
    with pytest.raises(VendorThrottled) as caught:
        list(stream)
    assert caught.value.code == BUSY[case.vendor]


@pytest.mark.parametrize("after", [0, 2])
def test_a_connection_closed_without_the_final_frame_is_a_truncated_stream(case: Case, after: int) -> None:
    case.sandbox.config.stream_drop_after_chunks = after
    received: list[bytes] = []
    with pytest.raises(VendorUnavailable) as caught:
        received.extend(case.stream())
    assert caught.value.code == "StreamTruncated"
    assert len(received) == after and case.last_stream().outcome == "dropped"


def test_a_voice_the_vendor_does_not_know_is_rejected_with_its_code(case: Case) -> None:
    unknown = case.voice.model_copy(
        update={"voice_id": "424242", "details": {"VoiceType": 424242, "speaker_id": "S_unknown"}}
    )
    with pytest.raises(VendorRejected) as caught:
        case.adapter.stream_synthesis(unknown, request(SHORT))
    assert caught.value.code == UNKNOWN_VOICE[case.vendor]


def test_more_streams_than_the_vendor_takes_at_once_are_throttled(case: Case) -> None:
    # Given a vendor taking one stream at a time, one of them open
    case.sandbox.config.stream_concurrency = 1
    case.sandbox.config.stream_hold_after_chunks = 1
    with case.stream():
        # When a second one opens / Then the vendor's concurrency error, retryable
        with pytest.raises(VendorThrottled) as caught:
            case.stream(SHORT)
        assert caught.value.code == BUSY[case.vendor]


def test_what_the_stream_cannot_make_is_refused_before_connecting(case: Case) -> None:
    before = len(case.sandbox.streams)
    limit = case.adapter.capabilities.speech_stream_text_limit
    for text, fmt, rate, code in (
        (SHORT, "wav", 16000, "InvalidFormat"),
        (SHORT, "pcm", 44100, "InvalidSampleRate"),
        ("长" * (limit + 1), "pcm", 16000, "TextTooLong"),
    ):
        with pytest.raises(VendorRejected) as caught:
            case.stream(text, fmt, rate)
        assert caught.value.code == code
    assert len(case.sandbox.streams) == before


def test_tencent_refuses_a_wrong_key_or_app_id_as_an_authentication_failure(tencent: Case) -> None:
    settings = tencent.sandbox.credentials()
    for secret_key, app_id in (("wrong-key", settings["app_id"]), (settings["secret_key"], "1300000001")):
        adapter = TencentVrsAdapter(
            tencent.sandbox.url,
            settings["secret_id"],
            secret_key,
            stream_endpoint=tencent.sandbox.stream_url,
            app_id=app_id,
        )
        with pytest.raises(VendorAuthError) as caught:
            adapter.stream_synthesis(tencent.voice, request(SHORT))
        assert caught.value.code == "10003"


def test_tencent_without_an_app_id_says_which_setting_is_missing(tencent: Case) -> None:
    settings = tencent.sandbox.credentials()
    adapter = TencentVrsAdapter(
        tencent.sandbox.url,
        settings["secret_id"],
        settings["secret_key"],
        stream_endpoint=tencent.sandbox.stream_url,
    )
    with pytest.raises(VendorAuthError, match="VOICECLONE_TENCENT_VRS_APP_ID") as caught:
        adapter.stream_synthesis(tencent.voice, request(SHORT))
    assert caught.value.code == "MissingConfiguration"


def test_volcengine_refuses_a_wrong_token_at_the_upgrade(volcengine: Case) -> None:
    settings = volcengine.sandbox.credentials()
    adapter = VolcengineAdapter(
        endpoint=volcengine.sandbox.url,
        appid=settings["appid"],
        access_token="wrong-token",
        access_key_id=settings["access_key_id"],
        secret_access_key=settings["secret_access_key"],
        stream_endpoint=volcengine.sandbox.stream_url,
    )
    with pytest.raises(VendorAuthError) as caught:
        adapter.stream_synthesis(volcengine.voice, request(SHORT))
    assert caught.value.code == "3001" and caught.value.details.get("request_id")


def test_an_endpoint_nobody_listens_on_is_unavailable(tencent: Case) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = tencent.sandbox.credentials()
    adapter = TencentVrsAdapter(
        tencent.sandbox.url,
        settings["secret_id"],
        settings["secret_key"],
        stream_endpoint=f"ws://127.0.0.1:{port}/stream_ws",
        app_id=settings["app_id"],
    )
    with pytest.raises(VendorError) as caught:
        adapter.stream_synthesis(tencent.voice, request(SHORT))
    assert isinstance(caught.value, VendorUnavailable) and caught.value.code == "NetworkError"


def test_volcengine_refuses_an_app_id_the_token_does_not_cover_in_an_error_frame(volcengine: Case) -> None:
    # Given the right token (the upgrade passes) and an app id of another account in the request
    settings = volcengine.sandbox.credentials()
    adapter = VolcengineAdapter(
        endpoint=volcengine.sandbox.url,
        appid="2100009999",
        access_token=settings["access_token"],
        access_key_id=settings["access_key_id"],
        secret_access_key=settings["secret_access_key"],
        stream_endpoint=volcengine.sandbox.stream_url,
    )
    # When it streams / Then Volcengine's error frame (3001, its words) is an authentication failure
    with pytest.raises(VendorAuthError) as caught:
        adapter.stream_synthesis(volcengine.voice, request(SHORT))
    assert caught.value.code == "3001" and "grant" in caught.value.message


def test_the_local_stack_gives_the_functions_each_sandboxs_stream_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from voiceclone_local.stack import LocalStack

    for name in [n for n in os.environ if n.startswith("VOICECLONE_")]:
        monkeypatch.delenv(name)
    # When the local stack starts its sandboxes (what it puts in the template's vendor settings)
    stack = LocalStack(quiet=True)
    try:
        settings = stack._start_sandboxes()
        streams = {key: value for key, value in settings.items() if key.endswith("_stream_endpoint")}
        # Then every streaming vendor's setting is its sandbox's WebSocket URL, nobody else's
        streaming = [v for v in registry.vendor_ids() if registry.capabilities(v).speech_stream]
        assert {"tencent_vrs", "volcengine"} <= set(streaming)
        assert streams == {
            f"{vendor}_stream_endpoint": stack.sandboxes[vendor].stream_url for vendor in streaming
        }
        assert all(url.startswith("ws://127.0.0.1:") for url in streams.values())
    finally:
        stack.stop()
