"""Speech workflow step SubmitSpeech: start one vendor job per piece of the text."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.handlers.speech_step import speech_step


@speech_step
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from voiceclone.logic import speech_workflow
    from voiceclone.logic.services import services
    from voiceclone.logic.speech import SpeechInput

    progress = speech_workflow.submit(services(), SpeechInput.model_validate(event["speech"]))
    return progress.model_dump(mode="json")
