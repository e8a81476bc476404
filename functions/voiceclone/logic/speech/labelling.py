"""Labels on every speech file handed out: the tenant's policy, the KMS signer, label and store in one call.

Every speech path ends here: a synchronous vendor's speech in the api function
(voiceclone.logic.speech.service) and an asynchronous vendor's in FinishSpeech
(voiceclone.logic.speech.finish), after the pieces are joined: one file, labelled once; a
streamed speech in the stream function (voiceclone.logic.speech.stream), which sends what a
stream can carry ahead of its audio and stores the whole file labelled once it has ended. Only
these three functions import this module, so only their packages carry c2pa-python.

The deployment decides the implicit label's producer, raw PCM's rule and C2PA signing
(Settings); the tenant decides the audible label (``explicit_label``, on unless it turned it
off). The policy is read before the vendor is called, so a deployment that cannot label, or a
format that cannot carry the labels, costs no vendor call. A LabelError after the call means
the audio is not handed out at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import ValidationError

from voiceclone.domain.api_models import LabelPolicyView
from voiceclone.domain.errors import InvalidField
from voiceclone.domain.models import SPEECH_CONTENT_TYPES, SpeechLabels
from voiceclone.lazy import lazy_module
from voiceclone.logic.core.services import Services
from voiceclone.provenance import (
    AIGC_OBJECT_METADATA,
    AudioFormat,
    KmsSigner,
    LabelError,
    LabelledSpeech,
    LabelPolicy,
    SpeechContext,
    StreamLabels,
    label_speech,
    stream_labels,
)
from voiceclone.vendors.speech import SynthesisResult

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities import parameters
else:
    parameters = lazy_module("aws_lambda_powertools.utilities.parameters")

# The formats that carry every label in the file itself: what a refused PCM request is pointed to.
LABELLED_FORMATS = ("wav", "mp3")
# How long a certificate read from its SSM parameter is kept: a new one is in use within minutes.
PARAMETER_CACHE_SECONDS = 300


def pem(value: str, parameter: str) -> str:
    """A certificate setting: read from its SSM parameter where the deployment names one, else as given."""
    return str(parameters.get_parameter(parameter, max_age=PARAMETER_CACHE_SECONDS)) if parameter else value


def deployment_policy(svc: Services) -> LabelPolicy:
    """The operator's policy from the settings (LabelError NotConfigured without a content producer)."""
    try:
        return LabelPolicy.from_settings(svc.settings)
    except ValidationError as exc:
        raise LabelError(
            "NotConfigured",
            "speech cannot be labelled: the deployment names no valid GB 45438 content producer "
            "(VOICECLONE_AIGC_CONTENT_PRODUCER, the operator's registered name or provider code)",
        ) from exc


@dataclass(frozen=True)
class Labeller:
    """What a speech is labelled with: the policy, and the KMS signer it needs (None: not signed)."""

    policy: LabelPolicy
    signer: KmsSigner | None

    def label(self, context: SpeechContext, audio: SynthesisResult, fmt: AudioFormat) -> LabelledSpeech:
        """The joined speech with its labels (LabelError: it must not be handed out)."""
        return label_speech(audio.audio, fmt, audio.sample_rate, context, self.signer, self.policy)

    def stream_labels(self, context: SpeechContext, fmt: AudioFormat, sample_rate: int) -> StreamLabels:
        """What a stream of this speech carries ahead of its audio (LabelError: it must not start)."""
        return stream_labels(fmt, sample_rate, context, self.policy)


def labeller(svc: Services, tenant_id: str, explicit_label: bool | None = None) -> Labeller:
    """How a tenant's speech is labelled: the deployment's policy with the tenant's explicit label, and the
    signer; a deployment that cannot label fails here (LabelError NotConfigured), before any vendor call.

    ``explicit_label`` given (an asynchronous speech carries the choice made when it was asked
    for) wins over the tenant's current setting.
    """
    policy = tenant_policy(svc, tenant_id, explicit_label)
    return Labeller(policy, signer(svc, policy))


def tenant_policy(svc: Services, tenant_id: str, explicit_label: bool | None = None) -> LabelPolicy:
    """The deployment's policy with the tenant's explicit label (or ``explicit_label``, where given)."""
    chosen = svc.store.account.explicit_label(tenant_id) if explicit_label is None else explicit_label
    base = deployment_policy(svc)
    return base if chosen is None else base.model_copy(update={"explicit": chosen})


def refuse_unlabelled(policy: LabelPolicy, fmt: str, formats: tuple[str, ...]) -> None:
    """422 for raw PCM where the deployment refuses it: it cannot carry the labels in its bytes."""
    if fmt == "pcm" and policy.pcm == "refuse":
        labelled = [f for f in formats if f in LABELLED_FORMATS]
        raise InvalidField(
            ("body", "format"),
            "PcmNotLabelled",
            "raw PCM cannot carry the AI-generated labels (GB 45438 metadata, C2PA manifest) in its bytes, "
            f"so this service does not hand it out: ask for {' or '.join(labelled) or 'WAV or MP3'}",
            formats=labelled,
        )


def signer(svc: Services, policy: LabelPolicy) -> KmsSigner | None:
    """The KMS signer the policy needs (None when the deployment does not sign)."""
    if not policy.sign:
        return None
    settings = svc.settings
    chain = pem(settings.c2pa_certificate_chain, settings.c2pa_certificate_chain_parameter)
    return KmsSigner(svc.kms, settings.c2pa_kms_key_id, chain)


def store(svc: Services, key: str, labelled: LabelledSpeech) -> None:
    """Put the labelled file in the bucket; a label that is not in the file goes as the object's metadata."""
    svc.s3.put_object(
        Bucket=svc.settings.bucket_name,
        Key=key,
        Body=labelled.audio,
        ContentType=SPEECH_CONTENT_TYPES[labelled.format],
        Metadata={} if labelled.label_in_file else {AIGC_OBJECT_METADATA: labelled.aigc_value},
    )


def labels_of(labelled: LabelledSpeech) -> SpeechLabels:
    """What the speech record keeps of its labels."""
    return SpeechLabels(
        explicit_label=labelled.explicit,
        aigc=labelled.aigc_value,
        aigc_in_file=labelled.label_in_file,
        c2pa=labelled.signed,
    )


def result_of(labelled: LabelledSpeech, sample_rate: int, request_id: str) -> SynthesisResult:
    """The labelled file as a synthesis result: its duration counts the audible label too."""
    return SynthesisResult(
        audio=labelled.audio, format=labelled.format, sample_rate=sample_rate, request_id=request_id
    )


def policy_view(svc: Services, tenant_id: str) -> LabelPolicyView:
    """GET /v1/labels/policy: what the tenant's speech is labelled with, and who chose the audible label."""
    chosen = svc.store.account.explicit_label(tenant_id)
    base = deployment_policy(svc)
    return LabelPolicyView(
        explicit_label=base.explicit if chosen is None else chosen,
        explicit_label_source="deployment" if chosen is None else "tenant",
        content_producer=base.content_producer,
    )


def set_explicit_label(svc: Services, tenant_id: str, explicit_label: bool) -> LabelPolicyView:
    """PUT /v1/labels/policy: the tenant's choice, for speech asked for from now on."""
    svc.store.account.set_explicit_label(tenant_id, explicit_label)
    return policy_view(svc, tenant_id)
