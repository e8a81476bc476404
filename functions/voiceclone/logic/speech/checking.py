"""Checking a file (POST /v1/provenance): what labels it carries, whether they hold, and whose speech it is.

voiceclone.provenance.verify reads every label and says what is missing or altered; this adds
the caller. A manifest names the speech's tenant, voice and vendor: the tenant it names sees
them, any other tenant learns only that the file is not its own. The AIGC label's fields are
shown to everyone: the file carries them in plain text for any reader, as the standard means.
Trust is the deployment's anchors alone (the operator's CA), never a list fetched at run time.
"""

from __future__ import annotations

from voiceclone.domain.api_models import (
    ProvenanceCredentials,
    ProvenanceFinding,
    ProvenanceImplicitLabel,
    ProvenanceSpeech,
    ProvenanceStatus,
    ProvenanceView,
)
from voiceclone.logic.core.services import Services
from voiceclone.logic.speech import labelling
from voiceclone.observability import logger
from voiceclone.provenance import LabelError, ProvenanceReport, verify
from voiceclone.provenance.credentials import CredentialReport
from voiceclone.provenance.verify import AigcReport


def check(svc: Services, tenant_id: str, audio: bytes) -> ProvenanceView:
    """The labels of ``audio``, checked under the deployment's trust anchors, as ``tenant_id`` sees them."""
    settings = svc.settings
    anchors = labelling.pem(settings.c2pa_trust_anchors, settings.c2pa_trust_anchors_parameter)
    if "BEGIN CERTIFICATE" not in anchors:
        raise LabelError(
            "NotConfigured",
            "files cannot be checked: the deployment names no C2PA trust anchor "
            "(VOICECLONE_C2PA_TRUST_ANCHORS, the root certificate of the operator's CA)",
        )
    report = verify(audio, anchors)
    named = report.c2pa.speech.tenant_id if report.c2pa.speech else None
    yours = None if named is None else named == tenant_id
    findings = [ProvenanceFinding.model_validate(f.model_dump()) for f in report.findings]
    if yours is False:
        findings.append(
            ProvenanceFinding(
                code="speech.not_yours",
                severity="warning",
                message="the manifest names another tenant's speech: its voice, vendor and tenant "
                "are not shown",
            )
        )
    logger.info(
        "provenance checked",
        extra={"format": report.format, "ok": report.ok, "yours": yours, "codes": report.codes},
    )
    return ProvenanceView(
        ok=report.ok,
        format=report.format if report.format in ("wav", "mp3") else None,
        c2pa=_credentials(report.c2pa),
        aigc=_implicit(report.aigc),
        explicit_label=report.explicit_label,
        yours=yours,
        speech=_speech(report) if yours else None,
        findings=findings,
    )


def _credentials(c2pa: CredentialReport) -> ProvenanceCredentials:
    signer = ", ".join(x for x in (c2pa.signer_common_name, c2pa.signer_issuer) if x) or None
    return ProvenanceCredentials(
        present=c2pa.present,
        state=c2pa.state,
        failures=[ProvenanceStatus(code=f.code, explanation=f.explanation) for f in c2pa.failures],
        claim_generator=c2pa.claim_generator,
        digital_source_type=c2pa.digital_source_type,
        signer=signer,
    )


def _implicit(aigc: AigcReport) -> ProvenanceImplicitLabel:
    return ProvenanceImplicitLabel(
        present=aigc.present,
        fields=aigc.label.model_dump(by_alias=True) if aigc.label else None,
        form=aigc.form,
        audio_matches=aigc.audio_matches,
        problem=aigc.problem,
    )


def _speech(report: ProvenanceReport) -> ProvenanceSpeech | None:
    named = report.c2pa.speech
    return ProvenanceSpeech.model_validate(named.model_dump()) if named else None
