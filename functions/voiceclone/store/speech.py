"""Speech made with a cloned voice: ``SPEECH#<speech_id>``/``SPEECH``; gsi1 lists a voice's, newest first.

The list is per tenant (so a cursor of one tenant's list is no page of another's). Entering
SUCCEEDED counts the speech's characters in the tenant's usage (voiceclone.store.usage) in the
same transaction as the write that records it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voiceclone.domain.errors import NotFound
from voiceclone.domain.models import Speech, utcnow
from voiceclone.store.table import Table, item_of, version_is
from voiceclone.store.usage import UsageStore

SPEECH_SK = "SPEECH"


def speech_list_pk(tenant_id: str, voice_id: str) -> str:
    return f"TENANT#{tenant_id}#VOICE#{voice_id}#SPEECH"


class SpeechStore:
    def __init__(self, table: Table, usage: UsageStore) -> None:
        self.table = table
        self.usage = usage

    def item(self, speech: Speech) -> dict[str, Any]:
        return item_of(
            speech,
            pk=f"SPEECH#{speech.speech_id}",
            sk=SPEECH_SK,
            type="speech",
            gsi1pk=speech_list_pk(speech.tenant_id, speech.voice_id),
            gsi1sk=f"{speech.created_at.isoformat()}#{speech.speech_id}",
        )

    def put(self, speech: Speech) -> None:
        """Record a new speech and, once it SUCCEEDED, count its characters in the tenant's usage, at once.

        A speech still RUNNING (an async vendor) is counted when it is changed to SUCCEEDED.
        """
        put = {
            "Put": {
                "TableName": self.table.name,
                "Item": self.item(speech),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        self.table.client.transact_write_items(TransactItems=[put, *self.usage.count(speech)])  # type: ignore[list-item]

    def find(self, speech_id: str) -> Speech | None:
        """The speech of any tenant, or None (vendor callbacks name a speech, never a tenant)."""
        return self.table.read(Speech, f"SPEECH#{speech_id}", SPEECH_SK)

    def get(self, speech_id: str, tenant_id: str) -> Speech:
        """The speech, or NotFound: another tenant's speech is reported exactly like a missing one."""
        speech = self.find(speech_id)
        if speech is None or speech.tenant_id != tenant_id:
            raise NotFound("SpeechNotFound", f"no speech {speech_id}")
        return speech

    def _find_again(self, speech_id: str) -> Speech:
        speech = self.find(speech_id)
        if speech is None:
            raise NotFound("SpeechNotFound", f"speech {speech_id} vanished under the update")
        return speech

    def _write(self, updated: Speech, current: Speech) -> Speech:
        saved = updated.model_copy(update={"version": current.version + 1, "updated_at": utcnow()})
        put = {"Put": {"TableName": self.table.name, "Item": self.item(saved), **version_is(current.version)}}
        self.table.transact([put, *self.usage.count(saved)], f"speech {current.speech_id}")
        return saved

    def mutate(self, speech: Speech, change: Callable[[Speech], Speech | None]) -> Speech:
        """Change a speech just read (Table.change): the speech workflow's steps and the vendor callbacks.

        Entering SUCCEEDED counts the speech in the tenant's usage with the same write.
        """
        return self.table.change(
            lambda: self._find_again(speech.speech_id),
            self._write,
            change,
            f"speech {speech.speech_id}",
            first=speech,
        )

    def list(
        self, tenant_id: str, voice_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Speech], str | None]:
        """A page of what a voice spoke, newest first, and the cursor of the next page."""
        items, next_cursor = self.table.page(speech_list_pk(tenant_id, voice_id), limit, cursor)
        return [Speech.model_validate(i) for i in items], next_cursor
