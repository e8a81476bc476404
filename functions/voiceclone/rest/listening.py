"""Routes of blind listening on a comparison: the next pair, a vote, the ranking, keeping the best voice."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from voiceclone.domain.api_models import KeepRequest, KeepView, PairView, RankingView, VoteRequest, VoteView
from voiceclone.logic.comparisons import listening
from voiceclone.logic.core.services import services
from voiceclone.observability import metrics
from voiceclone.rest.openapi import CONFLICT, ID_PATTERN, JSON_ONLY, NOT_FOUND, VENDOR, answers, tenant_of

router = Router()  # type: ignore[no-untyped-call]

ComparisonId = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]


@router.post(
    "/v1/comparisons/<comparison_id>/pairs",
    summary="The next blind pair: one probe sentence spoken by two of the comparison's voices, as A and B",
    description="Only voices ready with probe audio take part (fewer than two: 409 `NotEnoughVoices`). The "
    "pair with the fewest votes comes next, on a probe sentence every voice spoke, in a random order. `a` "
    "and `b` are presigned URLs of copies of the audio under random names, made for this pair: neither the "
    "answer nor a URL names a vendor or a voice. `progress` gives each pair's votes so far as counts only. "
    "Vote on it with POST .../votes within a day.",
    tags=["comparisons"],
    responses=answers(PairView, NOT_FOUND, CONFLICT, status=201, description="The pair"),
)
def new_pair(comparison_id: ComparisonId) -> Response[PairView]:
    pair = listening.next_pair(services(), tenant_of(router), comparison_id)
    metrics.add_metric(name="ListeningPair", unit="Count", value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=pair)


@router.post(
    "/v1/comparisons/<comparison_id>/votes",
    summary="Vote on a blind pair: `a`, `b` or `same`",
    description="One vote per pair: a second is 409 `AlreadyVoted`; a pair not handed out for this "
    "comparison is 404 `PairNotFound`, one that waited more than a day 404 `PairExpired`.",
    tags=["comparisons"],
    responses=answers(VoteView, NOT_FOUND, CONFLICT, JSON_ONLY, status=201, description="The vote, recorded"),
)
def vote(comparison_id: ComparisonId, body: Annotated[VoteRequest, Body()]) -> Response[VoteView]:
    recorded = listening.vote(services(), tenant_of(router), comparison_id, body)
    metrics.add_metric(name="ListeningVote", unit="Count", value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=recorded)


@router.get(
    "/v1/comparisons/<comparison_id>/ranking",
    summary="The voices ranked by the blind votes, with the facts measured of each beside",
    description="409 `RankingNotReady` until every pair of voices has 3 votes (`details.votes_needed`: "
    "what each pair still needs). Then each vendor's rank and Bradley–Terry strength (`method`; fitted by "
    "Hunter's MM iteration with one virtual `same` per pair, strengths summing to 1), its wins, losses, "
    "`same` votes and win rate (a `same` counts half a win), its seconds to ready and its facts: median "
    "time to first audio, real-time factor, speech level, and the configured price.",
    tags=["comparisons"],
    responses=answers(RankingView, NOT_FOUND, CONFLICT),
)
def get_ranking(comparison_id: ComparisonId) -> RankingView:
    return listening.ranking(services(), tenant_of(router), comparison_id)


@router.post(
    "/v1/comparisons/<comparison_id>/keep",
    summary="Keep one vendor's voice and delete the comparison's other voices",
    description="Each other voice is deleted as DELETE /v1/voices/{voice_id} deletes it (at the vendor where "
    "its API allows, else `note` says it remains there; its recordings and consent take with it). 409 "
    "while a vendor still trains, for a vendor without a ready voice, or once another vendor was kept. "
    "Keeping the same vendor again deletes nothing more.",
    tags=["comparisons"],
    responses=answers(KeepView, NOT_FOUND, CONFLICT, VENDOR, JSON_ONLY),
)
def keep(comparison_id: ComparisonId, body: Annotated[KeepRequest, Body()]) -> KeepView:
    kept = listening.keep(services(), tenant_of(router), comparison_id, body.vendor)
    metrics.add_metric(name="ComparisonVoiceKept", unit="Count", value=1)
    return kept
