"""Voices as resources: list, read, rename and delete, at the vendor where its API allows it."""

from __future__ import annotations

from voiceclone.domain.api_models import ConsentView, VoicePage, VoiceView
from voiceclone.domain.errors import Conflict, InvalidField, VendorRejected
from voiceclone.domain.models import Voice, VoiceState, utcnow
from voiceclone.logic.core.services import Services
from voiceclone.logic.training import consent
from voiceclone.logic.training.cleanup import delete_job_recordings
from voiceclone.observability import logger
from voiceclone.vendors.registry import capabilities


def list_voices(
    svc: Services,
    tenant_id: str,
    limit: int,
    cursor: str | None,
    vendor: str | None = None,
    state: VoiceState | None = None,
) -> VoicePage:
    def matches(voice: Voice) -> bool:
        return (vendor is None or voice.vendor == vendor) and (state is None or voice.state is state)

    voices, next_cursor = svc.store.voices.list(tenant_id, limit, cursor, matches)
    return VoicePage(items=[VoiceView.of(v) for v in voices], next_cursor=next_cursor)


def get_voice(svc: Services, tenant_id: str, voice_id: str) -> VoiceView:
    return VoiceView.of(svc.store.voices.require(voice_id, tenant_id))


def check_voice_name(vendor: str, name: str, loc: tuple[str, ...]) -> None:
    """Refuse a name longer than the vendor takes (InvalidField, a 422) before the vendor is asked."""
    limit = capabilities(vendor).voice_name_max_chars
    if limit is not None and len(name) > limit:
        raise InvalidField(
            loc,
            "NameTooLong",
            f"{vendor} takes voice names of at most {limit} characters; this one has {len(name)}",
            max_chars=limit,
        )


def _ready(voice: Voice) -> None:
    if voice.state is VoiceState.DELETED:
        raise Conflict(
            "VoiceDeleted", f"voice {voice.voice_id} was deleted", deleted_at=str(voice.deleted_at)
        )


def rename_voice(svc: Services, tenant_id: str, voice_id: str, name: str) -> VoiceView:
    """Rename at the vendor first where it can (a refusal leaves the voice as it was), then here."""
    voice = svc.store.voices.require(voice_id, tenant_id)
    _ready(voice)
    if name == voice.name:
        return VoiceView.of(voice)
    check_voice_name(voice.vendor, name, ("body", "name"))
    if capabilities(voice.vendor).rename_voice:
        svc.adapter_for(voice.vendor).rename_voice(voice.vendor_voice, name)
        note = None
    else:
        note = f"{voice.vendor} cannot rename a voice: the new name is kept by voiceclone only"
    saved = svc.store.voices.mutate(
        voice, lambda current: current.model_copy(update={"name": name, "note": note})
    )
    return VoiceView.of(saved)


def delete_voice(svc: Services, tenant_id: str, voice_id: str) -> VoiceView:
    """Delete at the vendor where it can, delete the recordings and the consent take, mark the voice DELETED.

    A vendor that cannot delete (no API, or a paid slot) leaves the voice usable there: the
    note says so. A vendor outage fails the call instead (503), so the client can retry it.
    """
    voice = svc.store.voices.require(voice_id, tenant_id)
    if voice.state is VoiceState.DELETED:
        return VoiceView.of(voice)  # deleting twice is not an error
    note: str | None = None
    if capabilities(voice.vendor).delete_voice:
        try:
            svc.adapter_for(voice.vendor).delete_voice(voice.vendor_voice)
        except VendorRejected as exc:  # a final no (e.g. a paid slot); an outage propagates as 503
            note = (
                f"{voice.vendor} refused the delete ({exc.code}: {exc.message}); the voice may remain there"
            )
    else:
        note = f"{voice.vendor} has no API to delete a voice: it remains usable at {voice.vendor}"
    deleted = delete_job_recordings(svc, voice.job_id)
    # The consent take goes with the voice; the record stays as an audit entry (hashes and times).
    consent_forgotten = consent.forget(svc, voice)
    logger.info(
        "voice deleted",
        extra={
            "voice_id": voice_id,
            "objects_deleted": deleted,
            "consent_forgotten": consent_forgotten,
            "note": note,
        },
    )
    now = utcnow()

    def mark_deleted(current: Voice) -> Voice | None:
        if current.state is VoiceState.DELETED:
            return None
        return current.model_copy(update={"state": VoiceState.DELETED, "deleted_at": now, "note": note})

    return VoiceView.of(svc.store.voices.mutate(voice, mark_deleted))


def get_consent(svc: Services, tenant_id: str, voice_id: str) -> ConsentView:
    """The voice's consent record (its audit entry once the voice is deleted), with a fresh audio URL."""
    return consent.consent_view(svc, tenant_id, voice_id)
