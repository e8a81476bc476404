"""FinishSpeech, the speech workflow's last step: fetch every piece, join, label once, store, SUCCEEDED.

A module of its own, apart from the other steps (voiceclone.logic.speech.steps), because it is
the one step that labels: the speech_finish function alone of the workflow imports the labelling
library. The labels follow the policy of the tenant when the speech was asked for
(SpeechInput.explicit_label); a LabelError fails the speech (MarkSpeechFailed keeps its code),
and no unlabelled audio is stored.
"""

from __future__ import annotations

import time

from voiceclone.domain.models import Speech, SpeechStatus
from voiceclone.domain.polling import SpeechProgress
from voiceclone.domain.steps import SpeechInput
from voiceclone.logic.core.keys import speech_key
from voiceclone.logic.core.services import Services
from voiceclone.logic.speech import labelling
from voiceclone.observability import count, logger
from voiceclone.provenance import SpeechContext
from voiceclone.vendors.speech import SynthesisJob, SynthesisRequest, SynthesisState, join_audio


def finish(svc: Services, speech: SpeechInput, progress: SpeechProgress) -> dict[str, str]:
    """Fetch every piece's audio, join it in order, label and store it, and record the speech SUCCEEDED."""
    inp = speech
    record = svc.store.speech.get(inp.speech_id, inp.tenant_id)
    if record.status.terminal:
        return {"status": record.status.value}
    labeller = labelling.labeller(svc, inp.tenant_id, explicit_label=inp.explicit_label)
    adapter = svc.adapter_for(inp.vendor)
    parts = []
    for job_id, url, text in zip(progress.jobs, progress.audio_urls, inp.pieces, strict=True):
        request = SynthesisRequest(text=text, format=inp.format, sample_rate=inp.sample_rate, speed=inp.speed)
        job = SynthesisJob(job_id=job_id, state=SynthesisState.SUCCEEDED, audio_url=url, request_id=job_id)
        parts.append(adapter.synthesis_audio(job, request))
    joined = parts[0] if len(parts) == 1 else join_audio(parts)
    started = time.monotonic()
    context = SpeechContext(
        speech_id=inp.speech_id, voice_id=record.voice_id, vendor=inp.vendor, tenant_id=inp.tenant_id
    )
    labelled = labeller.label(context, joined, inp.format)
    label_seconds = time.monotonic() - started
    key = speech_key(inp.tenant_id, record.voice_id, inp.speech_id, inp.format)
    labelling.store(svc, key, labelled)
    audio = labelling.result_of(labelled, joined.sample_rate, joined.request_id)

    def succeed(current: Speech) -> Speech | None:
        if current.status.terminal:
            return None
        return current.model_copy(
            update={
                "status": SpeechStatus.SUCCEEDED,
                "s3_key": key,
                "sample_rate": joined.sample_rate,
                "duration_seconds": round(audio.duration_seconds(), 3),
                "vendor_request_id": joined.request_id[:1024],
                "vendor_calls": len(parts),
                "labels": labelling.labels_of(labelled),
            }
        )

    record = svc.store.speech.mutate(record, succeed)
    count("SpeechSucceeded", inp.vendor)
    logger.info(
        "speech made",
        extra={
            "speech_id": inp.speech_id,
            "vendor": inp.vendor,
            "characters": record.characters,
            "label_seconds": round(label_seconds, 3),
        },
    )
    return {"status": record.status.value}
