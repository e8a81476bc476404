"""API Gateway TOKEN authorizer: the API key in ``Authorization: Bearer <key>`` names the caller's tenant.

An unknown or missing key fails with "Unauthorized" (API Gateway answers 401). A known
key gets a policy allowing every route of the stage, so API Gateway may cache the
answer for the key across routes; the tenant id and the key's id (a prefix of its hash) travel
to the api function in the authorizer context, the only place the api function takes them from.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.logic.account.api_keys import caller_for
from voiceclone.logic.core.services import services
from voiceclone.observability import log_metrics, logger, metrics

# The exact message API Gateway turns into a 401 (any other failure is a 500).
UNAUTHORIZED = "Unauthorized"


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__(UNAUTHORIZED)


# Never log the event: it holds the key.
# Its metrics (AuthRejected) concern no vendor: log_metrics gives them vendor=none.
@logger.inject_lambda_context(log_event=False)
@log_metrics
def handler(raw_event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = APIGatewayAuthorizerTokenEvent(raw_event)
    caller = caller_for(services().store.account, event.authorization_token)
    if caller is None:
        metrics.add_metric(name="AuthRejected", unit="Count", value=1)
        raise Unauthorized()
    tenant = caller.tenant_id
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=tenant,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        # The key's id too: a job records who asked for it (its consent's requested_by).
        context={"tenant_id": tenant, "api_key_id": caller.api_key_id},
        partition=arn.partition,
    )
    policy.allow_all_routes()
    logger.append_keys(tenant_id=tenant)
    return policy.asdict()
