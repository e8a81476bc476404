"""Comparisons: ``CMP#<comparison_id>``/``COMPARISON``, one item holding its takes and its vendors.

gsi1 lists a tenant's comparisons newest first. The comparison claims its consent phrase in the
same transaction as its first write (its vendors' jobs then carry the phrase without claiming it
again). Every later write is the versioned read-change-write (voiceclone.store.table.Table.change):
intake recording takes and each vendor's end racing never overwrite each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from voiceclone.domain.comparison import Comparison
from voiceclone.domain.errors import NotFound, PhraseTaken
from voiceclone.domain.models import utcnow
from voiceclone.store.consent import phrase_claim
from voiceclone.store.table import Table, item_of

COMPARISON_SK = "COMPARISON"


def comparison_pk(comparison_id: str) -> str:
    return f"CMP#{comparison_id}"


class ComparisonStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    @staticmethod
    def item(comparison: Comparison) -> dict[str, Any]:
        return item_of(
            comparison,
            pk=comparison_pk(comparison.comparison_id),
            sk=COMPARISON_SK,
            type="comparison",
            gsi1pk=f"TENANT#{comparison.tenant_id}#COMPARISONS",
            gsi1sk=f"{comparison.created_at.isoformat()}#{comparison.comparison_id}",
        )

    def create(self, comparison: Comparison) -> None:
        """Write a new comparison, claiming its one-time phrase with it: PhraseTaken if any had it."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table.name,
                    "Item": self.item(comparison),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        digits = comparison.consent.phrase_digits
        if digits:
            items.append(phrase_claim(self.table.name, digits, comparison.comparison_id))
        try:
            self.table.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if digits and len(reasons) > 1 and reasons[1].get("Code") == "ConditionalCheckFailed":
                raise PhraseTaken("PhraseTaken", "the one-time phrase was issued before") from exc
            raise

    def get(self, comparison_id: str) -> Comparison | None:
        return self.table.read(Comparison, comparison_pk(comparison_id), COMPARISON_SK)

    def require(self, comparison_id: str, tenant_id: str | None = None) -> Comparison:
        """The comparison, or NotFound: another tenant's is reported exactly like a missing one."""
        found = self.get(comparison_id)
        if found is None or (tenant_id is not None and found.tenant_id != tenant_id):
            raise NotFound("ComparisonNotFound", f"no comparison {comparison_id}")
        return found

    def list(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Comparison], str | None]:
        """A page of the tenant's comparisons, newest first, and the cursor of the next page."""
        items, next_cursor = self.table.page(f"TENANT#{tenant_id}#COMPARISONS", limit, cursor)
        return [Comparison.model_validate(i) for i in items], next_cursor

    def save(self, comparison: Comparison, expected_version: int) -> Comparison:
        saved = comparison.model_copy(update={"version": expected_version + 1, "updated_at": utcnow()})
        self.table.put_versioned(self.item(saved), expected_version, f"comparison {comparison.comparison_id}")
        return saved

    def mutate(self, comparison_id: str, change: Callable[[Comparison], Comparison | None]) -> Comparison:
        """Read, change and write a comparison (Table.change); ``change`` returns None for no change."""
        return self.table.change(
            lambda: self.require(comparison_id),
            lambda updated, current: self.save(updated, current.version),
            change,
            f"comparison {comparison_id}",
        )

    def record_facts(self, comparison_id: str, vendor: str, facts: dict[str, Any]) -> None:
        """Keep what was measured of one vendor's voice on its entry (the view's ``facts``)."""

        def change(current: Comparison) -> Comparison | None:
            entry = current.vendor(vendor)
            if entry.facts == facts:
                return None
            vendors = [v.model_copy(update={"facts": facts}) if v is entry else v for v in current.vendors]
            return current.model_copy(update={"vendors": vendors})

        self.mutate(comparison_id, change)
