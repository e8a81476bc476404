"""A speech callback (voiceclone.logic.core.tasks): wake the speech workflow's wait when a vendor job ends.

SubmitSpeech gives each piece's vendor job a callback URL naming the speech (its id starts with
``sp-``: voiceclone.logic.core.ids) with a secret made once per speech. Neither vendor signs its
callback, so the body only names a job: that job is re-queried at the vendor
(``get_synthesis``) and, when it has ended, the task token AwaitSpeechCallback parked is sent
(SendTaskSuccess), so PollSpeech asks about every piece now rather than when the wait times out.
A callback that comes while no token is parked is remembered (``callback_pending``): the next
AwaitSpeechCallback resumes at once (voiceclone.logic.speech.steps.await_callback).
"""

from __future__ import annotations

from collections.abc import Callable

from voiceclone.domain.errors import VendorError
from voiceclone.domain.models import Speech
from voiceclone.logic.core.services import Services
from voiceclone.logic.core.tasks import CallbackResult
from voiceclone.logic.speech.steps import wake
from voiceclone.observability import logger
from voiceclone.vendors.base import VendorAdapter
from voiceclone.vendors.speech import SynthesisState


class SpeechCallbacks:
    """The speech kind of vendor task callback."""

    what = "speech"
    not_found = "SpeechNotFound"

    def load(self, svc: Services, owner_id: str) -> Speech | None:
        return svc.store.speech.find(owner_id)

    def parse(self, adapter: VendorAdapter) -> Callable[[bytes], str]:
        return adapter.parse_synthesis_callback

    def act(self, svc: Services, adapter: VendorAdapter, owner: Speech, hint: str) -> CallbackResult:
        speech, job_id = owner, hint
        if job_id not in speech.vendor_jobs:
            return CallbackResult(409, "the callback is for another job", "OtherJob")
        if speech.status.terminal:
            return CallbackResult(200, "already processed")
        confirmed = adapter.get_synthesis(job_id)
        if confirmed.state is SynthesisState.RUNNING:
            return CallbackResult(202, f"the speech job is still {confirmed.vendor_state or 'running'}")
        token_taken: str | None = None

        def take(current: Speech) -> Speech | None:
            nonlocal token_taken
            token_taken = current.task_token
            if current.task_token:
                return current.model_copy(update={"task_token": None, "callback_pending": False})
            if current.callback_pending or current.status.terminal:
                return None
            return current.model_copy(update={"callback_pending": True})

        svc.store.speech.mutate(speech, take)
        if token_taken:
            wake(svc, token_taken, "callback")
        logger.info(
            "speech callback processed",
            extra={"speech_id": speech.speech_id, "state": confirmed.state.value, "woke": bool(token_taken)},
        )
        return CallbackResult(200, "ok")

    def vendor_unavailable(self, svc: Services, owner: Speech, error: VendorError) -> None:
        """Nothing to keep: should the vendor not call again, the wait times out to the poll."""


SPEECH_CALLBACKS = SpeechCallbacks()
