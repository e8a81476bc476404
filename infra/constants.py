"""Names in one place: the functions and their handlers, CDK context keys, environment variable names."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = REPO_ROOT / "functions"
PYPROJECT = REPO_ROOT / "pyproject.toml"

SERVICE_NAME = "voiceclone"
METRICS_NAMESPACE = "Voiceclone"
# Every metric's vendor dimension (voiceclone.observability.VENDOR), and the metrics infra/monitoring.py
# alarms on or charts, as the functions publish them (namespace, service, vendor).
METRIC_VENDOR_DIMENSION = "vendor"
METRIC_JOB_CREATED = "JobCreated"
METRIC_JOB_SUCCEEDED = "JobSucceeded"
METRIC_JOB_CHECK_FAILED = "JobCheckFailed"
METRIC_JOB_FAILED = "JobFailed"
METRIC_JOB_CANCELLED = "JobCancelled"
METRIC_WEBHOOK_FAILED = "WebhookFailed"
# Speech (voiceclone.rest and voiceclone.logic.speech.steps).
METRIC_SPEECH_CREATED = "SpeechCreated"
METRIC_SPEECH_SUCCEEDED = "SpeechSucceeded"
METRIC_SPEECH_FAILED = "SpeechFailed"
STACK_NAME = "Voiceclone"
TAGS = {"service": SERVICE_NAME}
API_STAGE = "prod"

# infra reads the service's own declarations (its functions, its bucket's key layout, its vendors):
# from the installed package, else from the source tree.
if importlib.util.find_spec("voiceclone") is None:
    sys.path.append(str(FUNCTIONS_DIR))

from voiceclone.handlers import table  # noqa: E402 - after the path above
from voiceclone.logic.core import keys  # noqa: E402

# Key prefixes in the audio bucket (voiceclone.logic.core.keys): clients upload recordings (and
# documents) under uploads/; the service keeps what it checked and assembled under training/, and
# the audio spoken with a cloned voice under speech/.
UPLOAD_PREFIX = f"{keys.UPLOADS}/"
TRAINING_PREFIX = f"{keys.TRAINING}/"
SPEECH_PREFIX = f"{keys.SPEECH}/"
# Blind listening's copies of probe audio under random names: a day's life (a pair's own).
LISTENING_PREFIX = f"{keys.LISTENING}/"
# A voice's consent take, kept while the voice exists (no lifecycle rule expires it).
CONSENT_PREFIX = f"{keys.CONSENT}/"
# Recordings, and the authorization letters some vendors require: both go to intake.
UPLOAD_SUFFIXES = tuple(f".{kind}" for kind in keys.UPLOAD_KINDS)


def vendor_ids() -> tuple[str, ...]:
    """The vendors, as the registry (voiceclone.vendors.registry) lists them now: one secret each."""
    from voiceclone.vendors.registry import vendor_ids as registered

    return registered()


def __getattr__(name: str) -> Any:
    """``VENDORS``: the registry's vendor ids when asked (a vendor registered at run time included)."""
    if name == "VENDORS":
        return vendor_ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The Lambda functions, as voiceclone.handlers.table declares them (their handlers, workflows, timeouts).
FUNCTION_NAMES = table.FUNCTION_NAMES


def handler_of(name: str) -> str:
    """The Lambda `Handler` of a function: also how a consumer finds it in the template."""
    return table.function(name).handler


def construct_id_of(name: str) -> str:
    """The construct id of a function (`check_sentence` -> `CheckSentenceFunction`).

    The CloudFormation logical id is ``Functions<construct id><8 hex digits>``; find a
    function by its Handler rather than by that hash.
    """
    return "".join(part.title() for part in name.split("_")) + "Function"


