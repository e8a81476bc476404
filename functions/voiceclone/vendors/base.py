"""The vendor interface: what every adapter offers, and the capabilities that pick the workflow path."""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum
from typing import ClassVar, Literal, Self

from pydantic import BaseModel, Field

from voiceclone.domain.models import Gender, Language, SentenceCheck, TrainingText, VendorVoice


class Capabilities(BaseModel):
    """What the workflow needs to know about a vendor, without knowing the vendor."""

    # "vendor": each sentence is checked by the vendor (and locally first); "local": only our own check.
    sentence_check: Literal["vendor", "local"]
    # "callback": the vendor calls us when training ends (polling remains the fallback).
    completion: Literal["callback", "polling"]
    # How audio reaches the vendor: in the request, by a URL it downloads, or uploaded to its URLs.
    audio_transport: Literal["inline", "url", "upload"]
    audio_files: Literal["per_sentence", "single"]
    sentence_count: int
    sample_rate: int = 16000
    min_sentence_seconds: float = 1.0
    max_sentence_seconds: float = 15.0


class TrainingState(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def finished(self) -> bool:
        return self in (TrainingState.SUCCEEDED, TrainingState.FAILED)


class TrainingStatus(BaseModel):
    task_id: str
    state: TrainingState
    vendor_state: str = ""
    voice: VendorVoice | None = None
    error_code: str = ""
    error_message: str = ""


class CheckedSentence(BaseModel):
    text_id: str
    s3_key: str
    vendor_audio_id: str | None = None


class TrainingRequest(BaseModel):
    job_id: str
    # Unique per job and stable across retries, so a vendor can recognise a repeated create.
    session_id: str
    voice_name: str
    gender: Gender
    language: Language
    sentences: list[CheckedSentence] = Field(min_length=1)
    callback_url: str | None = None


class VendorAdapter(ABC):
    vendor_id: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    @classmethod
    @abstractmethod
    def from_environment(cls) -> Self:
        """The adapter configured from the environment (endpoint, credentials)."""

    @abstractmethod
    def training_texts(self) -> list[TrainingText]:
        """The sentences a speaker reads, in order."""

    @abstractmethod
    def check_sentence(self, text_id: str, audio: bytes) -> SentenceCheck:
        """The vendor's verdict on one recorded sentence (only for sentence_check == "vendor")."""

    @abstractmethod
    def create_task(self, request: TrainingRequest) -> str:
        """Start training; returns the vendor's task id."""

    @abstractmethod
    def get_status(self, task_id: str) -> TrainingStatus:
        """Where training stands now."""

    @abstractmethod
    def parse_callback(self, body: bytes) -> TrainingStatus:
        """Read a vendor callback body. Treat it as a hint: confirm with get_status before acting."""
