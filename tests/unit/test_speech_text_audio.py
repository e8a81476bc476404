"""Long text split within a vendor's limit, its parts' audio joined into one file or one stream."""

from __future__ import annotations

import math
import struct
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from voiceclone.domain.audio import pcm_of, wav_file
from voiceclone.vendors.speech import (
    Mp3StreamFrames,
    SynthesisRequest,
    SynthesisResult,
    join_audio,
    measure,
    mp3_frame_spans,
    mp3_frames_only,
    split_text,
)

# Text as people write it: Chinese and English, sentence and clause marks, spaces and line breaks.
TEXT = st.text(
    alphabet=st.sampled_from(list("你好世界天气很我们去公园ab cdEF12。！？.!?，,；; \n😀é")),
    max_size=400,
)


@settings(max_examples=300, deadline=None)
@given(text=TEXT, limit=st.integers(min_value=4, max_value=60), unit=st.sampled_from(["chars", "bytes"]))
def test_split_loses_nothing_and_never_exceeds_the_limit(text: str, limit: int, unit: str) -> None:
    # When any text is split for a vendor's limit
    parts = split_text(text, limit, unit)  # type: ignore[arg-type]
    # Then the parts, in order, are exactly the text, each non-empty and within the limit
    size = measure(unit)  # type: ignore[arg-type]
    assert "".join(parts) == text
    assert all(part and size(part) <= limit for part in parts)


def test_sentences_are_kept_whole_when_they_fit() -> None:
    text = "你好，世界。今天天气很好！我们去公园吧？Hello there. Fine!"
    assert split_text(text, 14, "chars") == [
        "你好，世界。今天天气很好！",
        "我们去公园吧？",
        "Hello there. ",
        "Fine!",
    ]


def test_a_sentence_over_the_limit_is_cut_after_commas_then_at_spaces() -> None:
    assert split_text("一二三四，五六七八，九十。", 6, "chars") == ["一二三四，", "五六七八，", "九十。"]
    assert split_text("alpha beta gamma delta.", 12, "chars") == ["alpha beta ", "gamma delta."]


def test_a_decimal_point_is_no_sentence_end() -> None:
    assert split_text("Pi is 3.14 and e is 2.71. Done.", 26, "chars") == [
        "Pi is 3.14 and e is 2.71. ",
        "Done.",
    ]


def test_bytes_are_counted_in_utf8_and_no_character_is_cut() -> None:
    # Each Chinese character is 3 bytes: 10 bytes take 3 of them
    parts = split_text("一二三四五六七", 10, "bytes")
    assert parts == ["一二三", "四五六", "七"]
    with pytest.raises(ValueError, match="single character"):
        split_text("😀", 3, "bytes")


def test_empty_text_has_no_parts_and_fitting_text_is_one() -> None:
    assert split_text("", 10, "chars") == []
    assert split_text("short.", 10, "chars") == ["short."]


def test_a_request_needs_text_a_known_format_and_a_rate() -> None:
    with pytest.raises(ValidationError):
        SynthesisRequest(text="", format="wav", sample_rate=16000)
    with pytest.raises(ValidationError):
        SynthesisRequest(text="hi", format="ogg", sample_rate=16000)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        SynthesisRequest(text="hi", format="wav", sample_rate=0)


# ----- joining -----------------------------------------------------------------------------------------


def tone(seconds: float, rate: int, freq: float = 220.0) -> bytes:
    frames = int(seconds * rate)
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(frames)
    )


def test_wav_parts_join_into_one_wav_with_one_header() -> None:
    a, b = tone(0.5, 16000), tone(0.25, 16000, 440.0)
    parts = [
        SynthesisResult(audio=wav_file(16000, a), format="wav", sample_rate=16000, request_id="r1"),
        SynthesisResult(audio=wav_file(16000, b), format="wav", sample_rate=16000, request_id="r2"),
    ]
    joined = join_audio(parts)
    assert joined.format == "wav" and joined.sample_rate == 16000
    assert pcm_of(joined.audio) == (16000, a + b)
    assert joined.audio.count(b"RIFF") == 1
    assert joined.duration_seconds() == pytest.approx(0.75)
    assert joined.request_id == "r1,r2"


def test_pcm_parts_concatenate() -> None:
    a, b = tone(0.1, 8000), tone(0.2, 8000)
    joined = join_audio([SynthesisResult(audio=x, format="pcm", sample_rate=8000) for x in (a, b)])
    assert joined.audio == a + b and joined.duration_seconds() == pytest.approx(0.3)


