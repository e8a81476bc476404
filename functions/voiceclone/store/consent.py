"""Consent: a voice's record (``VOICE#<voice_id>``/``CONSENT``) and the one-time phrases ever issued.

A phrase is claimed once for all time (``PHRASE#<digits>``/``PHRASE``, written in the same
transaction as the job that reads it: voiceclone.store.jobs.JobStore.create), so no two jobs ever
get the same phrase and an old recording of one cannot stand for another. The record is written
once, before the job's vendor task (a retried step finds it written), and changed once more when
the voice is deleted (voiceclone.domain.consent.ConsentRecord.forgotten).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from voiceclone.domain.consent import ConsentRecord
from voiceclone.domain.errors import NotFound
from voiceclone.domain.models import utcnow
from voiceclone.store.table import Table, conditional_failed, item_of, to_attrs

CONSENT_SK = "CONSENT"
PHRASE_SK = "PHRASE"


def phrase_claim(table_name: str, digits: str, job_id: str) -> dict[str, Any]:
    """The transaction item that claims a phrase for a job: it fails if any job ever had it."""
    return {
        "Put": {
            "TableName": table_name,
            "Item": to_attrs(
                {
                    "pk": f"PHRASE#{digits}",
                    "sk": PHRASE_SK,
                    "type": "consent_phrase",
                    "job_id": job_id,
                    "claimed_at": utcnow().isoformat(),
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


class ConsentStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    @staticmethod
    def item(record: ConsentRecord) -> dict[str, Any]:
        return item_of(record, pk=f"VOICE#{record.voice_id}", sk=CONSENT_SK, type="consent")

    def get(self, voice_id: str) -> ConsentRecord | None:
        return self.table.read(ConsentRecord, f"VOICE#{voice_id}", CONSENT_SK)

    def require(self, voice_id: str, tenant_id: str) -> ConsentRecord:
        """The record, or NotFound (another tenant's is reported exactly like a missing one)."""
        record = self.get(voice_id)
        if record is None or record.tenant_id != tenant_id:
            raise NotFound("ConsentNotFound", f"no consent on record for voice {voice_id}")
        return record

    def put(self, record: ConsentRecord) -> ConsentRecord:
        """Write the record unless one is there already; the record kept either way."""
        try:
            self.table.put_new(self.item(record))
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            existing = self.get(record.voice_id)
            assert existing is not None  # consent records are never removed, only emptied
            return existing
        return record

    def mutate(
        self, record: ConsentRecord, change: Callable[[ConsentRecord], ConsentRecord | None]
    ) -> ConsentRecord:
        """Change a record just read (Table.change: read again and retried when another writer won)."""

        def write(updated: ConsentRecord, current: ConsentRecord) -> ConsentRecord:
            saved = updated.model_copy(update={"version": current.version + 1})
            self.table.put_versioned(self.item(saved), current.version, f"consent of {record.voice_id}")
            return saved

        def read() -> ConsentRecord:
            return self.require(record.voice_id, record.tenant_id)

        return self.table.change(read, write, change, f"consent of {record.voice_id}", first=record)
