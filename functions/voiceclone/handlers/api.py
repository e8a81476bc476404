"""Lambda entry point of the REST API; the routes, validation and error mapping are voiceclone.rest.

Nothing of the service is imported with this module (README, "Cold starts"): the first call imports
voiceclone.rest. Under SnapStart the hook registered below has imported it, and what its routes
import on first use, before the snapshot was taken, so a restored request imports nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voiceclone.handlers.deferred import load_before_snapshot

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from voiceclone.rest import handle

    return handle(event, context)


load_before_snapshot(__name__, "voiceclone.rest")
