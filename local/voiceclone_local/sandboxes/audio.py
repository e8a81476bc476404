"""What a vendor does with audio, as the sandboxes do: check a recording, download one, speak with a voice.

The check is the vendor's own, written here apart from the service's (voiceclone.domain.audio): the
standard library's ``wave`` reads the file and the levels are plain arithmetic, so a bug in the
service's inspection is not shared by the vendor it sends recordings to. Only the names of the
problems (AudioProblem) are common.
"""

from __future__ import annotations

import io
import math
import sys
import wave
from array import array
from typing import NamedTuple

import httpx
from voiceclone.domain.audio import AudioProblem

# What the vendors refuse (their docs ask for audible, undistorted speech): no peak above -40 dBFS or
# an average under -50 dBFS is silence; more than one sample in a thousand at full scale is clipping.
VENDOR_SILENT_PEAK_DBFS = -40.0
VENDOR_SILENT_RMS_DBFS = -50.0
VENDOR_CLIPPED_FRACTION = 0.001
FULL_SCALE = 32768


class Finding(NamedTuple):
    problem: AudioProblem
    message: str


def _level_dbfs(level: float) -> float:
    return 20 * math.log10(level / FULL_SCALE) if level > 0 else -math.inf


def check_wav(
    data: bytes, *, sample_rate: int = 16000, min_seconds: float = 1.0, max_seconds: float = 15.0
) -> list[Finding]:
    """Every reason the vendor refuses this recording (16-bit mono PCM WAV at ``sample_rate``)."""
    if not data:
        return [Finding(AudioProblem.EMPTY, "the file is empty")]
    try:
        with wave.open(io.BytesIO(data)) as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            declared = w.getnframes()
            frames = w.readframes(declared)
    except wave.Error as exc:
        if str(exc).startswith("unknown format"):
            return [Finding(AudioProblem.UNSUPPORTED_ENCODING, f"the audio is not PCM ({exc})")]
        return [Finding(AudioProblem.NOT_WAV, f"the file is not a WAV recording ({exc})")]
    except EOFError:
        return [Finding(AudioProblem.TRUNCATED, "the file ends inside its header")]
    if len(frames) < declared * width * channels:
        return [Finding(AudioProblem.TRUNCATED, "the file is cut off before the end of its audio")]
    findings: list[Finding] = []
    pcm16_mono = channels == 1 and width == 2
    if not pcm16_mono:
        findings.append(
            Finding(
                AudioProblem.UNSUPPORTED_ENCODING,
                f"the audio is {8 * width}-bit with {channels} channel(s): 16-bit mono is needed",
            )
        )
    if rate != sample_rate:
        findings.append(
            Finding(AudioProblem.SAMPLE_RATE_MISMATCH, f"the audio is {rate} Hz, {sample_rate} Hz is needed")
        )
    seconds = declared / rate if rate else 0.0
    if seconds < min_seconds:
        findings.append(
            Finding(AudioProblem.TOO_SHORT, f"the audio lasts {seconds:.1f} s, at least {min_seconds:g} s")
        )
    elif seconds > max_seconds:
        findings.append(
            Finding(AudioProblem.TOO_LONG, f"the audio lasts {seconds:.1f} s, at most {max_seconds:g} s")
        )
    if pcm16_mono and frames:
        samples = array("h", frames)
        if sys.byteorder == "big":
            samples.byteswap()
        peak = max(max(samples), -min(samples))
        rms = math.sqrt(sum(s * s for s in samples) / len(samples))
        if _level_dbfs(peak) < VENDOR_SILENT_PEAK_DBFS or _level_dbfs(rms) < VENDOR_SILENT_RMS_DBFS:
            findings.append(
                Finding(
                    AudioProblem.SILENT,
                    f"the audio is silent (peak {_level_dbfs(peak):.0f} dBFS, "
                    f"average {_level_dbfs(rms):.0f} dBFS)",
                )
            )
        clipped = sum(1 for s in samples if s >= FULL_SCALE - 2 or s <= -(FULL_SCALE - 1)) / len(samples)
        if clipped > VENDOR_CLIPPED_FRACTION:
            findings.append(
                Finding(AudioProblem.CLIPPED, f"the audio is clipped ({clipped:.1%} at full scale)")
            )
    return findings


def audio_problem(
    data: bytes, *, min_seconds: float, max_seconds: float, sample_rate: int = 16000
) -> str | None:
    """Why this training audio cannot make a voice, in words a person can act on; None if it can."""
    findings = check_wav(data, sample_rate=sample_rate, min_seconds=min_seconds, max_seconds=max_seconds)
    return "; ".join(f.message for f in findings) or None


