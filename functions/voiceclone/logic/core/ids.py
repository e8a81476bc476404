"""The ids the service issues, typed by their form: what a callback's path names is known from the id itself.

A job id is 32 hex digits; its voice is ``v-<job id>``; a speech is ``sp-`` and 32 hex digits; a
comparison ``cmp-`` and 32 hex digits (its uploads share the jobs' key layout: the id says whose).
Vendor callbacks share one route (``/v1/callbacks/{vendor}/{id}``): the id says whose task called.
"""

from __future__ import annotations

import re
import uuid

SPEECH_ID_PREFIX = "sp-"
VOICE_ID_PREFIX = "v-"
COMPARISON_ID_PREFIX = "cmp-"
# Job, voice, speech and vendor ids as the service issues them: anything else names nothing.
ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_job_id() -> str:
    return uuid.uuid4().hex


def voice_id_of(job_id: str) -> str:
    return f"{VOICE_ID_PREFIX}{job_id}"


def new_speech_id() -> str:
    return SPEECH_ID_PREFIX + uuid.uuid4().hex


def is_speech_id(item_id: str) -> bool:
    return item_id.startswith(SPEECH_ID_PREFIX)


def new_comparison_id() -> str:
    return COMPARISON_ID_PREFIX + uuid.uuid4().hex


def is_comparison_id(item_id: str) -> bool:
    return item_id.startswith(COMPARISON_ID_PREFIX)
