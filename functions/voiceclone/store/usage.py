"""Usage counters: ``TENANT#<tenant_id>``/``USAGE#<day>#<vendor>``, characters and speech requests per day.

A speech is counted in the same transaction that records it SUCCEEDED (voiceclone.store.speech),
so a speech is billed exactly once however often its callbacks and retries come; counters are
read per period in one query, sorted by day.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from voiceclone.domain.models import Speech, SpeechStatus
from voiceclone.store.table import Table


def usage_sk(day: str, vendor: str) -> str:
    """A tenant's usage counters of one day and vendor; sorted by day, so a period is one query."""
    return f"USAGE#{day}#{vendor}"


class UsageStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def count(self, speech: Speech) -> list[dict[str, Any]]:
        """The counter update of a SUCCEEDED speech, to write with it (none for one RUNNING or FAILED)."""
        if speech.status is not SpeechStatus.SUCCEEDED:
            return []
        day = speech.created_at.date().isoformat()
        return [
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": {
                        "pk": {"S": f"TENANT#{speech.tenant_id}"},
                        "sk": {"S": usage_sk(day, speech.vendor)},
                    },
                    # ADD is atomic: concurrent requests each count, none overwrites another.
                    "UpdateExpression": "ADD characters :c, speech_requests :one "
                    "SET #type = :type, vendor = :vendor, #day = :day, tenant_id = :tenant",
                    "ExpressionAttributeNames": {"#type": "type", "#day": "day"},
                    "ExpressionAttributeValues": {
                        ":c": {"N": str(speech.characters)},
                        ":one": {"N": "1"},
                        ":type": {"S": "usage"},
                        ":vendor": {"S": speech.vendor},
                        ":day": {"S": day},
                        ":tenant": {"S": speech.tenant_id},
                    },
                }
            },
        ]

    def speech(self, tenant_id: str, start: date, end: date) -> dict[str, tuple[int, int]]:
        """vendor -> (characters, speech requests) of the tenant from `start` to `end`, both days included."""
        items = self.table.query_all(
            {
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
                "ExpressionAttributeValues": {
                    ":pk": {"S": f"TENANT#{tenant_id}"},
                    ":lo": {"S": usage_sk(start.isoformat(), "")},
                    ":hi": {"S": usage_sk(end.isoformat(), "~")},
                },
            }
        )
        totals: dict[str, tuple[int, int]] = {}
        for item in items:
            chars, requests = totals.get(str(item["vendor"]), (0, 0))
            totals[str(item["vendor"])] = (
                chars + int(item.get("characters", 0)),
                requests + int(item.get("speech_requests", 0)),
            )
        return totals
