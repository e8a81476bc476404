"""The labelling package's payloads: who made the speech, what the deployment asks for, what was found."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from voiceclone.domain.base import BaseModel

if TYPE_CHECKING:
    from voiceclone.domain.models import Speech
    from voiceclone.settings import Settings

AudioFormat = Literal["wav", "mp3", "pcm"]

# GB 45438-2025 Annex E: the characters a label value is made of (printable ASCII without space, the
# double quote and the backslash, which may only appear as JSON escapes; we write none of those).
AIGC_VALUE = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]*")
# The TC260 provider-coding guide's code: 27 digits or capital letters.
PROVIDER_CODE = re.compile(r"[0-9A-Z]{27}")


def _aigc_chars(value: str) -> str:
    if not AIGC_VALUE.fullmatch(value):
        bad = sorted({ch for ch in value if not AIGC_VALUE.fullmatch(ch)})
        raise ValueError(f"characters outside GB 45438's label set: {''.join(bad)!r}")
    return value


class SpeechContext(BaseModel):
    """The speech a file holds, as the C2PA assertion and the AIGC label name it."""

    speech_id: str = Field(min_length=1, max_length=128)
    voice_id: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)

    # The speech id becomes the label's ProduceID, so it must be written in the standard's characters.
    _speech_id_chars = field_validator("speech_id")(_aigc_chars)

    @classmethod
    def of(cls, speech: Speech) -> SpeechContext:
        """The context of a stored speech (``voiceclone.domain.models.Speech``)."""
        return cls(
            speech_id=speech.speech_id,
            voice_id=speech.voice_id,
            vendor=speech.vendor,
            tenant_id=speech.tenant_id,
        )


class LabelPolicy(BaseModel):
    """What a deployment labels and how: configuration (Settings), never decided per request.

    ``content_producer`` is the operator's registered name or its 27-character provider code
    (GB 45438's ContentProducer); ``explicit`` puts the audible rhythm at the start of the speech;
    ``pcm`` says what raw PCM, which has no metadata to carry the implicit label, gets:
    ``refuse`` (LabelError) or ``header`` (the rhythm in the samples, the AIGC value returned for
    the caller to send as a header or object metadata, see docs/labels.md).
    """

    content_producer: str = Field(min_length=1, max_length=256)
    explicit: bool = True
    pcm: Literal["refuse", "header"] = "refuse"
    sign: bool = True

    _producer_chars = field_validator("content_producer")(_aigc_chars)

    @classmethod
    def from_settings(cls, settings: Settings) -> LabelPolicy:
        """The deployment's policy; a ValidationError when no content producer is configured."""
        return cls(
            content_producer=settings.aigc_content_producer,
            explicit=settings.label_explicit,
            pcm=settings.label_pcm,
            sign=settings.label_sign,
        )

    @property
    def producer_is_code(self) -> bool:
        """Whether the producer is a provider code (27 characters) rather than a name."""
        return PROVIDER_CODE.fullmatch(self.content_producer) is not None
