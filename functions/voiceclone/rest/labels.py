"""Routes of labels: check what an audio file carries (POST /v1/provenance), and the tenant's label policy.

POST /v1/provenance takes the audio itself as the body (audio/wav, audio/mpeg or
application/octet-stream, at most voiceclone.rest.hardening.MAX_AUDIO_BYTES): request hardening
lets such a body through for this route alone, and API Gateway hands it over base64-encoded
(infra/api.py's binary media types). docs/labels.md says what each finding means.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from voiceclone.domain.api_models import LabelPolicyUpdate, LabelPolicyView, ProvenanceView
from voiceclone.domain.errors import InvalidRequest
from voiceclone.logic.core.services import services
from voiceclone.logic.speech import checking, labelling
from voiceclone.observability import metrics
from voiceclone.rest.hardening import AUDIO_MEDIA_TYPES, MAX_AUDIO_BYTES
from voiceclone.rest.openapi import ERRORS, JSON_ONLY, answers, tenant_of

router = Router()  # type: ignore[no-untyped-call]

# The body is the file itself: documented here, as Powertools documents JSON bodies from their model.
BINARY: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}
AUDIO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"The audio file as it is: WAV or MP3, at most {MAX_AUDIO_BYTES // 2**20} MiB",
        "content": dict.fromkeys(AUDIO_MEDIA_TYPES, BINARY),
    }
}


@router.post(
    "/v1/provenance",
    summary="Check the labels an audio file carries",
    description="Send a WAV or MP3 file as the body. The answer says whether its C2PA manifest is present "
    "and valid (trusted under the operator's CA), what its GB 45438 implicit label says and whether it "
    "still matches the audio, and whether the audible AI label is at its start; `findings` name each "
    "label that is missing or no longer holds (one changed byte of audio, a stripped label). The speech, "
    "voice and vendor a manifest names are shown only to the tenant it names (`yours`); any other tenant "
    "learns only that the file is not its own. 200 whatever the file carries; `ok` is false when a label "
    "is missing or broken.",
    tags=["labels"],
    responses=answers(ProvenanceView, {400: ERRORS}, JSON_ONLY, description="What the file carries"),
    openapi_extensions=AUDIO_BODY,
)
def check_provenance() -> ProvenanceView:
    report = checking.check(services(), tenant_of(router), _audio())
    metrics.add_metric(name="ProvenanceChecked", unit="Count", value=1)
    return report


def _audio() -> bytes:
    """The request's body as bytes (API Gateway base64-encodes the binary media types)."""
    event = router.current_event
    raw = event.body or ""
    try:
        audio = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("InvalidBody", "the body is not the audio file it claims to be") from exc
    if not audio:
        raise InvalidRequest("NoAudio", "send the audio file (WAV or MP3) as the body")
    return audio


@router.get(
    "/v1/labels/policy",
    summary="The labels this tenant's speech gets",
    description="Every speech file carries the GB 45438 implicit label and a C2PA manifest; the audible AI "
    "label at its start is on unless the tenant turned it off (or the deployment's default is off).",
    tags=["labels"],
    responses=answers(LabelPolicyView),
)
def get_label_policy() -> LabelPolicyView:
    return labelling.policy_view(services(), tenant_of(router))


@router.put(
    "/v1/labels/policy",
    summary="Turn the audible AI label on or off for this tenant's speech",
    description="For speech asked for from now on. The Measures ask for an explicit label a listener "
    "perceives; turn the audible one off only where your application tells its listeners the speech is "
    "synthetic in another way (docs/labels.md).",
    tags=["labels"],
    responses=answers(LabelPolicyView, JSON_ONLY),
)
def put_label_policy(body: Annotated[LabelPolicyUpdate, Body()]) -> LabelPolicyView:
    view = labelling.set_explicit_label(services(), tenant_of(router), body.explicit_label)
    metrics.add_metric(name="LabelPolicyChanged", unit="Count", value=1)
    return view
