"""Streaming speech's own logic, below the vendors: the pieces' streams in order, one opened ahead and
every one closed however the stream ends; a streamed WAV's one header."""

from __future__ import annotations

import io
import threading
import wave
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from voiceclone.domain.errors import VendorUnavailable
from voiceclone.logic.speech import stream as speech_stream
from voiceclone.vendors.speech import SynthesisRequest, wav_rate


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
    first = adapter.stream_synthesis(None, calls(texts[0])[0])
    return speech_stream._Pieces(adapter, voice(), calls(*texts), first)  # type: ignore[arg-type]


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


def test_a_streamed_wav_has_one_header_whose_length_runs_to_the_end() -> None:
    header = speech_stream.streamed_wav_header(24000)
    assert len(header) == 44 and header[:4] == b"RIFF" and header[8:16] == b"WAVEfmt "
    assert header[4:8] == header[40:44] == b"\xff\xff\xff\xff"
    pcm = bytes(range(200)) * 10
    # Readers take the data as running to the end: the rate, and every sample that follows
    assert wav_rate(header + pcm) == 24000
    with wave.open(io.BytesIO(header + pcm)) as read:
        assert (read.getframerate(), read.getnchannels(), read.getsampwidth()) == (24000, 1, 2)
        assert read.readframes(len(pcm)) == pcm
