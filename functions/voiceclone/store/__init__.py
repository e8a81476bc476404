"""DynamoDB access, the only code that talks to the table: one store per record kind over one table.

Every kind (jobs and sentences, voices, speech, usage counters, API keys and webhook secrets,
tenant settings, consent records and the phrases claimed, comparisons and their listening pairs)
keeps its items through voiceclone.store.table, whose ``Table.change`` is the one versioned
read-change-write: a callback and a poller racing never overwrite each other's update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voiceclone.store.account import AccountStore
from voiceclone.store.comparisons import ComparisonStore
from voiceclone.store.consent import ConsentStore
from voiceclone.store.jobs import JobStore
from voiceclone.store.listening import ListeningStore
from voiceclone.store.speech import SpeechStore
from voiceclone.store.table import Table
from voiceclone.store.tenants import TenantStore
from voiceclone.store.usage import UsageStore
from voiceclone.store.voices import VoiceStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class Store:
    """The table's record kinds: ``jobs``, ``voices``, ``speech``, ``usage``, ``account``, ``tenants``,
    ``consent``, ``comparisons`` and ``listening`` (a comparison's blind pairs)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table = Table(table_name, client)
        self.jobs = JobStore(self.table)
        self.voices = VoiceStore(self.table)
        self.usage = UsageStore(self.table)
        self.speech = SpeechStore(self.table, self.usage)
        self.account = AccountStore(self.table)
        self.tenants = TenantStore(self.table)
        self.consent = ConsentStore(self.table)
        self.comparisons = ComparisonStore(self.table)
        self.listening = ListeningStore(self.table)
