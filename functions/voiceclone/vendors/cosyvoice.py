"""Aliyun CosyVoice instant clone (DashScope voice enrollment): one recording by URL, a voice per model.

Wire format: see docs/vendors/cosyvoice.md (Operations). Every enrollment action is a
``POST /api/v1/services/audio/tts/customization`` with ``Authorization: Bearer <API key>`` and
``{"model": "voice-enrollment", "input": {"action": ...}}``; a success is ``{output, usage,
request_id}``, an error a non-2xx status with ``{request_id, code, message}``. A created voice is
reviewed (``DEPLOYING``) and ends ``OK`` or ``UNDEPLOYED``; its id is the task id. Speech is
DashScope's duplex WebSocket task (voiceclone.vendors.streaming.cosyvoice_tts), always with the
model the voice was enrolled for (``target_model``): CosyVoice refuses any other.

DashScope's error codes are generic (``InvalidParameter`` covers most refusals) and the ones of
voice cloning are not published: the rules below classify the documented generic codes, and the
voice quota, an audio URL the vendor could not fetch and a model mismatch are told apart by the
vendor's words (:func:`explained`) so that each says what to do.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Unpack

from voiceclone.domain.audio import wav_file
from voiceclone.domain.errors import (
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorUnavailable,
)
from voiceclone.domain.models import Language, TrainingText, VendorVoice
from voiceclone.domain.script import STANDARD_SCRIPT
from voiceclone.lazy import lazy_module
from voiceclone.vendors.base import (
    DEFAULT_TIMEOUT_SECONDS,
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
from voiceclone.vendors.speech import SynthesisRequest, SynthesisResult

if TYPE_CHECKING:
    from voiceclone.vendors.streaming import base as streaming
    from voiceclone.vendors.streaming import cosyvoice_tts
    from voiceclone.vendors.streaming.base import AudioStream
else:  # the WebSocket stack (websockets): loaded when a voice first speaks
    streaming = lazy_module("voiceclone.vendors.streaming.base")
    cosyvoice_tts = lazy_module("voiceclone.vendors.streaming.cosyvoice_tts")

VENDOR_ID = "cosyvoice"
# China (Beijing): the only region whose doc offers CosyVoice cloning (docs/vendors/cosyvoice.md, Endpoints).
DEFAULT_ENDPOINT = "https://dashscope.aliyuncs.com"
DEFAULT_STREAM_ENDPOINT = "wss://dashscope.aliyuncs.com/api-ws/v1/inference"
ENROLLMENT_PATH = "/api/v1/services/audio/tts/customization"
ENROLLMENT_MODEL = "voice-enrollment"
WORKSPACE_HEADER = "X-DashScope-WorkSpace"

# The synthesis model a voice is enrolled for (a job option); the first is the doc's recommendation.
OPTION_TARGET_MODEL = "target_model"
TARGET_MODELS = ("cosyvoice-v3-plus", "cosyvoice-v3-flash", "cosyvoice-v2")
DEFAULT_TARGET_MODEL = TARGET_MODELS[0]
# language_hints is read by the v3 models only (the first element).
LANGUAGE_HINT_MODELS = ("cosyvoice-v3-plus", "cosyvoice-v3-flash")
_LANGUAGES = {Language.ZH_CN: "zh"}
# The voice id's prefix: digits and lower-case letters, under 10 characters (the stricter of the
# doc's two statements; docs/vendors/cosyvoice.md, Operations). "vc" and the job id's start.
PREFIX_LEAD = "vc"
PREFIX_CHARS = 9
_HEX_JOB_ID = re.compile(rf"[0-9a-f]{{{PREFIX_CHARS - len(PREFIX_LEAD)},}}")

STATUS_DEPLOYING, STATUS_OK, STATUS_UNDEPLOYED = "DEPLOYING", "OK", "UNDEPLOYED"
STATES = state_table(running=(STATUS_DEPLOYING,), succeeded=(STATUS_OK,), failed=(STATUS_UNDEPLOYED,))
PAGE_SIZE = 100
# The account holds at most 1000 voices: ten full pages, and a margin.
MAX_PAGES = 20
VOICE_QUOTA = 1000

# Speech: DashScope's WebSocket task. Formats and rates of the doc (opus left out: the service does
# not make it); the rate (speed) 0.5–2; one continue-task takes 20 000 characters, a Chinese one
# counted twice: counted in UTF-8 bytes (3 per Chinese character), a text within the limit is
# always within CosyVoice's count.
SPEECH_SAMPLE_RATES = (22050, 8000, 16000, 24000, 44100, 48000)
STREAM_FORMATS = ("pcm", "mp3")
TEXT_LIMIT_BYTES = 20000
SPEED_RANGE = (0.5, 2.0)
# Not published for CosyVoice: a cautious number of tasks at once per voice.
SPEECH_CONCURRENCY = 3
VOLUME, PITCH = 50, 1.0

# DashScope's generic codes (its error-code page): a refused, missing or overdue key and a service
# not bought are the configuration's; Throttling.* is a rate or an allocation; InternalError.* and
# ServiceUnavailable are DashScope's trouble. Everything else (InvalidParameter, ModelNotFound,
# DataInspectionFailed...) is the request's.
ERRORS = ErrorRules(
    codes={
        **codes("auth", "InvalidApiKey", "Arrearage"),
    },
    prefixes={
        **codes("auth", "AccessDenied", "Unauthorized"),
        **codes("throttled", "Throttling"),
        **codes("unavailable", "InternalError", "ServiceUnavailable", "SystemError"),
    },
    messages={
        "auth": "DashScope refused the API key: check the cosyvoice api_key setting (a China (Beijing) key "
        "of the account that owns the voices)",
    },
)

# What the vendor's words say when its code is generic (docs/vendors/cosyvoice.md, Errors).
_QUOTA_WORDS = re.compile(
    r"(voice|音色|复刻)[^.。]{0,60}(quota|limit|exceed|maximum|上限|超过|超出)|"
    r"(quota|limit)[^.。]{0,40}(voice|音色)",
    re.I,
)
_URL_WORDS = re.compile(
    r"(download|fetch|url|下载)[^.。]{0,60}(fail|error|invalid|unreachable|denied|expired|失败|无法)|"
    r"(invalid|bad|unreachable)[^.。]{0,20}url",
    re.I,
)
_MODEL_WORDS = re.compile(
    r"model[^.。]{0,80}(mismatch|not match|does not match|match the|enrolled for|created for)|"
    r"(target_model|模型)[^.。]{0,40}(不匹配|不一致)",
    re.I,
)
QUOTA_ADVICE = (
    f"CosyVoice keeps at most {VOICE_QUOTA} cloned voices per account and this account is full: delete "
    "voices you no longer use (DELETE /v1/voices/{id}), then start the job again"
)
URL_ADVICE = (
    "CosyVoice could not download the recording from the URL it was given (the presigned S3 URL of the "
    "job's joined recording): check that the URL is reachable from the internet and has not expired, "
    "then start the job again"
)


class CosyVoiceEnvelope(Envelope):
    """``{output, usage, request_id}``; errors: a non-2xx status with ``{request_id, code, message}``."""

    rules = ERRORS
    not_api_code = "BadResponse"

    def error(self, reply: Reply) -> tuple[str, str] | None:
        body = reply.json_object
        code = str(body.get("code") or "")
        if code or not reply.ok:
            return code, str(body.get("message") or "")
        return None

    def request_id(self, reply: Reply) -> str | None:
        return str(reply.json_object.get("request_id") or "") or None

    def payload(self, reply: Reply) -> Any:
        output = reply.json_object.get("output")
        if not isinstance(output, dict):
            raise NotTheApi(f"DashScope answered {reply.context} without an output")
        return output

    def gone(self, reply: Reply, code: str) -> bool:
        """A voice that is not there: a 404, or DashScope's words for it (its code is generic)."""
        message = str(reply.json_object.get("message") or "")
        return reply.status == 404 or bool(re.search(r"not (exist|found)|不存在", message, re.I))