# ----- CDK context ---------------------------------------------------------------------------------
CONTEXT_PREFIX = "voiceclone:"
CTX_MAP_MAX_CONCURRENCY = "voiceclone:mapMaxConcurrency"
CTX_CALLBACK_TIMEOUT_SECONDS = "voiceclone:callbackTimeoutSeconds"
CTX_POLL_INITIAL_SECONDS = "voiceclone:pollInitialSeconds"
CTX_POLL_MAX_SECONDS = "voiceclone:pollMaxSeconds"
CTX_POLL_BACKOFF = "voiceclone:pollBackoff"
CTX_TRAINING_DEADLINE_SECONDS = "voiceclone:trainingDeadlineSeconds"
CTX_UPLOAD_URL_EXPIRY_SECONDS = "voiceclone:uploadUrlExpirySeconds"
CTX_MAX_UPLOAD_BYTES = "voiceclone:maxUploadBytes"
CTX_UPLOAD_RETENTION_DAYS = "voiceclone:uploadRetentionDays"
CTX_VENDOR_SETTINGS = "voiceclone:vendorSettings"
CTX_LOG_LEVEL = "voiceclone:logLevel"
# Seconds one vendor call may take (every vendor; uploads allow more). Unset: the adapters' 10 s.
CTX_VENDOR_TIMEOUT_SECONDS = "voiceclone:vendorTimeoutSeconds"
# Serve Swagger UI at /v1/docs (the local stack turns it on; a deployed API serves /v1/openapi.json).
CTX_SWAGGER_UI = "voiceclone:swaggerUi"
# How long API Gateway caches the authorizer's answer for one API key (0 turns caching off).
CTX_AUTHORIZER_CACHE_SECONDS = "voiceclone:authorizerCacheSeconds"
CTX_WEBHOOK_BACKOFF_BASE_SECONDS = "voiceclone:webhookBackoffBaseSeconds"
CTX_WEBHOOK_BACKOFF_MAX_SECONDS = "voiceclone:webhookBackoffMaxSeconds"
CTX_WEBHOOK_MAX_ATTEMPTS = "voiceclone:webhookMaxAttempts"
CTX_WEBHOOK_ALLOW_PRIVATE_TARGETS = "voiceclone:webhookAllowPrivateTargets"
# Seconds a job may wait for its recordings (from its creation or its last CHECK_FAILED) before it
# ends EXPIRED (voiceclone.logic.training.expiry); 7 days by default.
CTX_JOB_EXPIRY_SECONDS = "voiceclone:jobExpirySeconds"
# Labels on speech (docs/labels.md): the GB 45438 content producer (the operator's registered name or
# provider code), the audible label's deployment default, raw PCM's rule, C2PA signing, and the PEM
# certificate chain of the stack's KMS signing key and the root(s) POST /v1/provenance trusts.
CTX_AIGC_CONTENT_PRODUCER = "voiceclone:aigcContentProducer"
CTX_LABEL_EXPLICIT = "voiceclone:labelExplicit"
CTX_LABEL_PCM = "voiceclone:labelPcm"
CTX_LABEL_SIGN = "voiceclone:labelSign"
CTX_C2PA_CERTIFICATE_CHAIN = "voiceclone:c2paCertificateChain"
CTX_C2PA_TRUST_ANCHORS = "voiceclone:c2paTrustAnchors"
# CDK's own key: the stacks whose assets are bundled. An empty list skips bundling (no pip run).
CTX_BUNDLING_STACKS = "aws:cdk:bundling-stacks"
SKIP_BUNDLING: dict[str, Any] = {CTX_BUNDLING_STACKS: []}

