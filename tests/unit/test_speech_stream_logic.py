"""Streaming speech's own logic, below the vendors: the pieces' streams in order, one opened ahead and
every one closed however the stream ends; what the answer's head carries of the labels."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from voiceclone.domain.api_models import SpeechRequest
from voiceclone.domain.errors import VendorUnavailable
from voiceclone.domain.models import Speech, SpeechStatus
from voiceclone.logic.speech import stream as speech_stream
from voiceclone.provenance import AIGC_HEADER, LabelPolicy, SpeechContext, parse_aigc, rhythm, stream_labels
from voiceclone.vendors.speech import SynthesisRequest


class FakeStream(Iterator[bytes]):
    """A vendor stream whose chunks a test hands out one by one (``release``), or that fails."""

    def __init__(self, text: str, chunks: list[bytes], fail_after: int | None = None) -> None:
        self.text = text
        self.request_id = f"req-{text}"
        self._chunks = list(chunks)
        self._fail_after = fail_after
        self._sent = 0
        self.closed_event = threading.Event()

    @property
    def closed(self) -> bool:
        return self.closed_event.is_set()

    def __next__(self) -> bytes:
        if self._fail_after is not None and self._sent == self._fail_after:
            raise VendorUnavailable("fake", "20002", "the synthesis failed")
        if self._sent == len(self._chunks):
            raise StopIteration
        self._sent += 1
        return self._chunks[self._sent - 1]

    def close(self) -> None:
        self.closed_event.set()


class FakeAdapter:
    """Opens one FakeStream per call, in the order asked; ``opened`` is set as each one opens."""

    def __init__(self, streams: dict[str, FakeStream]) -> None:
        self.streams = streams
        self.order: list[str] = []
        self.opened = {text: threading.Event() for text in streams}

    def stream_synthesis(self, voice: Any, request: SynthesisRequest) -> FakeStream:
        self.order.append(request.text)
        self.opened[request.text].set()
        return self.streams[request.text]


def calls(*texts: str) -> list[SynthesisRequest]:
    return [SynthesisRequest(text=t, format="pcm", sample_rate=16000) for t in texts]


def voice() -> Any:
    return SimpleNamespace(vendor_voice=None)  # what the adapter is given (the fake ignores it)


def pieces(adapter: FakeAdapter, *texts: str) -> speech_stream._Pieces:
    timings = speech_stream.Timings(0.0)
    return speech_stream._Pieces(adapter, voice(), calls(*texts), timings)  # type: ignore[arg-type]


def test_the_pieces_play_in_order_the_next_opened_while_the_current_plays() -> None:
    streams = {t: FakeStream(t, [f"{t}{i}".encode() for i in range(3)]) for t in ("a", "b", "c")}
    adapter = FakeAdapter(streams)
    played = pieces(adapter, "a", "b", "c")
    audio = played.audio()
    # When the first piece's first chunk is handed on
    assert next(audio) == b"a0"
    # Then the second piece's stream is opening while the first plays; the third waits for the second
    assert adapter.opened["b"].wait(10)
    assert not adapter.opened["c"].is_set()
    # And everything comes in order, each piece whole, and each stream is closed once played
    assert [next(audio), next(audio), *audio] == [b"a1", b"a2", b"b0", b"b1", b"b2", b"c0", b"c1", b"c2"]
    assert adapter.order == ["a", "b", "c"]
    assert all(s.closed for s in streams.values())
    assert played.request_ids == ["req-a", "req-b", "req-c"]


def test_a_piece_that_fails_closes_its_stream_and_the_one_opened_ahead() -> None:
    streams = {"a": FakeStream("a", [b"a0", b"a1", b"a2"], fail_after=2), "b": FakeStream("b", [b"b0"])}
    adapter = FakeAdapter(streams)
    played = pieces(adapter, "a", "b")
    audio = played.audio()
    assert [next(audio), next(audio)] == [b"a0", b"a1"]
    with pytest.raises(VendorUnavailable):
        next(audio)
    played.close()
    assert streams["a"].closed
    assert adapter.opened["b"].wait(10)
    # the stream opened ahead is closed once it has opened (its opening may still be on its way)
    assert streams["b"].closed_event.wait(10)


# ----- the labels ahead of the audio -------------------------------------------------------------------

CONTEXT = SpeechContext(speech_id="sp-" + "5e" * 16, voice_id="vo-1", vendor="fake", tenant_id="tenant-a")


def labelled_stream(
    adapter: FakeAdapter, fmt: str, policy: LabelPolicy, store: list[Speech] | None = None
) -> speech_stream.SpeechStream:
    """A live stream of the piece "a" through ``adapter``, labelled as ``policy`` says, as prepare makes it
    (the speech's record goes to ``store``)."""
    labels = stream_labels(fmt, 16000, CONTEXT, policy)  # type: ignore[arg-type]
    timings = speech_stream.Timings(0.0)
    played = speech_stream._Pieces(adapter, voice(), calls("a"), timings)  # type: ignore[arg-type]
    if labels.rhythm:
        played.call_first()  # as PreparedStream.open does when the label goes first
    records = store if store is not None else []
    svc = SimpleNamespace(store=SimpleNamespace(speech=SimpleNamespace(put=records.append)))
    return speech_stream.SpeechStream(
        svc,  # type: ignore[arg-type]
        SimpleNamespace(vendor="fake", tenant_id="tenant-a", voice_id="vo-1", vendor_voice=None),  # type: ignore[arg-type]
        SpeechRequest(text="a", format=fmt),  # type: ignore[arg-type]
        16000,
        speech_stream.Delivery.LIVE,
        timings,
        CONTEXT.speech_id,
        played.audio(),
        close=played.close,
        labels=labels,
        label_first=bool(labels.rhythm),
    )


class GatedAdapter(FakeAdapter):
    """A vendor that answers only once ``gate`` is set (or 10 s have passed), noting which it was."""

    def __init__(self, streams: dict[str, FakeStream]) -> None:
        super().__init__(streams)
        self.gate = threading.Event()
        self.answered_after_gate: bool | None = None

    def stream_synthesis(self, voice: Any, request: SynthesisRequest) -> FakeStream:
        self.answered_after_gate = self.gate.wait(10)
        return super().stream_synthesis(voice, request)


def test_with_the_rhythm_on_the_label_goes_out_while_the_vendor_is_called_and_a_failure_is_recorded() -> None:
    # Given a vendor that answers only once the label went out, and then fails before its first audio
    adapter = GatedAdapter({"a": FakeStream("a", [b"a0"], fail_after=0)})
    records: list[Speech] = []
    stream = labelled_stream(adapter, "wav", LabelPolicy(content_producer="producer"), records)
    written: list[bytes] = []

    def write(data: bytes) -> None:
        written.append(data)
        adapter.gate.set()

    # When it plays
    with pytest.raises(VendorUnavailable):
        stream.play(write)
    # Then the header and the rhythm went out first, without waiting for the vendor's answer
    assert adapter.answered_after_gate is True
    assert written == [stream.head().prefix] and written[0].endswith(rhythm.label_pcm(16000))
    assert adapter.order == ["a"] and adapter.streams["a"].closed
    # And the speech is recorded FAILED with the vendor's code, the label its first audio
    (record,) = records
    assert record.status is SpeechStatus.FAILED and record.error is not None and record.error.code == "20002"
    assert stream.timings.first_byte > 0 and stream.timings.first_speech == 0


def test_with_the_rhythm_off_the_header_goes_out_with_the_vendors_first_audio() -> None:
    adapter = FakeAdapter({"a": FakeStream("a", [b"a0", b"a1"], fail_after=1)})
    stream = labelled_stream(adapter, "wav", LabelPolicy(content_producer="producer", explicit=False))
    written: list[bytes] = []
    with pytest.raises(VendorUnavailable):
        stream.play(written.append)
    # No audio to send ahead: the WAV's one header, with the label, goes out with the vendor's first chunk
    assert not stream.label_first
    assert written == [stream.head().prefix + b"a0"]
    assert stream.head().prefix.endswith(b"data\xff\xff\xff\xff")


def test_raw_pcm_under_the_header_rule_carries_the_aigc_value_in_a_response_header() -> None:
    adapter = FakeAdapter({"a": FakeStream("a", [b"a0"])})
    stream = labelled_stream(adapter, "pcm", LabelPolicy(content_producer="producer", pcm="header"))
    head = stream.head()
    assert head.prefix == rhythm.label_pcm(16000)
    assert parse_aigc(head.headers[AIGC_HEADER]).produce_id == CONTEXT.speech_id
    # WAV and MP3 carry it in the bytes, not in a header
    for fmt in ("wav", "mp3"):
        assert (
            AIGC_HEADER not in labelled_stream(adapter, fmt, LabelPolicy(content_producer="p")).head().headers
        )
