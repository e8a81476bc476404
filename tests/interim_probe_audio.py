"""INTERIM, removed when the comparison workflow measures each ready voice and keeps its probe audio.

Until that step is in the workflow, nothing puts facts with probe audio on a comparison, and blind
listening has nothing to play. :class:`ProbeAudioUntilTheWorkflowKeepsIt` does in the tests what that
step will do in the workflow, and only that: for each vendor of a comparison that is READY with no
facts yet, it speaks the probes through the vendor's adapter (voiceclone.logic.comparisons.facts.measure,
the real measurement on the stack's sandbox), keeps each probe's audio as a 16-bit mono WAV under
``probe_audio_key`` and records the facts with each probe's ``audio_key`` on the comparison. The tests
wait for the facts to appear on the comparison, as they will once the workflow records them; the
merge of the workflow's step removes this module and the fixtures that start it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from voiceclone.domain.audio import wav_file
from voiceclone.domain.comparison import VendorOutcome
from voiceclone.domain.models import Voice
from voiceclone.domain.probes import PROBES, Probe
from voiceclone.logic.comparisons import facts as facts_module
from voiceclone.logic.comparisons.facts import Pace, measure
from voiceclone.logic.core.keys import probe_audio_key
from voiceclone.store import Store
from voiceclone.store.comparisons import COMPARISON_SK
from voiceclone.vendors.registry import get_adapter

# A few probes keep it short: a number, a polyphone, a question.
FEW = tuple(p for p in PROBES if p.id in ("numbers-phone", "polyphone-xing", "question"))


def measure_ready_voices(store: Store, s3: Any, bucket: str, comparison_id: str) -> int:
    """Measure each READY vendor without facts, keep its probe audio, record the facts; how many were."""
    comparison = store.comparisons.require(comparison_id)
    done = 0
    for entry in comparison.vendors:
        if entry.outcome is not VendorOutcome.READY or entry.facts is not None or not entry.voice_id:
            continue
        voice = store.voices.get(entry.voice_id)
        if voice is not None:
            document = _measured_with_audio(s3, bucket, comparison.tenant_id, comparison_id, voice)
            store.comparisons.record_facts(comparison_id, voice.vendor, document)
            done += 1
    return done


def _measured_with_audio(
    s3: Any, bucket: str, tenant_id: str, comparison_id: str, voice: Voice
) -> dict[str, Any]:
    """The voice's facts, each spoken probe's audio kept under its key (the PCM measure() measured)."""
    audio: dict[str, tuple[int, bytes]] = {}
    original = facts_module._measured

    def keeping(probe: Probe, spoken: Any) -> Any:
        audio[probe.id] = (spoken.sample_rate, spoken.pcm)
        return original(probe, spoken)

    with mock.patch.object(facts_module, "_measured", keeping):
        measured = measure(
            get_adapter(voice.vendor),
            voice.vendor_voice,
            FEW,
            language=voice.language,
            pace=Pace(0.2, 0.5),
            tag=comparison_id,
        )
    probes = []
    for probe in measured.probes:
        if probe.ok and probe.probe_id in audio:
            key = probe_audio_key(tenant_id, comparison_id, voice.vendor, probe.probe_id)
            rate, pcm = audio[probe.probe_id]
            s3.put_object(Bucket=bucket, Key=key, Body=wav_file(rate, pcm), ContentType="audio/wav")
            probe = probe.model_copy(update={"audio_key": key})
        probes.append(probe)
    document: dict[str, Any] = measured.model_copy(update={"probes": probes}).model_dump(mode="json")
    return document


class ProbeAudioUntilTheWorkflowKeepsIt:
    """A thread that measures the ready voices of the comparisons it is given, as the workflow will."""

    def __init__(self, store: Store, s3: Any, bucket: str) -> None:
        self.store, self.s3, self.bucket = store, s3, bucket
        self.comparisons: set[str] = set()
        self.every = False
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="interim-probe-audio", daemon=True)

    def watch(self, comparison_id: str) -> None:
        self.comparisons.add(comparison_id)

    def watch_every_comparison(self) -> None:
        """Every comparison of the table, as they come (a stack in a process of its own)."""
        self.every = True

    def _watched(self) -> list[str]:
        if not self.every:
            return list(self.comparisons)
        table = self.store.table
        items = table.client.scan(
            TableName=table.name,
            FilterExpression="sk = :sk",
            ExpressionAttributeValues={":sk": {"S": COMPARISON_SK}},
            ProjectionExpression="comparison_id",
        )["Items"]
        return [i["comparison_id"]["S"] for i in items]

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for comparison_id in self._watched():
                try:
                    measure_ready_voices(self.store, self.s3, self.bucket, comparison_id)
                except Exception as exc:  # kept for the test to report; the loop goes on
                    self.errors.append(exc)

    @contextmanager
    def running(self) -> Iterator[ProbeAudioUntilTheWorkflowKeepsIt]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=60)


def main() -> int:
    """`voiceclone local up` with this stand-in running beside it, for the browser tests' own child
    stack; it also prints where the stack's AWS (moto) is, its table and its bucket."""
    import time

    from voiceclone_local.stack import LocalStack

    stack = LocalStack().start()
    try:
        print(f"voiceclone local stack is up: API {stack.api_url}", flush=True)
        print(f"  export VOICECLONE_API_URL={stack.api_url}", flush=True)
        print(f"  export VOICECLONE_API_KEY={stack.api_key}", flush=True)
        print(f"  studio (record a voice in the browser): {stack.studio_url}", flush=True)
        print(f"  moto {stack.moto_url} table {stack.table_name} bucket {stack.bucket_name}", flush=True)
        watcher = ProbeAudioUntilTheWorkflowKeepsIt(
            Store(stack.table_name, stack.client("dynamodb")), stack.client("s3"), stack.bucket_name
        )
        watcher.watch_every_comparison()
        with watcher.running():
            print("Ctrl-C stops it.", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        for error in watcher.errors:
            print(f"interim probe audio failed: {error!r}", flush=True)
    finally:
        stack.stop()
    return 0
