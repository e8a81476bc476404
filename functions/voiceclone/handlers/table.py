"""Every Lambda function of the service, as data: what it runs, what it takes, how it is built.

The CDK stack (infra/functions.py, the workflows), the local stack (through the synthesized
template) and the tests all read this one table; voiceclone.handlers.entries builds each
function's entry point from its row. A workflow step validates its input with ``input`` and calls
``target(services, **fields)``; an event-source function hands its event to ``target``. Both
are import strings resolved on the function's first call, the way the vendor registry resolves
adapters, so a function's cold start imports its entry point's wiring alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voiceclone.domain.deadlines import MEASURE_VOICE_MARGIN_SECONDS, MEASURE_VOICE_SECONDS

# The Lambda `Handler` of every function: voiceclone.handlers.entries.<name>.
ENTRY_MODULE = "voiceclone.handlers.entries"
DEFAULT_TIMEOUT_SECONDS = 30
# The optional dependency groups of pyproject.toml a function's package may carry beyond the lean
# base: "audio" (PyAV with FFmpeg, which decodes uploads) and "labels" (c2pa-python and cryptography,
# which sign speech). README, "Packages per function".
Extra = Literal["audio", "labels"]


@dataclass(frozen=True)
class Function:
    name: str
    # "module:attribute": a step function (svc, **input fields), or an event handler (event, context).
    target: str
    # A workflow step's input model ("module:Model"); empty for a function an event source invokes.
    input: str = ""
    # Steps: where the input names the run (the logs' correlation id, a JMESPath expression) and its
    # vendor (the metrics' dimension); without a vendor path the step's job is read to find it.
    run_id: str = ""
    vendor: str = ""
    # The state machine whose task it is (infra/workflow.py, infra/speech_workflow.py,
    # infra/comparison_workflow.py).
    workflow: Literal["", "training", "speech", "comparison"] = ""
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    # SnapStart (a function a client waits on): the modules imported before the snapshot is taken,
    # beyond the target's own module: those its first requests load (the table's tests check it);
    # `snapshot_vendors`: every vendor adapter of the registry too (requests name their vendor).
    snapshot_imports: tuple[str, ...] | None = None
    snapshot_vendors: bool = False
    # The groups the function's imports reach (tests/unit/test_import_graph.py checks both ways):
    # infra/functions.py builds one package per distinct set, shared by the functions that declare it.
    extras: tuple[Extra, ...] = ()
    # A function that streams its answer through API Gateway: its target is a
    # voiceclone.runtime StreamingHandler, run by voiceclone.runtime (docs/streaming-runtime.md).
    streaming: bool = False

    @property
    def kind(self) -> Literal["step", "event", "stream"]:
        if self.streaming:
            return "stream"
        return "step" if self.input else "event"

    @property
    def handler(self) -> str:
        """The Lambda `Handler` (also how a consumer finds the function in the template)."""
        return f"{ENTRY_MODULE}.{self.name}"

    @property
    def snapstart(self) -> bool:
        return self.snapshot_imports is not None


def training_step(
    name: str,
    target: str,
    input: str,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    module: str = "steps",
    extras: tuple[Extra, ...] = (),
) -> Function:
    """A task of the training workflow (a function of voiceclone.logic.training.<module>): its input
    names the job and its vendor."""
    return Function(
        name,
        f"voiceclone.logic.training.{module}:{target}",
        f"voiceclone.domain.{input}",
        run_id="job_id",
        vendor="vendor",
        workflow="training",
        timeout_seconds=timeout_seconds,
        extras=extras,
    )


def speech_step(
    name: str, target: str, input: str, module: str = "steps", extras: tuple[Extra, ...] = ()
) -> Function:
    """A task of the speech workflow: its input names the speech (its id, its vendor) at ``speech``."""
    return Function(
        name,
        f"voiceclone.logic.speech.{module}:{target}",
        f"voiceclone.domain.steps:{input}",
        run_id="speech.speech_id",
        vendor="speech.vendor",
        workflow="speech",
        extras=extras,
    )


def comparison_step(
    name: str,
    target: str,
    input: str,
    vendor: str = "",
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    module: str = "steps",
) -> Function:
    """A task of the comparison workflow (a function of voiceclone.logic.comparisons.<module>): its
    input names the comparison, and one vendor where the step is about one (else its job's is read)."""
    return Function(
        name,
        f"voiceclone.logic.comparisons.{module}:{target}",
        f"voiceclone.domain.steps:{input}",
        run_id="comparison_id",
        vendor=vendor,
        workflow="comparison",
        timeout_seconds=timeout_seconds,
    )


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "authorizer",
        "voiceclone.handlers.authorizer:handler",
        snapshot_imports=("voiceclone.logic.account.api_keys",),
    ),
    # The api's requests import, beyond voiceclone.rest's own imports, the vendor adapters (the
    # registry imports one when a request names its vendor) and the HTTP stack they speak through.
    # It labels the synchronous vendors' speech (c2pa: the labels group); c2pa's native library is
    # loaded before the snapshot too, or the first signature of every restored environment pays for it.
    Function(
        "api",
        "voiceclone.rest:handle",
        snapshot_imports=("voiceclone.vendors.http", "httpx", "c2pa"),
        snapshot_vendors=True,
        extras=("labels",),
    ),
    # Streaming speech (POST /v1/voices/{id}/speech/stream): its answer lasts as long as the speech
    # takes to make, so its timeout covers a long text at the vendor's pace (API Gateway's streamed
    # integrations run up to 15 minutes). It labels what it streams and stores (the labels group).
    Function(
        "stream",
        "voiceclone.handlers.stream:handler",
        timeout_seconds=300,
        streaming=True,
        extras=("labels",),
    ),
    Function("callback", "voiceclone.handlers.callback:handler"),
    Function("intake", "voiceclone.handlers.intake:handler"),
    # The training workflow (a sentence check waits on the vendor's verdict, and SubmitTraining
    # assembles the audio the vendor downloads: both outlast 30 s on a slow vendor).
    training_step("load_job", "load_job", "steps:JobStep"),
    # The one function that decodes audio (uploads in any accepted format): PyAV.
    training_step(
        "check_sentence",
        "check_sentence",
        "steps:CheckSentenceStep",
        timeout_seconds=60,
        module="sentence_check",
        extras=("audio",),
    ),
    training_step("gate", "gate", "steps:JobStep"),
    training_step("submit_training", "submit_training", "steps:JobStep", timeout_seconds=60),
    training_step("await_training", "await_training", "steps:AwaitCallbackStep"),
    training_step("poll_status", "poll_status", "polling:PollStatusEvent"),
    training_step("finalize", "finalize", "steps:JobStep"),
    training_step("mark_failed", "mark_failed", "steps:MarkFailedStep"),
    # Job and speech events, and their webhooks.
    Function("publish_events", "voiceclone.handlers.publish_events:handler"),
    Function("deliver_webhook", "voiceclone.handlers.deliver_webhook:handler"),
    # A job's or a comparison's one-time schedule came due: its input names the one record (a job's
    # vendor is read from the job). One function for both: one Scheduler role, one set of grants.
    Function(
        "expire_job",
        "voiceclone.logic.comparisons.expiry:on_schedule",
        "voiceclone.domain.steps:ExpiryEvent",
        run_id="job_id || comparison_id",
    ),
    # The speech workflow (asynchronous vendors).
    speech_step("speech_submit", "submit", "SpeechStep"),
    speech_step("speech_await", "await_callback", "SpeechAwaitStep"),
    speech_step("speech_poll", "poll", "SpeechProgressStep"),
    # FinishSpeech labels the audio: its module is its own, so no other step loads the labelling library.
    speech_step("speech_finish", "finish", "SpeechProgressStep", module="finish", extras=("labels",)),
    speech_step("speech_mark_failed", "mark_failed", "SpeechFailedStep"),
    # The comparison workflow: each take decoded and measured once (CheckSentence's module: PyAV),
    # each vendor's end recorded as it comes, the comparison's end last.
    Function(
        "measure_take",
        "voiceclone.logic.training.sentence_check:measure_take",
        "voiceclone.domain.steps:MeasureTakeStep",
        run_id="comparison_id",
        workflow="comparison",
        timeout_seconds=60,
        extras=("audio",),
    ),
    comparison_step("comparison_record_vendor", "record_vendor", "ComparisonVendorStep", vendor="vendor"),
    # MeasureVoice speaks the probe set with a ready voice: its timeout is the measurement's own
    # deadline and room for what is done around it (one constant for both). Its audio is measured
    # as PCM in pure Python: no decoder, so no audio group.
    comparison_step(
        "comparison_facts",
        "measure_voice",
        "MeasureVoiceStep",
        timeout_seconds=MEASURE_VOICE_SECONDS + MEASURE_VOICE_MARGIN_SECONDS,
        module="facts",
    ),
    comparison_step(
        "comparison_facts_failed", "record_facts_failed", "ComparisonVendorStep", vendor="vendor"
    ),
    comparison_step("comparison_finish", "finish", "ComparisonStep"),
)

BY_NAME: dict[str, Function] = {f.name: f for f in FUNCTIONS}
FUNCTION_NAMES: tuple[str, ...] = tuple(BY_NAME)


def function(name: str) -> Function:
    return BY_NAME[name]


def workflow_functions(workflow: Literal["training", "speech", "comparison"]) -> tuple[str, ...]:
    """The names of the functions a state machine invokes."""
    return tuple(f.name for f in FUNCTIONS if f.workflow == workflow)