def voice_prefix(job_id: str) -> str:
    """The voice id's prefix for a job: ``vc`` and the job id's start, the same on every retry.

    Job ids are uuid4 hex, so the prefix points back at the job; any other id is hashed first.
    """
    key = job_id.lower()
    if not _HEX_JOB_ID.fullmatch(key):
        key = hashlib.sha256(job_id.encode("utf-8")).hexdigest()
    return PREFIX_LEAD + key[: PREFIX_CHARS - len(PREFIX_LEAD)]


def target_model(options: dict[str, str]) -> str:
    """The job's synthesis model, as the options give it (case and spaces do not count), else the default."""
    chosen = options.get(OPTION_TARGET_MODEL, "").strip().lower()
    return chosen or DEFAULT_TARGET_MODEL


def model_of_voice_id(voice_id: str) -> str | None:
    """The model a voice id names (``<target_model>-<prefix>-<unique id>``), when it names a known one."""
    known = sorted((*TARGET_MODELS, "cosyvoice-v1"), key=len, reverse=True)
    return next((m for m in known if voice_id.startswith(m + "-")), None)


def script() -> list[TrainingText]:
    """The standard script's four longest sentences, in script order.

    CosyVoice needs at least 5 s of continuous reading; over thirty characters, each of these
    takes about 7 s at a normal pace, so every take holds such a stretch on its own, whatever
    pause the service puts between the takes it joins.
    """
    longest = sorted(STANDARD_SCRIPT, key=lambda t: -len(t.text.replace(" ", "")))[:4]
    return [t for t in STANDARD_SCRIPT if t in longest]