# ----- environment variables the functions read (functions/voiceclone/settings.py) ---------------
ENV_TABLE_NAME = "VOICECLONE_TABLE_NAME"
ENV_BUCKET_NAME = "VOICECLONE_BUCKET_NAME"
ENV_STATE_MACHINE_ARN = "VOICECLONE_STATE_MACHINE_ARN"
ENV_SPEECH_STATE_MACHINE_ARN = "VOICECLONE_SPEECH_STATE_MACHINE_ARN"
ENV_COMPARISON_STATE_MACHINE_ARN = "VOICECLONE_COMPARISON_STATE_MACHINE_ARN"
ENV_API_URL = "VOICECLONE_API_URL"
ENV_POLL_INITIAL_SECONDS = "VOICECLONE_POLL_INITIAL_SECONDS"
ENV_POLL_MAX_SECONDS = "VOICECLONE_POLL_MAX_SECONDS"
ENV_POLL_BACKOFF = "VOICECLONE_POLL_BACKOFF"
ENV_TRAINING_DEADLINE_SECONDS = "VOICECLONE_TRAINING_DEADLINE_SECONDS"
ENV_UPLOAD_URL_EXPIRY_SECONDS = "VOICECLONE_UPLOAD_URL_EXPIRY_SECONDS"
ENV_MAX_UPLOAD_BYTES = "VOICECLONE_MAX_UPLOAD_BYTES"
ENV_VENDOR_TIMEOUT_SECONDS = "VOICECLONE_VENDOR_TIMEOUT_SECONDS"
ENV_SWAGGER_UI = "VOICECLONE_SWAGGER_UI"
ENV_EVENT_BUS_NAME = "VOICECLONE_EVENT_BUS_NAME"
ENV_WEBHOOK_BACKOFF_BASE_SECONDS = "VOICECLONE_WEBHOOK_BACKOFF_BASE_SECONDS"
ENV_WEBHOOK_BACKOFF_MAX_SECONDS = "VOICECLONE_WEBHOOK_BACKOFF_MAX_SECONDS"
ENV_WEBHOOK_ALLOW_PRIVATE_TARGETS = "VOICECLONE_WEBHOOK_ALLOW_PRIVATE_TARGETS"
ENV_JOB_EXPIRY_SECONDS = "VOICECLONE_JOB_EXPIRY_SECONDS"
ENV_EXPIRY_SCHEDULE_GROUP = "VOICECLONE_EXPIRY_SCHEDULE_GROUP"
ENV_EXPIRY_FUNCTION_ARN = "VOICECLONE_EXPIRY_FUNCTION_ARN"
ENV_EXPIRY_ROLE_ARN = "VOICECLONE_EXPIRY_ROLE_ARN"
ENV_AIGC_CONTENT_PRODUCER = "VOICECLONE_AIGC_CONTENT_PRODUCER"
ENV_LABEL_EXPLICIT = "VOICECLONE_LABEL_EXPLICIT"
ENV_LABEL_PCM = "VOICECLONE_LABEL_PCM"
ENV_LABEL_SIGN = "VOICECLONE_LABEL_SIGN"
ENV_C2PA_KMS_KEY_ID = "VOICECLONE_C2PA_KMS_KEY_ID"
ENV_C2PA_CERTIFICATE_CHAIN_PARAMETER = "VOICECLONE_C2PA_CERTIFICATE_CHAIN_PARAMETER"
ENV_C2PA_TRUST_ANCHORS_PARAMETER = "VOICECLONE_C2PA_TRUST_ANCHORS_PARAMETER"
ENV_POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
ENV_POWERTOOLS_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
ENV_POWERTOOLS_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
# The variables that name the stack's own resources (and each vendor's VOICECLONE_<VENDOR>_SECRET_ARN):
# the stack sets them, configuration never does. Every other variable a function gets is a setting.
RESOURCE_VARIABLES = frozenset(
    {
        ENV_TABLE_NAME,
        ENV_BUCKET_NAME,
        ENV_STATE_MACHINE_ARN,
        ENV_SPEECH_STATE_MACHINE_ARN,
        ENV_COMPARISON_STATE_MACHINE_ARN,
        ENV_API_URL,
        ENV_EVENT_BUS_NAME,
        ENV_EXPIRY_SCHEDULE_GROUP,
        ENV_EXPIRY_FUNCTION_ARN,
        ENV_EXPIRY_ROLE_ARN,
        ENV_C2PA_KMS_KEY_ID,
        ENV_C2PA_CERTIFICATE_CHAIN_PARAMETER,
        ENV_C2PA_TRUST_ANCHORS_PARAMETER,
        ENV_POWERTOOLS_SERVICE_NAME,
        ENV_POWERTOOLS_METRICS_NAMESPACE,
    }
)
SECRET_ARN_SUFFIX = "_SECRET_ARN"  # noqa: S105 - a variable name, not a secret


def is_setting(variable: str) -> bool:
    """Whether a function's variable is a setting (configuration may give it) or names a resource."""
    return variable not in RESOURCE_VARIABLES and not variable.endswith(SECRET_ARN_SUFFIX)
