"""Blind listening's pairs: ``CMP#<comparison_id>``/``PAIR#<pair_id>``, beside their comparison.

A pair waits for its vote under the table's TTL (``expires_at``); the vote is one conditional
update that sets the choice and removes the TTL, so a pair takes one vote, a vote is never lost to
the TTL, and an expired pair (which DynamoDB removes only eventually) takes none.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from voiceclone.domain.errors import Conflict, NotFound
from voiceclone.domain.listening import ListeningPair
from voiceclone.domain.models import utcnow
from voiceclone.domain.ranking import Choice
from voiceclone.store.comparisons import comparison_pk
from voiceclone.store.table import Table, conditional_failed, from_attrs, item_of

PAIR_PREFIX = "PAIR#"


def pair_sk(pair_id: str) -> str:
    return f"{PAIR_PREFIX}{pair_id}"


class ListeningStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, pair: ListeningPair) -> None:
        item = item_of(
            pair, pk=comparison_pk(pair.comparison_id), sk=pair_sk(pair.pair_id), type="listening_pair"
        )
        self.table.put_new(item)

    def get(self, comparison_id: str, pair_id: str) -> ListeningPair | None:
        return self.table.read(ListeningPair, comparison_pk(comparison_id), pair_sk(pair_id))

    def vote(self, comparison_id: str, pair_id: str, choice: Choice) -> ListeningPair:
        """Record the pair's one vote: NotFound for no such (or an expired) pair, Conflict if it has one."""
        now = utcnow()
        try:
            resp = self.table.client.update_item(
                TableName=self.table.name,
                Key={"pk": {"S": comparison_pk(comparison_id)}, "sk": {"S": pair_sk(pair_id)}},
                UpdateExpression="SET choice = :c, voted_at = :t REMOVE expires_at",
                ConditionExpression=(
                    "attribute_exists(pk) AND attribute_not_exists(choice) AND expires_at > :now"
                ),
                ExpressionAttributeValues={
                    ":c": {"S": choice},
                    ":t": {"S": now.isoformat()},
                    ":now": {"N": str(int(now.timestamp()))},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            raise self._refusal(comparison_id, pair_id) from exc
        return ListeningPair.model_validate(from_attrs(resp["Attributes"]))

    def _refusal(self, comparison_id: str, pair_id: str) -> Conflict | NotFound:
        found = self.get(comparison_id, pair_id)
        if found is not None and found.choice is not None:
            return Conflict("AlreadyVoted", f"pair {pair_id} has its vote: ask for a new pair")
        if found is not None:
            return NotFound("PairExpired", f"pair {pair_id} waited too long for its vote: ask for a new pair")
        return NotFound("PairNotFound", f"no pair {pair_id} in comparison {comparison_id}")

    def pairs(self, comparison_id: str) -> list[ListeningPair]:
        """Every pair of the comparison still kept: the voted ones, and those waiting for a vote."""
        items = self.table.query_all(
            {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sk)",
                "ExpressionAttributeValues": {
                    ":pk": {"S": comparison_pk(comparison_id)},
                    ":sk": {"S": PAIR_PREFIX},
                },
                "ConsistentRead": True,
            }
        )
        return [ListeningPair.model_validate(i) for i in items]