@pytest.mark.parametrize("rate", [8000, 16000, 24000])
def test_mp3_parts_join_frame_by_frame_and_decode_to_the_sum(rate: int) -> None:
    from voiceclone.domain.audio_decode import decode_pcm16, encode

    # Given two MP3 files as an encoder writes them (an Info/Xing frame first)
    first, second = encode(tone(1.0, rate), rate, "mp3"), encode(tone(0.5, rate), rate, "mp3")
    parts = [SynthesisResult(audio=x, format="mp3", sample_rate=rate) for x in (first, second)]
    # When they are joined
    joined = join_audio(parts)
    # Then the result is one stream of plain frames whose length is the two parts' audio
    assert joined.audio == mp3_frames_only(first) + mp3_frames_only(second)
    assert b"Xing" not in joined.audio[:64] and b"Info" not in joined.audio[:64]
    # (each part may bring up to 0.2 s of encoder delay and padding, which its dropped Info frame described)
    pcm, _ = decode_pcm16(joined.audio, rate)
    assert 1.5 <= len(pcm) / 2 / rate <= 1.9
    assert 1.5 <= joined.duration_seconds() <= 1.9


@pytest.mark.parametrize("rate", [16000, 44100])
def test_an_mp3_lasts_what_its_frames_decode_to_not_counting_its_info_frame(rate: int) -> None:
    from voiceclone.domain.audio_decode import encode

    # Given an MP3 as an encoder writes it: an Info frame (no audio) before the audio frames
    mp3 = encode(tone(1.0, rate), rate, "mp3")
    frames = mp3_frame_spans(mp3)
    assert (
        b"Info" in mp3[frames[0][0] : frames[0][0] + 64] or b"Xing" in mp3[frames[0][0] : frames[0][0] + 64]
    )
    # When its duration is read / Then it is what its audio frames hold: one frame fewer than it has
    per_frame = 1152 if rate >= 32000 else 576
    result = SynthesisResult(audio=mp3, format="mp3", sample_rate=rate)
    assert result.duration_seconds() == pytest.approx((len(frames) - 1) * per_frame / rate)


def test_an_id3_tag_is_left_out_of_joined_mp3() -> None:
    from voiceclone.domain.audio_decode import encode

    mp3 = encode(tone(0.3, 16000), 16000, "mp3")
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    joined = join_audio([SynthesisResult(audio=tag + mp3, format="mp3", sample_rate=16000)] * 2)
    assert joined.audio == mp3_frames_only(mp3) * 2


def test_parts_of_different_formats_or_rates_do_not_join() -> None:
    wav16 = SynthesisResult(audio=wav_file(16000, tone(0.1, 16000)), format="wav", sample_rate=16000)
    wav8 = SynthesisResult(audio=wav_file(8000, tone(0.1, 8000)), format="wav", sample_rate=8000)
    with pytest.raises(ValueError, match="parts differ"):
        join_audio([wav16, wav8])
    with pytest.raises(ValueError, match="nothing"):
        join_audio([])
    with pytest.raises(ValueError, match="MP3"):
        join_audio([SynthesisResult(audio=b"not audio", format="mp3", sample_rate=16000)])


# ----- a stream's MP3, frame by frame -----------------------------------------------------------------

_ENCODED: dict[int, bytes] = {}


def encoded_mp3(rate: int = 16000) -> bytes:
    """0.6 s of tone as an encoder writes a file: an ID3v2 tag, its Info frame, then the frames."""
    from voiceclone.domain.audio_decode import encode

    if rate not in _ENCODED:
        tag = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
        _ENCODED[rate] = tag + encode(tone(0.6, rate), rate, "mp3")
    return _ENCODED[rate]


def streamed(chunks: list[bytes]) -> list[bytes]:
    frames = Mp3StreamFrames()
    return [frames.feed(chunk) for chunk in chunks]


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=30))
def test_a_streamed_mp3_cut_anywhere_comes_out_as_the_frames_joining_keeps(cuts: list[int]) -> None:
    # Given a vendor's MP3 stream (a tag, an Info frame, the frames, an ID3v1 tag) in chunks cut anywhere
    mp3 = encoded_mp3() + b"TAG" + bytes(125)
    bounds = sorted({0, *(c % (len(mp3) + 1) for c in cuts), len(mp3)})
    chunks = [mp3[a:b] for a, b in pairwise(bounds)]
    # When it is handed on chunk by chunk
    out = streamed(chunks)
    # Then what comes out is the frames alone, whole, as joining the file keeps them: no tag, no Info frame
    assert b"".join(out) == mp3_frames_only(encoded_mp3())
    assert all(not piece or mp3_frames_only(piece) == piece for piece in out)


def test_a_streamed_mp3_hands_on_each_frame_as_soon_as_it_is_whole() -> None:
    frames = mp3_frames_only(encoded_mp3())
    stream = Mp3StreamFrames()
    head = encoded_mp3()[: len(encoded_mp3()) - len(frames)]  # the tag and the Info frame
    assert stream.feed(head) == b""
    first = mp3_frame_spans(frames)[0][1]  # where the first frame ends
    assert stream.feed(frames[: first - 1]) == b""
    assert stream.feed(frames[first - 1 : first]) == frames[:first]
    assert stream.feed(frames[first:]) == frames[first:]


def test_a_streamed_mp3_that_is_not_mp3_is_an_error() -> None:
    with pytest.raises(ValueError, match="not an MP3 frame at byte 0 of the stream"):
        Mp3StreamFrames().feed(b"RIFF\x00\x00\x00\x00WAVEfmt ")
