"""Names in one place: the functions, their handlers, context keys, environment variables."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = REPO_ROOT / "functions"
SERVICE_NAME = "voiceclone"
STACK_NAME = "Voiceclone"
API_STAGE = "prod"
UPLOAD_PREFIX = "uploads/"
VENDORS = ("tencent_vrs", "tencent_gateway", "volcengine", "qiniu", "huawei")
TRAINING_PREFIX = "training/"

# Function name -> handler module under voiceclone.handlers.
FUNCTION_NAMES = (
    "api",
    "callback",
    "intake",
    "load_job",
    "check_sentence",
    "gate",
    "submit_training",
    "await_training",
    "poll_status",
    "finalize",
    "mark_failed",
)


def handler_of(name: str) -> str:
    return f"voiceclone.handlers.{name}.handler"


def logical_id_of(name: str) -> str:
    """CDK construct id of a function: `check_sentence` -> `CheckSentenceFunction`."""
    return "".join(part.title() for part in name.split("_")) + "Function"
