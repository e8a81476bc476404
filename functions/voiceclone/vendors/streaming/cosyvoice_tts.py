"""DashScope's duplex WebSocket task for CosyVoice speech: run-task, continue-task, finish-task, events.

Every command is a JSON text frame ``{"header": {action, task_id, streaming}, "payload": {...}}``;
the credentials are the upgrade's ``Authorization: Bearer <API key>`` header. The vendor answers
``task-started`` once it accepted the task, and only then takes the text; the audio comes back in
binary frames, ``result-generated`` events carry the sentences' metadata, ``task-finished`` ends
the speech and ``task-failed`` (with ``header.error_code`` / ``error_message``) ends the task
(docs/vendors/cosyvoice.md, Streaming speech). The frames are the ones ``dashscope.audio.tts_v2``
sends (its ``Request.get_start_request`` / ``get_continue_request`` / ``get_finish_request``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from voiceclone.vendors.errors import ErrorRules
from voiceclone.vendors.http import encode_json
from voiceclone.vendors.streaming.base import Audio, End, Event, Failure, Send, StreamProtocol

RUN_TASK, CONTINUE_TASK, FINISH_TASK = "run-task", "continue-task", "finish-task"
TASK_STARTED, RESULT_GENERATED = "task-started", "result-generated"
TASK_FINISHED, TASK_FAILED = "task-finished", "task-failed"
WORKSPACE_HEADER = "X-DashScope-WorkSpace"
# Where the task runs, as the SDK names it in every command's payload.
TASK = {"task_group": "audio", "task": "tts", "function": "SpeechSynthesizer"}


def command(action: str, task_id: str, payload: dict[str, Any]) -> str:
    """One client command as a text frame (the SDK's layout: header, then payload)."""
    header = {"action": action, "task_id": task_id, "streaming": "duplex"}
    return encode_json({"header": header, "payload": payload}).decode("utf-8")


class CosyVoiceStreamProtocol(StreamProtocol):
    """One synthesis task: run-task once connected, the text and finish-task once the task started.

    The task id is ours (a fresh one per call, as the SDK makes it) and is what Alibaba's
    support asks for: it is the request id of the call.
    """

    vendor_id = "cosyvoice"

    def __init__(
        self,
        endpoint: str,
        *,
        api_key: str,
        model: str,
        parameters: dict[str, Any],
        text: str,
        rules: ErrorRules,
        workspace: str = "",
    ) -> None:
        super().__init__(endpoint)
        self._api_key = api_key
        self._workspace = workspace
        self._model = model
        self._parameters = parameters
        self._text = text
        # The enrollment API's codes (InvalidApiKey, Throttling...) are DashScope's everywhere.
        self.rules = rules
        self.task_id = uuid.uuid4().hex
        self.request_id = self.task_id

    def url(self) -> str:
        return self.endpoint

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._api_key}"}
        if self._workspace:
            headers[WORKSPACE_HEADER] = self._workspace
        return headers

    def opening(self) -> list[str | bytes]:
        payload = {**TASK, "model": self._model, "parameters": self._parameters, "input": {}}
        return [command(RUN_TASK, self.task_id, payload)]

    def read(self, message: str | bytes) -> Event | None:
        if isinstance(message, bytes):
            return Audio(message)
        header = _header(message)
        if header is None:
            raise self.unavailable("BadFrame", "DashScope sent a text frame that is not an event")
        event = header.get("event")
        if event == TASK_STARTED:
            text = {**TASK, "model": self._model, "input": {"text": self._text}}
            return Send(
                (
                    command(CONTINUE_TASK, self.task_id, text),
                    command(FINISH_TASK, self.task_id, {"input": {}}),
                )
            )
        if event == TASK_FINISHED:
            return End()
        if event == TASK_FAILED:
            return Failure(str(header.get("error_code") or ""), str(header.get("error_message") or ""))
        return None  # result-generated: the sentences' timing and the characters billed


def _header(message: str) -> dict[str, Any] | None:
    try:
        frame = json.loads(message)
    except ValueError:
        return None
    header = frame.get("header") if isinstance(frame, dict) else None
    return header if isinstance(header, dict) else None
