"""Qiniu 灵矽 (xrobo) voice clones: Bearer-key REST over voice slots, trained from one audio URL, polled.

Wire format: see docs/vendors/qiniu.md (Operations; the current doc revision: create
body ``{language, tier}``, ``name`` required on PUT, 403 for paid slots). A job owns one
slot: ``prepare_options`` picks or creates it once, and the slot id is also the task id.
Qiniu's ``code`` may arrive as the HTTP status or in a 200 body; the envelope below reads
both, and the rules classify them through the shared pipeline (voiceclone.vendors.errors).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Unpack
from urllib.parse import quote

from pydantic import ValidationError

from voiceclone.domain.base import BaseModel
from voiceclone.domain.errors import VendorRejected, VendorUnavailable
from voiceclone.domain.models import Language, VendorVoice
from voiceclone.vendors.base import (
    AudioSource,
    Capabilities,
    Connection,
    TrainingRequest,
    TrainingStatus,
    VendorAdapter,
    state_table,
)
from voiceclone.vendors.errors import ErrorRules, codes
from voiceclone.vendors.http import Envelope, NotTheApi, Reply

VENDOR_ID = "qiniu"
DEFAULT_ENDPOINT = "https://xrobo.qiniu.com"
VOICES_PATH = "/v1/voice-clones"
# Qiniu counts characters, not bytes (汉字/字母/数字 each one).
NAME_MAX_CHARS = 20
# Slots this service made carry this prefix and a job-derived key; a job reuses only its own.
NAME_PREFIX = "vc-"
_NAME_KEY_CHARS = NAME_MAX_CHARS - len(NAME_PREFIX)
_HEX_JOB_ID = re.compile(rf"[0-9a-f]{{{_NAME_KEY_CHARS},}}")
# Only free slots are created: training a pro slot spends paid quota and it can never be deleted.
FREE_TIER = "free"
_LANGUAGES = {Language.ZH_CN: "zh"}

STATE_INIT, STATE_TRAINING, STATE_SUCCESS, STATE_FAILED = "Init", "Training", "Success", "Failed"
STATES = state_table(running=(STATE_INIT, STATE_TRAINING), succeeded=(STATE_SUCCESS,), failed=(STATE_FAILED,))
# States a slot reaches only through a PUT with audio: the training was started.
_TRAINED_STATES = (STATE_TRAINING, STATE_SUCCESS, STATE_FAILED)

# Documented codes (docs/vendors/qiniu.md, Errors): 0 ok, 400 bad parameters, 401 unauthenticated,
# 403 paid slot (not an auth error), 404 no voice, 500; throttling is recognised by its words.
ERRORS = ErrorRules(
    codes={
        **codes("auth", 401),
        **codes("throttled", 429),
        **codes("unavailable", *range(500, 600)),
    },
    words={"throttled": re.compile(r"rate.?limit|too many requests|throttl|限流|频繁|过快", re.IGNORECASE)},
    auth_statuses=(401,),
    messages={
        "400": "Qiniu refused the request parameters",
        "401": "the Qiniu API key is missing, wrong or expired: check the qiniu api_key setting",
        "403": "Qiniu forbids this operation",
        "404": "no such voice at Qiniu",
        "429": "rate limited by Qiniu",
        "500": "Qiniu internal error",
    },
)
PAID_SLOT_MESSAGE = "paid (pro) voice slots cannot be deleted at Qiniu"
PAID_SLOT_CANCEL_MESSAGE = (
    "the training of a paid (pro) voice slot cannot be stopped: Qiniu has no cancel, and pro slots "
    "cannot be deleted"
)


class QiniuEnvelope(Envelope):
    """``{code, msg, reqid, data}``; a 4xx without a code of its own is that code (Qiniu's convention)."""

    rules = ERRORS

    def error(self, reply: Reply) -> tuple[str, str] | None:
        body = reply.json_object
        message = str(body.get("msg") or body.get("message") or "")
        code = _code(reply)
        if code:
            return str(code), message
        if 400 <= reply.status < 500 and reply.status != 429:
            return str(reply.status), message
        return None

    def request_id(self, reply: Reply) -> str | None:
        request_id = reply.json_object.get("reqid")
        return str(request_id) if request_id else None

    def payload(self, reply: Reply) -> Any:
        if _code(reply) is None:
            raise NotTheApi("the vendor answered something that is not its API")
        return reply.json_object.get("data")

    def gone(self, reply: Reply, code: str) -> bool:
        return code == "404"


def _code(reply: Reply) -> int | None:
    """The envelope's integer ``code``, or None when the body is something else."""
    code = reply.json_object.get("code")
    if code is None or isinstance(code, bool):
        return None
    try:
        return int(code)
    except (TypeError, ValueError):
        return None


class QiniuVoice(BaseModel):
    """One voice slot as Qiniu describes it; unknown fields are ignored, absent ones default."""

    id: str
    name: str = ""
    language: str = ""
    demo_url: str = ""
    state: str = ""
    tier: str = ""
    # Not in the doc (it names no failure reason); read when present, and the sandbox sends it.
    reason: str = ""


def slot_name(job_id: str) -> str:
    """The slot's name for a job: ≤ 20 chars, the same on every retry, distinct between jobs.

    Job ids are uuid4 hex, so the name shows the job id's start (an operator can find
    the job from the Qiniu console); any other id is hashed to stay unique and short.
    """
    key = job_id.lower()
    if not _HEX_JOB_ID.fullmatch(key):
        key = hashlib.sha256(job_id.encode("utf-8")).hexdigest()
    return NAME_PREFIX + key[:_NAME_KEY_CHARS]


class QiniuAdapter(VendorAdapter):
    vendor_id = VENDOR_ID
    display_names: ClassVar[Mapping[str, str]] = {"en": "Qiniu", "zh": "七牛云"}
    default_endpoint = DEFAULT_ENDPOINT
    credential_fields = ("api_key",)
    capabilities = Capabilities(
        audio_transport="url",
        # Qiniu wants 10–60 s of audio: six of our ~8 s sentences plus pauses land inside it.
        sentence_count=6,
        # Any text: Qiniu's create call takes the audio's URL alone, no text (docs/vendors/qiniu.md,
        # Operations); the first six of the standard script are only what a lone job asks for.
        reads_any_text=True,
        # 10-60 s (docs/vendors/qiniu.md, Limits); a slow reader's six can overflow: the best fit is sent.
        joined_seconds=(10.0, 60.0),
        # Training takes minutes to a dozen minutes.
        poll_initial_seconds=30,
        poll_max_seconds=300,
        # PUT with an empty key renames; DELETE removes a free slot (403 for pro); there is no
        # cancel, so cancel_task deletes the job's own slot, which is the only way to stop it.
        rename_voice=True,
        delete_voice=True,
        cancel_task=True,
        voice_name_max_chars=NAME_MAX_CHARS,
        # Qiniu documents no TTS endpoint for clones (docs/vendors/qiniu.md, Operations).
        speech="none",
        speech_note="Qiniu documents no text-to-speech endpoint for cloned voices: the voice is used by "
        "Qiniu's agent runtime (set it as an agent's ttsVoiceId, or switch to it in a device session)",
    )
    envelope = QiniuEnvelope()
    # An unknown state is taken as "not finished yet" (VendorAdapter.status_of).
    training_states = STATES

    def __init__(self, endpoint: str, api_key: str, **connection: Unpack[Connection]) -> None:
        super().__init__(endpoint, **connection)
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}

    # ----- transport -------------------------------------------------------------------------

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, gone_ok: bool = False
    ) -> Any:
        """One request; returns the envelope's ``data`` or raises the classified error."""
        return self._http.call(method, path, json_body=body, headers=self._headers, gone_ok=gone_ok)

    def _voice(self, data: Any) -> QiniuVoice:
        try:
            return QiniuVoice.model_validate(data)
        except ValidationError as exc:
            raise VendorUnavailable(
                VENDOR_ID, "BadResponse", "Qiniu answered without a voice object"
            ) from exc

    def _get(self, voice_id: str) -> QiniuVoice:
        return self._voice(self.call("GET", _voice_path(voice_id)))

    def _voices(self) -> list[QiniuVoice]:
        data = self.call("GET", VOICES_PATH)
        voices = data.get("voices") if isinstance(data, dict) else None
        if not isinstance(voices, list):
            raise VendorUnavailable(VENDOR_ID, "BadResponse", "Qiniu listed voices without a voices list")
        return [self._voice(v) for v in voices]

    def _put(self, voice_id: str, key: str, name: str) -> QiniuVoice:
        """PUT a slot: a non-empty key trains from that audio URL, an empty one only renames."""
        return self._voice(self.call("PUT", _voice_path(voice_id), {"key": key, "name": name}))

    # ----- operations ------------------------------------------------------------------------

    def prepare_options(self, request: TrainingRequest) -> dict[str, str]:
        """Pick the job's voice slot: its own if an earlier attempt made one, else a new one.

        Creating a slot is not idempotent (each POST makes one), so a retried prepare
        must find the slot it made: every slot is renamed for its job right after it is
        created. A slot belongs to exactly one job: an untrained slot named for another
        job is never taken, because that job may still be running (between its prepare
        and its training), and Qiniu has no conditional update to claim it safely. A slot
        left by a job that failed before training stays in the account (list_voices shows
        it, state ``Init``) until it is deleted.
        """
        if request.options.get("voice_id"):
            return dict(request.options)
        name = slot_name(request.job_id)
        voices = self._voices()
        chosen = next((v for v in voices if v.state == STATE_INIT and v.name == name), None)
        if chosen is None:
            language = _LANGUAGES[request.language]
            chosen = self._voice(self.call("POST", VOICES_PATH, {"language": language, "tier": FREE_TIER}))
            self._put(chosen.id, "", name)
        return {**request.options, "voice_id": chosen.id}

    def create_task(self, request: TrainingRequest, audio: AudioSource) -> str:
        """Train the job's slot from the assembled recording's URL; the slot id is the task id."""
        voice_id = _voice_id(request)
        name = slot_name(request.job_id)
        slot = self._get(voice_id)
        if slot.name != name:
            raise VendorRejected(
                VENDOR_ID,
                "SlotTaken",
                f"the voice slot {voice_id} was taken over by another job (now named {slot.name!r}): "
                "start a new job",
            )
        if slot.state in _TRAINED_STATES:
            return voice_id  # an earlier create of this job already started the training
        self._put(voice_id, audio.assembled_url(), name)
        return voice_id

    def find_existing_task(self, request: TrainingRequest) -> str | None:
        """The slot, if the PUT that trains it happened (its answer may have been lost)."""
        voice_id = request.options.get("voice_id")
        if not voice_id:
            return None
        slot = self._get(voice_id)
        if slot.state in _TRAINED_STATES and slot.name == slot_name(request.job_id):
            return voice_id
        return None

    def get_status(self, task_id: str) -> TrainingStatus:
        slot = self._get(task_id)
        voice = self.voice(slot.id, voice_id=slot.id, name=slot.name)
        return self.status_of(
            slot.id or task_id,
            slot.state,
            voice=voice,
            error_message=slot.reason or "Qiniu reported the training as Failed without a reason",
        )

    def list_voices(self) -> list[VendorVoice]:
        """Every slot of the account, spare and failed ones included (details.state tells them apart)."""
        return [
            self.voice(v.id, voice_id=v.id, name=v.name, language=v.language, state=v.state, tier=v.tier)
            for v in self._voices()
        ]

    def rename_voice(self, voice: VendorVoice, name: str) -> None:
        """Rename the slot ``voice.voice_id``: ``PUT /v1/voice-clones/{id}`` with an empty key.

        An empty key only renames: the slot is not trained again and keeps its state, and a
        pro slot's paid quota is not spent. Qiniu takes at most 20 characters (each 汉字,
        letter or digit one): a longer name is rejected ("NameTooLong"), never cut, and an
        empty one too ("InvalidName"), before anything is sent. Meant for trained voices:
        while a job is still preparing its slot, the slot's name marks it as the job's.
        """
        if not name.strip():
            raise VendorRejected(VENDOR_ID, "InvalidName", "a Qiniu voice name must not be empty")
        if len(name) > NAME_MAX_CHARS:
            raise VendorRejected(
                VENDOR_ID,
                "NameTooLong",
                f"Qiniu voice names are at most {NAME_MAX_CHARS} characters; this one has {len(name)}",
                max_chars=NAME_MAX_CHARS,
            )
        self._put(voice.voice_id, "", name)

    def delete_voice(self, voice: VendorVoice) -> None:
        """Delete the slot ``voice.voice_id`` (``DELETE /v1/voice-clones/{id}``).

        An already deleted slot counts as done (a retried delete must not fail); a paid
        (pro) slot cannot be deleted (Qiniu's 403, with a message that says so).
        """
        self._delete_slot(voice.voice_id, PAID_SLOT_MESSAGE)

    def cancel_task(self, task_id: str) -> None:
        """Stop a training by deleting the job's slot (``task_id`` is the slot id create_task returned).

        Qiniu has no cancel: deleting the slot is the only way to stop its training, and the
        slot is gone afterwards (its GET answers 404), with whatever it had trained. The slot
        was made for this one job, so nothing else loses a voice. A slot already
        gone counts as cancelled; a pro slot cannot be deleted, so its training cannot be stopped.
        """
        self._delete_slot(task_id, PAID_SLOT_CANCEL_MESSAGE)

    def _delete_slot(self, voice_id: str, paid_message: str) -> None:
        """DELETE a slot; one already gone (404) is done, a paid one (403) says why it stays."""
        try:
            self.call("DELETE", _voice_path(voice_id), gone_ok=True)
        except VendorRejected as exc:
            if exc.code == "403":
                details = {k: v for k, v in exc.details.items() if k == "request_id"}
                raise VendorRejected(
                    VENDOR_ID, "403", paid_message, vendor_message=exc.message, **details
                ) from exc
            raise


def _voice_path(voice_id: str) -> str:
    return f"{VOICES_PATH}/{quote(voice_id, safe='')}"


def _voice_id(request: TrainingRequest) -> str:
    voice_id = request.options.get("voice_id")
    if not voice_id:
        raise VendorRejected(
            VENDOR_ID, "NoVoiceSlot", "the job has no Qiniu voice slot: prepare_options must run first"
        )
    return voice_id
