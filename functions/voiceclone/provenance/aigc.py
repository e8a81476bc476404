"""The GB 45438-2025 implicit label's value: the seven Annex E elements as one JSON string.

Annex E names the elements and their order, asks for string values in a restricted character
set, and wraps them as ``{"AIGC":{...}}`` under a metadata key containing ``AIGC``. Some public
readers store the seven keys bare under that key, so :func:`parse_aigc` reads both forms and
:func:`aigc_value` writes the wrapped one. What each element carries here is in docs/labels.md.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from voiceclone.domain.base import BaseModel
from voiceclone.provenance.models import AIGC_VALUE, LabelPolicy, SpeechContext

# The metadata key (WAV chunk id, ID3 TXXX description) and the wrapper key of the value.
AIGC_KEY = "AIGC"
# ReservedCode1 names the digest so that a reader never has to guess the algorithm from the length.
DIGEST_PREFIX = "sha256:"


class AigcLabel(BaseModel):
    """The seven Annex E elements, under their JSON keys; every value a string of the standard's set.

    ``label`` "1" says the content is AI-generated ("2" possibly, "3" suspected: a platform's
    verdicts on content it did not make). The producer fills the first four elements; the
    propagation platform fills ContentPropagator, PropagateID and ReservedCode2 when it spreads
    the file, so voiceclone writes them empty.
    """

    model_config = ConfigDict(populate_by_name=True, defer_build=True, extra="ignore")

    label: Literal["1", "2", "3"] = Field(alias="Label")
    content_producer: str = Field(alias="ContentProducer")
    produce_id: str = Field(alias="ProduceID")
    reserved_code1: str = Field(default="", alias="ReservedCode1")
    content_propagator: str = Field(default="", alias="ContentPropagator")
    propagate_id: str = Field(default="", alias="PropagateID")
    reserved_code2: str = Field(default="", alias="ReservedCode2")

    @field_validator("*", mode="before")
    @classmethod
    def _standard_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and not AIGC_VALUE.fullmatch(value):
            raise ValueError("characters outside GB 45438's label set (printable ASCII, no space, \" or \\)")
        return value


def audio_digest(payload: bytes) -> str:
    """ReservedCode1: the SHA-256 of the audio payload (WAV data chunk, MP3 frames, PCM samples)."""
    return DIGEST_PREFIX + hashlib.sha256(payload).hexdigest()


def label_for(context: SpeechContext, policy: LabelPolicy, payload: bytes) -> AigcLabel:
    """The label voiceclone writes: AI-generated, by the operator, for this speech, bound to its audio."""
    return AigcLabel(
        Label="1",
        ContentProducer=policy.content_producer,
        ProduceID=context.speech_id,
        ReservedCode1=audio_digest(payload),
    )


def aigc_value(label: AigcLabel) -> str:
    """The wrapped Annex E string: keys in the standard's order, no spaces, ASCII only."""
    body = label.model_dump(by_alias=True)
    return json.dumps({AIGC_KEY: body}, separators=(",", ":"), ensure_ascii=True)


class AigcParseError(ValueError):
    """A value was stored under the AIGC key but is not an Annex E label."""


def aigc_form(text: str) -> Literal["wrapped", "bare"] | None:
    """Whether a stored value wraps the elements in ``{"AIGC":{...}}`` or holds them bare."""
    try:
        data = json.loads(text.strip().rstrip("\x00"))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return "wrapped" if isinstance(data.get(AIGC_KEY), dict) else "bare"


def parse_aigc(text: str) -> AigcLabel:
    """An AigcLabel from the stored string, wrapped (``{"AIGC":{...}}``) or bare (``{...}``)."""
    try:
        data = json.loads(text.strip().rstrip("\x00"))
    except ValueError as exc:
        raise AigcParseError(f"not JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get(AIGC_KEY), dict):
        data = data[AIGC_KEY]
    if not isinstance(data, dict):
        raise AigcParseError("not a JSON object")
    try:
        return AigcLabel.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise AigcParseError(problems) from exc
