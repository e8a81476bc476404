"""Voices: ``VOICE#<voice_id>``/``VOICE``; gsi1 lists a tenant's voices newest first.

A voice is written once, with its job's SUCCEEDED (voiceclone.store.jobs.JobStore.complete), and
changed after (renamed, deleted) through the one versioned read-change-write.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from voiceclone.domain.errors import NotFound
from voiceclone.domain.models import Voice, utcnow
from voiceclone.store.table import Table, encode_cursor, from_attrs, item_of, page_start

VOICE_SK = "VOICE"


def voices_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#VOICES"


class VoiceStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    @staticmethod
    def item(voice: Voice) -> dict[str, Any]:
        return item_of(
            voice,
            pk=f"VOICE#{voice.voice_id}",
            sk=VOICE_SK,
            type="voice",
            gsi1pk=voices_pk(voice.tenant_id),
            gsi1sk=f"{voice.created_at.isoformat()}#{voice.voice_id}",
        )

    def get(self, voice_id: str) -> Voice | None:
        return self.table.read(Voice, f"VOICE#{voice_id}", VOICE_SK)

    def require(self, voice_id: str, tenant_id: str) -> Voice:
        """The voice, or NotFound: another tenant's voice is reported exactly like a missing one."""
        voice = self.get(voice_id)
        if voice is None or voice.tenant_id != tenant_id:
            raise NotFound("VoiceNotFound", f"no voice {voice_id}")
        return voice

    def save(self, voice: Voice, expected_version: int) -> Voice:
        """Write `voice` if nobody wrote it since `expected_version`; the saved copy has version + 1."""
        saved = voice.model_copy(update={"version": expected_version + 1, "updated_at": utcnow()})
        self.table.put_versioned(self.item(saved), expected_version, f"voice {voice.voice_id}")
        return saved

    def mutate(self, voice: Voice, change: Callable[[Voice], Voice | None]) -> Voice:
        """Change a voice just read (Table.change: read again and retried when another writer won)."""
        return self.table.change(
            lambda: self.require(voice.voice_id, voice.tenant_id),
            lambda updated, current: self.save(updated, current.version),
            change,
            f"voice {voice.voice_id}",
            first=voice,
        )

    def list(
        self,
        tenant_id: str,
        limit: int,
        cursor: str | None,
        matches: Callable[[Voice], bool] = lambda _: True,
    ) -> tuple[list[Voice], str | None]:
        """Up to `limit` of the tenant's voices that `matches`, newest first, and the next page's cursor.

        Filters apply after the read (a tenant has few voices), so a page is filled from as
        many reads as it takes; the cursor is the key of the last voice returned.
        """
        pk = voices_pk(tenant_id)
        start = page_start(cursor, pk)
        found: list[Voice] = []
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table.name,
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "ScanIndexForward": False,
                "Limit": limit,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            resp = self.table.client.query(**kwargs)
            for item in resp.get("Items", []):
                voice = Voice.model_validate(from_attrs(item))
                if not matches(voice):
                    continue
                found.append(voice)
                if len(found) == limit:
                    last_key = {k: item[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
                    return found, encode_cursor(last_key)
            start = resp.get("LastEvaluatedKey")
            if not start:
                return found, None

    def clone_counts(self, tenant_id: str, start: date, end: date) -> dict[str, int]:
        """vendor -> voices the tenant cloned from `start` to `end` (deleted ones too: they were made)."""
        items = self.table.query_all(
            {
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi",
                "ExpressionAttributeValues": {
                    ":pk": {"S": voices_pk(tenant_id)},
                    ":lo": {"S": start.isoformat()},
                    ":hi": {"S": end.isoformat() + "~"},
                },
                "ProjectionExpression": "vendor",
            }
        )
        counts: dict[str, int] = {}
        for item in items:
            counts[str(item["vendor"])] = counts.get(str(item["vendor"]), 0) + 1
        return counts