def explained(error: VendorError, *, model: str = "", voice_id: str = "") -> VendorError:
    """The error with what to do instead of the vendor's words, where its words say which case it is.

    The voice quota is permanent (rejected, even when DashScope sends it as a Throttling code),
    and so are an audio URL it could not fetch and a voice used with another model than its own.
    Credentials and outages keep their kind. The vendor's code, words and request id are kept.
    """
    if isinstance(error, VendorAuthError | VendorUnavailable):
        return error
    text = f"{error.code} {error.message}"
    if _QUOTA_WORDS.search(text):
        advice = QUOTA_ADVICE
    elif _URL_WORDS.search(text):
        advice = URL_ADVICE
    elif _MODEL_WORDS.search(text):
        advice = (
            f"CosyVoice refused voice {voice_id} with model {model}: a voice speaks only with the model it "
            "was enrolled for (query_voice's target_model); clone it again for another model"
        )
    else:
        return error
    details = {k: v for k, v in error.details.items() if k != "vendor"}
    details.setdefault("vendor_message", error.message)
    return VendorRejected(error.vendor, error.code, advice, **details)


class CosyVoiceAdapter(VendorAdapter):
    vendor_id = VENDOR_ID
    display_names: ClassVar[Mapping[str, str]] = {"en": "Alibaba Cloud Model Studio", "zh": "阿里云百炼"}
    default_endpoint = DEFAULT_ENDPOINT
    credential_fields = ("api_key",)
    # Streaming speech's WebSocket URL (VOICECLONE_COSYVOICE_STREAM_ENDPOINT, default Beijing's) and
    # a workspace id (VOICECLONE_COSYVOICE_WORKSPACE) for a sub-workspace's key.
    optional_fields = ("stream_endpoint", "workspace")
    capabilities = Capabilities(
        audio_transport="url",
        audio_files="single",
        sentence_count=len(script()),
        # Fixed texts, by our choice: CosyVoice itself takes any speech, but these four were picked for
        # their length (each holds the 5 s of continuous reading it needs); a shorter take made for
        # another vendor could not stand in for one of them.
        reads_any_text=False,
        # Each take carries 5 s of speech, so the joined file has the continuous stretch CosyVoice asks
        # for; joined, at most 20 s (10–20 s recommended, 60 s the most). Between two takes the service
        # puts 0.5 s of silence after trimming each to 0.25 s around its speech: about 1 s, under the
        # 2 s CosyVoice allows (docs/vendors/cosyvoice.md, Limits).
        min_sentence_seconds=5.0,
        joined_seconds=(5.0, 20.0),
        # The review takes seconds (the doc's example polls every 10 s, 30 times).
        poll_initial_seconds=5,
        poll_max_seconds=30,
        options=(OPTION_TARGET_MODEL,),
        option_choices={OPTION_TARGET_MODEL: TARGET_MODELS},
        # delete_voice removes a voice (and so stops a review: cancel_task); nothing renames one.
        delete_voice=True,
        cancel_task=True,
        speech="sync",
        speech_formats=("wav", "mp3", "pcm"),
        speech_sample_rates=SPEECH_SAMPLE_RATES,
        speech_text_limit=TEXT_LIMIT_BYTES,
        speech_text_unit="bytes",
        speech_concurrency=SPEECH_CONCURRENCY,
        speech_speeds=SPEED_RANGE,
        speech_stream=True,
        speech_stream_formats=STREAM_FORMATS,
        speech_stream_sample_rates=SPEECH_SAMPLE_RATES,
        speech_stream_text_limit=TEXT_LIMIT_BYTES,
    )
    envelope = CosyVoiceEnvelope()
    training_states = STATES

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        *,
        stream_endpoint: str = "",
        workspace: str = "",
        **connection: Unpack[Connection],
    ) -> None:
        super().__init__(endpoint, **connection)
        self.stream_endpoint = stream_endpoint or DEFAULT_STREAM_ENDPOINT
        self.workspace = workspace.strip()
        self._api_key = api_key
        self._timeout_seconds = connection.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
        self._headers = {"Authorization": f"Bearer {api_key}"}
        if self.workspace:
            self._headers[WORKSPACE_HEADER] = self.workspace

    # ----- transport -------------------------------------------------------------------------

    def enroll(self, action: str, *, gone_ok: bool = False, **fields: Any) -> dict[str, Any] | None:
        """One voice-enrollment action; its ``output`` (None for a voice already gone, with ``gone_ok``)."""
        body = {"model": ENROLLMENT_MODEL, "input": {"action": action, **fields}}
        output: dict[str, Any] | None = self._http.call(
            "POST", ENROLLMENT_PATH, json_body=body, headers=self._headers, context=action, gone_ok=gone_ok
        )
        return output

    def query_voice(self, voice_id: str) -> dict[str, Any]:
        output = self.enroll("query_voice", voice_id=voice_id) or {}
        if not output.get("status"):
            raise VendorUnavailable(
                VENDOR_ID, "BadResponse", f"query_voice answered {voice_id} without a status"
            )
        return output

    def list_page(self, page_index: int, prefix: str | None = None) -> list[dict[str, Any]]:
        fields: dict[str, Any] = {"page_index": page_index, "page_size": PAGE_SIZE}
        if prefix:
            fields["prefix"] = prefix
        voices = (self.enroll("list_voice", **fields) or {}).get("voice_list")
        if not isinstance(voices, list):
            raise VendorUnavailable(VENDOR_ID, "BadResponse", "list_voice answered without a voice_list")
        return [v for v in voices if isinstance(v, dict) and v.get("voice_id")]

    def all_voices(self, prefix: str | None = None) -> list[dict[str, Any]]:
        """Every voice (of a prefix), page by page until a short one: the API gives no total."""
        voices: list[dict[str, Any]] = []
        for page in range(MAX_PAGES):
            rows = self.list_page(page, prefix)
            voices.extend(rows)
            if len(rows) < PAGE_SIZE:
                return voices
        raise VendorUnavailable(VENDOR_ID, "TooManyPages", f"list_voice ran past {MAX_PAGES} pages")

    # ----- operations ------------------------------------------------------------------------

    def training_texts(self) -> list[TrainingText]:
        return script()

    def prepare_options(self, request: TrainingRequest) -> dict[str, str]:
        """The job's model, written down once (the default when the client chose none)."""
        return {**request.options, OPTION_TARGET_MODEL: target_model(request.options)}

    def create_task(self, request: TrainingRequest, audio: AudioSource) -> str:
        """``create_voice`` from the joined recording's URL; the voice id is the task id."""
        model = target_model(request.options)
        fields: dict[str, Any] = {
            "target_model": model,
            "prefix": voice_prefix(request.job_id),
            "url": audio.assembled_url(),
        }
        if model in LANGUAGE_HINT_MODELS:
            fields["language_hints"] = [_LANGUAGES[request.language]]
        try:
            output = self.enroll("create_voice", **fields) or {}
        except VendorError as exc:
            raise explained(exc) from exc
        voice_id = output.get("voice_id")
        if not voice_id:
            raise VendorUnavailable(VENDOR_ID, "NoVoiceId", "create_voice answered without a voice_id")
        return str(voice_id)

    def find_existing_task(self, request: TrainingRequest) -> str | None:
        """The voice an earlier create of this job made (its answer lost): the newest of the job's prefix.

        create_voice has no idempotency key, so the job's prefix is what finds it; a prefix holds
        the job id's first seven hex digits, so another job's voice is taken only on a clash of them.
        """
        voices = self.all_voices(voice_prefix(request.job_id))
        if not voices:
            return None
        newest = max(voices, key=lambda v: str(v.get("gmt_create") or ""))
        return str(newest["voice_id"])

    def get_status(self, task_id: str) -> TrainingStatus:
        output = self.query_voice(task_id)
        model = str(output.get("target_model") or model_of_voice_id(task_id) or "")
        voice = self.voice(task_id, voice_id=task_id, target_model=model)
        reason = str(output.get("reason") or output.get("message") or "")
        return self.status_of(
            task_id,
            output.get("status"),
            voice=voice,
            error_message=reason
            or "CosyVoice's review did not accept the recording (UNDEPLOYED) and gives no reason: record "
            "again in a quiet room, reading steadily, with no pause longer than 2 s",
        )

    def list_voices(self) -> list[VendorVoice]:
        """Every voice of the account, whatever its status (details.status tells them apart)."""
        return [
            self.voice(
                str(v["voice_id"]),
                voice_id=str(v["voice_id"]),
                status=str(v.get("status") or ""),
                gmt_create=str(v.get("gmt_create") or ""),
                **({"target_model": m} if (m := model_of_voice_id(str(v["voice_id"]))) else {}),
            )
            for v in self.all_voices()
        ]

    def delete_voice(self, voice: VendorVoice) -> None:
        """``delete_voice``; a voice already gone counts as deleted."""
        self.enroll("delete_voice", voice_id=voice.voice_id, gone_ok=True)

    def cancel_task(self, task_id: str) -> None:
        """Stop a review by deleting the voice under review (CosyVoice has no cancel of its own).

        The voice was made for this one job (task_id is its voice id), so nothing else loses a
        voice, and it no longer counts against the account's 1000.
        """
        self.enroll("delete_voice", voice_id=task_id, gone_ok=True)

    # Voice management CosyVoice lacks: a voice has no name to change (rename_voice stays False; the
    # prefix is part of its id) and keeps the model it was enrolled for. update_voice replaces a voice's
    # recording in place, which voiceclone does not offer: a new recording is a new job.

    # ----- speech ----------------------------------------------------------------------------

    def synthesize(self, voice: VendorVoice, request: SynthesisRequest) -> SynthesisResult:
        """The whole stream of one task, collected: CosyVoice has no HTTP synthesis.

        WAV is asked for as PCM and given its header here: a streamed WAV's header cannot know
        the length of what follows it.
        """
        asked = "pcm" if request.format == "wav" else request.format
        model = self._voice_model(voice)
        with self._open(voice, request, asked, model) as stream:
            try:
                audio = b"".join(stream)
            except VendorError as exc:
                raise explained(exc, model=model, voice_id=voice.voice_id) from exc
            request_id = stream.request_id
        if request.format == "wav":
            audio = wav_file(request.sample_rate, audio)
        return SynthesisResult(
            audio=audio, format=request.format, sample_rate=request.sample_rate, request_id=request_id
        )

    def stream_synthesis(self, voice: VendorVoice, request: SynthesisRequest) -> AudioStream:
        """One WebSocket task: run-task, then the text and finish-task, the audio in binary frames."""
        self.check_stream_request(request)
        return self._open(voice, request, request.format, self._voice_model(voice))

    def _voice_model(self, voice: VendorVoice) -> str:
        """The model the voice was enrolled for: kept with the voice, else asked of query_voice."""
        kept = str(voice.details.get("target_model") or "")
        return kept or str(self.query_voice(voice.voice_id).get("target_model") or DEFAULT_TARGET_MODEL)

    def _open(self, voice: VendorVoice, request: SynthesisRequest, fmt: str, model: str) -> AudioStream:
        low, high = SPEED_RANGE
        if not low <= request.speed <= high:
            raise VendorRejected(
                VENDOR_ID,
                "InvalidSpeed",
                f"CosyVoice speaks at {low}× to {high}× the natural speed, not {request.speed}×",
            )
        parameters: dict[str, Any] = {
            "text_type": "PlainText",
            "voice": voice.voice_id,
            "format": fmt,
            "sample_rate": request.sample_rate,
            "volume": VOLUME,
            "rate": request.speed,
            "pitch": PITCH,
        }
        protocol = cosyvoice_tts.CosyVoiceStreamProtocol(
            self.stream_endpoint,
            api_key=self._api_key,
            model=model,
            parameters=parameters,
            text=request.text,
            rules=ERRORS,
            workspace=self.workspace,
        )
        try:
            return streaming.open_stream(
                protocol,
                timeout_seconds=self._timeout_seconds,
                audio_format=fmt,
                sample_rate=request.sample_rate,
            )
        except VendorError as exc:
            raise explained(exc, model=model, voice_id=voice.voice_id) from exc
