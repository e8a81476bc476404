"""Speech workflow step PollSpeech: ask the vendor about its jobs; the next wait, or FinishSpeech."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.handlers.speech_step import speech_step


@speech_step
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from voiceclone.domain.polling import SpeechProgress
    from voiceclone.logic import speech_workflow
    from voiceclone.logic.services import services
    from voiceclone.logic.speech import SpeechInput

    return speech_workflow.poll(
        services(),
        SpeechInput.model_validate(event["speech"]),
        SpeechProgress.model_validate(event["progress"]),
    ).model_dump(mode="json")