def fetch_audio(url: str, max_bytes: int = 50 * 1024 * 1024) -> bytes:
    """Download audio the way a vendor does from a URL it was given; raises ValueError when it cannot."""
    try:
        response = httpx.get(url, timeout=30.0, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise ValueError(f"cannot download the audio: {exc}") from exc
    if response.status_code != 200:
        raise ValueError(f"downloading the audio answered HTTP {response.status_code}")
    if len(response.content) > max_bytes:
        raise ValueError(f"the audio is larger than {max_bytes} bytes")
    return response.content


# A voice keeps this much of each training recording (its loudest 20 ms frames, in order), and at most
# VOICE_SAMPLE_SECONDS in all: enough to speak from, small enough for a stack of many voices.
SENTENCE_SAMPLE_SECONDS = 1.5
VOICE_SAMPLE_SECONDS = 30.0
_FRAME_SECONDS = 0.02
# Reading pace at speed 1: a CJK character, another letter or digit (spaces and punctuation are free).
CJK_SECONDS, LETTER_SECONDS = 0.22, 0.07
SPEECH_FORMATS = ("wav", "mp3", "pcm")
# How long an asynchronous vendor's synthesis job takes in a sandbox by default (a knob of each).
SPEECH_DELAY_SECONDS = 0.5


def voice_sample(wav: bytes, seconds: float = SENTENCE_SAMPLE_SECONDS) -> bytes:
    """The voiced part of a training recording (16-bit mono WAV): its loudest frames, up to ``seconds``.

    Frames quieter than a tenth of the recording's peak are pauses and are left out, so what
    the sandbox later speaks from is the speaker's voice, never silence.
    """
    from array import array

    from voiceclone.domain.audio import pcm_of

    rate, pcm = pcm_of(wav)
    samples = array("h", pcm[: len(pcm) // 2 * 2])
    frame = max(1, int(rate * _FRAME_SECONDS))
    # Every 8th sample is plenty to tell a voiced frame from a pause, at an eighth of the cost.
    peaks = [
        max(max(chunk), -min(chunk)) if chunk else 0
        for chunk in (samples[i : i + frame : 8] for i in range(0, len(samples), frame))
    ]
    floor = max(peaks, default=0) // 10
    kept = bytearray()
    limit = int(seconds * rate) * 2
    for index, peak in enumerate(peaks):
        if peak > floor and peak > 0:
            kept += samples[index * frame : (index + 1) * frame].tobytes()
            if len(kept) >= limit:
                break
    return bytes(kept[:limit])


def reading_seconds(text: str, speed: float = 1.0) -> float:
    """How long a speaker takes to read ``text`` at ``speed`` (1.0 natural): grows with the text."""
    units = sum(CJK_SECONDS if ord(ch) >= 0x2E80 else LETTER_SECONDS for ch in text if ch.isalnum())
    return max(0.2, units / speed)


def speak(
    sample: bytes, text: str, *, fmt: str, sample_rate: int, speed: float = 1.0, rate: int = 16000
) -> bytes:
    """The voice in ``sample`` (16-bit mono PCM at ``rate``) saying ``text``, as ``fmt`` at ``sample_rate``.

    Slices of the voice's own recordings, as long as reading the text takes, from a point the
    text picks (the same text, the same audio); resampled and encoded with FFmpeg (PyAV).
    """
    import hashlib

    from voiceclone.domain.audio import wav_file
    from voiceclone.domain.audio_decode import decode_pcm16, encode

    if fmt not in SPEECH_FORMATS:
        raise ValueError(f"cannot make {fmt!r} audio")
    if len(sample) < 2:
        raise ValueError("the voice has no recorded audio to speak from")
    frames = len(sample) // 2
    wanted = int(reading_seconds(text, speed) * rate)
    start = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % frames
    out = bytearray()
    position = start
    while len(out) < wanted * 2:
        take = min(wanted - len(out) // 2, frames - position)
        out += sample[position * 2 : (position + take) * 2]
        position = (position + take) % frames
    pcm = bytes(out)
    if sample_rate != rate:
        pcm, _ = decode_pcm16(wav_file(rate, pcm), sample_rate)
    if fmt == "pcm":
        return pcm
    if fmt == "wav":
        return wav_file(sample_rate, pcm)
    return encode(pcm, sample_rate, "mp3")
