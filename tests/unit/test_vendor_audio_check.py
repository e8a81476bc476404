"""The sandboxes' own audio check against the service's: two implementations, one verdict per recording.

The vendors' side (voiceclone_local.sandboxes.audio.check_wav: the standard library's ``wave`` and
plain arithmetic) and the service's (voiceclone.domain.audio.inspect_wav: its own RIFF parser) must
name the same problems for every kind of recording, so a bug in either shows up as a disagreement
here instead of passing on both sides of the local stack.
"""

from __future__ import annotations

import io
import math
import wave
from array import array
from pathlib import Path

import pytest
from voiceclone.domain.audio import AudioProblem, inspect_wav
from voiceclone_local.sandboxes.audio import audio_problem, check_wav

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
RATE = 16000


def wav(samples: list[int], rate: int = RATE, channels: int = 1, width: int = 2) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        if width == 1:
            w.writeframes(bytes((s >> 8) + 128 for s in samples))
        else:
            w.writeframes(array("h", samples).tobytes())
    return buf.getvalue()


def tone(seconds: float, amplitude: float = 0.3, rate: int = RATE) -> list[int]:
    step = 2 * math.pi * 220 / rate
    return [int(amplitude * 32767 * math.sin(step * i)) for i in range(int(seconds * rate))]


def clipped(seconds: float) -> list[int]:
    samples = tone(seconds)
    samples[::50] = [32767] * len(samples[::50])  # 2 % at full scale
    return samples


def float_wav() -> bytes:
    """An IEEE-float WAV (format 3), written by hand: not PCM."""
    data = array("f", [0.1] * RATE).tobytes()
    fmt = (3).to_bytes(2, "little") + (1).to_bytes(2, "little") + RATE.to_bytes(4, "little")
    fmt += (RATE * 4).to_bytes(4, "little") + (4).to_bytes(2, "little") + (32).to_bytes(2, "little")
    body = (
        b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + len(data).to_bytes(4, "little")
    )
    body += data
    return b"RIFF" + len(body).to_bytes(4, "little") + body


CASES: dict[str, tuple[bytes, set[AudioProblem]]] = {
    "a clean tone": (wav(tone(3.0)), set()),
    "a shipped sample": ((SAMPLES / "00001.wav").read_bytes(), set()),
    "digital silence": (wav([0] * (3 * RATE)), {AudioProblem.SILENT}),
    "a whisper": (wav(tone(3.0, amplitude=0.005)), {AudioProblem.SILENT}),
    "clipping": (wav(clipped(3.0)), {AudioProblem.CLIPPED}),
    "half a second": (wav(tone(0.5)), {AudioProblem.TOO_SHORT}),
    "twenty seconds": (wav(tone(20.0)), {AudioProblem.TOO_LONG}),
    "8 kHz": (wav(tone(3.0, rate=8000), rate=8000), {AudioProblem.SAMPLE_RATE_MISMATCH}),
    "stereo": (wav(tone(3.0) * 2, channels=2), {AudioProblem.UNSUPPORTED_ENCODING}),
    "8-bit": (wav(tone(3.0), width=1), {AudioProblem.UNSUPPORTED_ENCODING}),
    "float": (float_wav(), {AudioProblem.UNSUPPORTED_ENCODING}),
    "cut off": (wav(tone(3.0))[:30000], {AudioProblem.TRUNCATED}),
    "not a wav": (b"ID3\x04" + b"\x00" * 4000, {AudioProblem.NOT_WAV}),
    "empty": (b"", {AudioProblem.EMPTY}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_vendors_check_and_the_services_name_the_same_problems(case: str) -> None:
    data, expected = CASES[case]
    vendors = {f.problem for f in check_wav(data, sample_rate=RATE, min_seconds=1.0, max_seconds=15.0)}
    services = {f.problem for f in inspect_wav(data, expected_sample_rate=RATE).findings}
    assert vendors == expected
    assert services == expected


def test_a_refusal_says_why_in_words_and_a_good_take_passes() -> None:
    assert audio_problem(wav(tone(3.0)), min_seconds=1.0, max_seconds=15.0) is None
    assert "at least 10 s" in (audio_problem(wav(tone(3.0)), min_seconds=10.0, max_seconds=60.0) or "")
    silent = audio_problem(wav([0] * RATE * 2), min_seconds=1.0, max_seconds=15.0) or ""
    assert "silent" in silent and "-inf dBFS" in silent
