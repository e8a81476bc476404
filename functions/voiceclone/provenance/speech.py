"""One call for the speech paths: explicit label, implicit AIGC label, C2PA signature, in that order.

The order matters: the rhythm changes the samples, so it comes before the digest the AIGC label
carries; the AIGC label changes the file, so it comes before the C2PA signature, whose hash
covers every byte but the manifest's own (metadata added after signing breaks it).
"""

from __future__ import annotations

from voiceclone.domain.base import BaseModel
from voiceclone.provenance import credentials, implicit, rhythm
from voiceclone.provenance.aigc import AigcLabel, aigc_value, label_for
from voiceclone.provenance.credentials import KmsSigner
from voiceclone.provenance.errors import LabelError
from voiceclone.provenance.models import AudioFormat, LabelPolicy, SpeechContext

# Raw PCM under the "header" policy: the S3 user metadata key (``x-amz-meta-aigc`` on a GET) and
# the HTTP response header that carry the AIGC value beside the audio.
AIGC_OBJECT_METADATA = "aigc"
AIGC_HEADER = "X-AIGC"


class LabelledSpeech(BaseModel):
    """The labelled audio, and what it carries."""

    audio: bytes
    format: AudioFormat
    label: AigcLabel
    # The AIGC string as written into the file; for PCM the value to send beside it.
    aigc_value: str
    explicit: bool
    signed: bool
    # False for PCM: the implicit label is not in the bytes, the caller sends ``aigc_value`` along.
    label_in_file: bool


def label_speech(
    audio: bytes,
    fmt: AudioFormat,
    sample_rate: int,
    context: SpeechContext,
    signer: KmsSigner | None,
    policy: LabelPolicy,
) -> LabelledSpeech:
    """Label a finished speech file as the policy says (LabelError when it cannot be done).

    WAV and MP3 are labelled from their own headers (``sample_rate`` is what raw PCM, 16-bit
    little-endian mono as the vendors give it, is spoken at). A speech path that gets a
    LabelError must not hand the audio out.
    """
    if fmt == "pcm":
        return _label_pcm(audio, sample_rate, context, policy)
    if implicit.sniff(audio) != fmt:
        raise LabelError("UnsupportedAudio", f"the audio is not {fmt}")
    if policy.explicit:
        audio = rhythm.prepend_wav(audio) if fmt == "wav" else rhythm.prepend_mp3(audio)
    label = label_for(context, policy, implicit.payload(audio, fmt))
    audio = implicit.write_label(audio, fmt, label)
    if policy.sign:
        if signer is None:
            raise LabelError("NotConfigured", "the policy signs speech, and no C2PA signer is configured")
        audio = credentials.sign(audio, fmt, context, signer)
    return LabelledSpeech(
        audio=audio,
        format=fmt,
        label=label,
        aigc_value=aigc_value(label),
        explicit=policy.explicit,
        signed=policy.sign,
        label_in_file=True,
    )


def _label_pcm(audio: bytes, sample_rate: int, context: SpeechContext, policy: LabelPolicy) -> LabelledSpeech:
    """Raw PCM has no metadata and C2PA cannot sign it: refused, or rhythm in, label beside."""
    if policy.pcm == "refuse":
        raise LabelError(
            "PcmNotLabelled",
            "raw PCM cannot carry the implicit label or a C2PA manifest: ask for WAV or MP3",
        )
    if policy.explicit:
        audio = rhythm.prepend_pcm(audio, sample_rate)
    label = label_for(context, policy, audio)
    return LabelledSpeech(
        audio=audio,
        format="pcm",
        label=label,
        aigc_value=aigc_value(label),
        explicit=policy.explicit,
        signed=False,
        label_in_file=False,
    )
