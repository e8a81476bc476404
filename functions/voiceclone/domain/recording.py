"""One upload in any accepted format, checked the way the vendor will get it: the domain's one way to FFmpeg.

A 16-bit PCM mono WAV at the vendor's rate is read as it is (voiceclone.domain.audio); anything
else is decoded, downmixed and resampled with PyAV first (voiceclone.domain.audio_decode). The
verdict itself is voiceclone.domain.audio's, which imports no decoder: only what imports this
module needs PyAV in its package (the sentence check; README, "Packages per function").
"""

from __future__ import annotations

from voiceclone.domain.audio import (
    AudioFinding,
    AudioProblem,
    AudioReport,
    Recording,
    RecordingLimits,
    judge,
    native_pcm,
)
from voiceclone.domain.audio_decode import ACCEPTED_LIST, DecodeError, decode_pcm16


def _not_audio(ext: str | None, reason: str) -> AudioReport:
    problem = AudioProblem.NOT_WAV if ext in (None, "", "wav", "wave") else AudioProblem.NOT_AUDIO
    return AudioReport(
        findings=[
            AudioFinding(
                problem=problem,
                message=f"the file is no recording we can read ({reason}): "
                f"export it again as one of {ACCEPTED_LIST} and upload it",
            )
        ]
    )


def inspect_recording(data: bytes, limits: RecordingLimits, ext: str | None = None) -> Recording:
    """Check one upload in any accepted format the way the vendor will get it; never raises on bad input.

    A 16-bit PCM mono WAV at the vendor's rate is read directly; anything else is decoded, downmixed
    and resampled (PyAV). Leading and trailing silence is cut to a short margin, then the duration,
    level, clipping and noise are judged on what remains: that is what the vendor receives.
    """
    ext = (ext or "").lower().lstrip(".") or None
    if not data:
        empty = AudioFinding(
            problem=AudioProblem.EMPTY, message="the file is empty: record the sentence again and upload it"
        )
        return Recording(AudioReport(findings=[empty]), None, None)
    pcm, failed = native_pcm(data, limits.sample_rate)
    if failed is not None:
        return Recording(failed, None, None)
    original = None
    if pcm is None:
        try:
            pcm, original = decode_pcm16(data, limits.sample_rate)
        except DecodeError as exc:
            return Recording(_not_audio(ext, str(exc)), None, None)
    return judge(pcm, limits, original)
