"""Soak: many clones and speeches on one local stack, every vendor, while the sandboxes fail at random.

`make soak` (`SEED=…` to replay a run's dice). One local stack runs JOBS training jobs spread over
the vendors and SPEECHES speech requests with their voices, over about MINUTES, while each vendor
sandbox throttles, fails, answers late, drops connections and loses or repeats callbacks at random
(one seeded random.Random per sandbox, base.FaultDice) and a hostile client (benchmarks/hostile.py)
mixes in bad input. After a drain it prints one table (docs/soak.md says how to read it) and exits
1 when a must fails: something left non-terminal, a fault kind never injected where it applies, a
5xx to client input, usage that does not match the speech delivered, Qiniu speech not refused 409.
"""

from __future__ import annotations

import argparse
import gc
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import hostile  # noqa: E402 - after the path fix above
from benchmarks.load import RssSampler, rss_bytes  # noqa: E402

SAMPLES = ROOT / "samples" / "tencent_vrs"
LETTER = ROOT / "samples" / "authorization-letter.pdf"

# The service's vendor timeout for the run (a late answer is held one second longer), and the wait
# for a training callback before polling: short, so faults cost seconds, not minutes.
VENDOR_TIMEOUT_SECONDS = 4
CONTEXT: dict[str, Any] = {
    "voiceclone:vendorTimeoutSeconds": VENDOR_TIMEOUT_SECONDS,
    "voiceclone:callbackTimeoutSeconds": 10,
}
# Per request (a refusal only where the request authenticates) and per callback. Besides these draws,
# every sandbox gets one of each kind armed at a random moment of the run's first 40 % (arm_once):
# a vendor called rarely (Qiniu, about ten calls a job) or calling back once a job (Tencent VRS)
# meets every kind too.
RATES: dict[str, float] = {
    "throttle": 0.03,
    "internal": 0.03,
    "unavailable": 0.03,
    "timeout": 0.02,
    "dropped": 0.03,
    "lost_callback": 0.15,
    "duplicate_callback": 0.15,
}
JOB_STATES = ("SUCCEEDED", "FAILED", "CHECK_FAILED", "CANCELLED", "EXPIRED")
WAITING_JOB_STATES = ("AWAITING_AUDIO", "CHECKING", "TRAINING")
SPEECH_STATES = ("SUCCEEDED", "FAILED")
CREATE_TRIES = 6  # a good client retries a create the vendor's fault refused (5xx)
POLL_SECONDS = 3.0


@dataclass
class Plan:
    seed: int
    jobs: int
    speeches: int
    minutes: float
    drain_minutes: float


@dataclass
class Ledger:
    """What the soak's clients made and saw, shared by their threads."""

    vendors: Sequence[str]
    speech_modes: dict[str, str]  # vendor -> "sync", "async" or "none" (its adapter's capabilities)
    lock: threading.Lock = field(default_factory=threading.Lock)
    job_vendor: dict[str, str] = field(default_factory=dict)
    job_status: dict[str, str] = field(default_factory=dict)
    job_errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    voices: dict[str, list[str]] = field(default_factory=dict)
    voice_vendor: dict[str, str] = field(default_factory=dict)
    speech_vendor: dict[str, str] = field(default_factory=dict)
    speech_chars: dict[str, int] = field(default_factory=dict)
    speech_status: dict[str, str] = field(default_factory=dict)
    speech_by_hostile: set[str] = field(default_factory=set)  # made by a hostile request the service took
    # Answers to the good client's requests that made nothing: (vendor, "POST /v1/jobs 503 Timeout")...
    refusals: Counter[tuple[str, str]] = field(default_factory=Counter)
    speeches_asked: Counter[str] = field(default_factory=Counter)
    # Jobs planned and started per vendor: a speech waits for a voice while its vendor may still make one.
    jobs_planned: Counter[str] = field(default_factory=Counter)
    jobs_started: Counter[str] = field(default_factory=Counter)
    bad_answers: list[hostile.Answer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def world(self) -> hostile.World:
        with self.lock:
            voices = {v: list(ids) for v, ids in self.voices.items()}
            return hostile.World(voices, list(self.job_vendor), list(self.vendors))

    def add_speech(
        self, speech_id: str, vendor: str, characters: int, status: str, by_hostile: bool = False
    ) -> None:
        with self.lock:
            self.speech_vendor[speech_id] = vendor
            self.speech_chars[speech_id] = characters
            self.speech_status[speech_id] = status
            if by_hostile:
                self.speech_by_hostile.add(speech_id)

    def refused(self, vendor: str, what: str, response: Any) -> None:
        with self.lock:
            self.refusals[(vendor, f"{what} {response.status_code} {hostile.error_of(response)}")] += 1

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


# ----- the good client -------------------------------------------------------------------------------


def clone(api: Any, uploads: Any, ledger: Ledger, vendor: str, index: int) -> None:
    """Create a job (again after a vendor's 5xx, as a client would), upload its documents and sentences."""
    from voiceclone_cli.client import ApiError
    from voiceclone_cli.stand_in import write_consent_take

    body = {
        "vendor": vendor,
        "voice_name": f"soak {index}",
        "speaker_name": f"soak speaker {index}",
        "gender": "female",
        "language": "zh-CN",
    }
    for attempt in range(CREATE_TRIES):
        created = api.post("/v1/jobs", json=body)
        if created.status_code == 201:
            break
        ledger.refused(vendor, "POST /v1/jobs", created)
        if created.status_code < 500:
            ledger.problem(
                f"{vendor}: a valid job create answered {created.status_code}: {created.text[:200]}"
            )
            return
        time.sleep(2**attempt)
    else:
        return
    job = created.json()
    with ledger.lock:
        ledger.job_vendor[job["job_id"]] = vendor
        ledger.job_status[job["job_id"]] = job["status"]
    try:
        for document in job["documents"]:
            uploads.upload(document["upload"], LETTER)
        with tempfile.TemporaryDirectory() as tmp:
            consent = write_consent_take(job, Path(tmp))  # the stand-in reads the statement
            for sentence in job["sentences"]:
                text_id = sentence["text_id"]
                uploads.upload(
                    sentence["upload"], consent if text_id == "consent" else SAMPLES / f"{text_id}.wav"
                )
    except ApiError as exc:
        ledger.problem(f"{vendor} job {job['job_id']}: upload refused: {exc}")


def speak(api: Any, ledger: Ledger, vendor: str, text: str, rng: random.Random, deadline: float) -> None:
    """One speech request with a ready voice of ``vendor``, waiting for one to be cloned first.

    Asked of every vendor: one that offers no speech owes the honest 409 (Qiniu).
    """
    while True:
        with ledger.lock:
            voices = list(ledger.voices.get(vendor, []))
            may_come = ledger.jobs_started[vendor] < ledger.jobs_planned[vendor] or any(
                ledger.job_vendor[j] == vendor and ledger.job_status[j] in WAITING_JOB_STATES
                for j in ledger.job_vendor
            )
        if voices or not may_come or time.monotonic() > deadline:
            break
        time.sleep(1)
    with ledger.lock:
        ledger.speeches_asked[vendor] += 1
    if not voices:
        ledger.problem(f"{vendor}: no voice to speak with (every job of the vendor ended without one)")
        return
    voice = rng.choice(voices)
    # A synchronous vendor's audio in the response now and then (Accept: audio/wav).
    sync = ledger.speech_modes[vendor] == "sync"
    headers = {"Accept": "audio/wav"} if sync and rng.random() < 0.2 else {}
    answer = api.post(f"/v1/voices/{voice}/speech", json={"text": text}, headers=headers)
    if answer.status_code in (201, 202):
        speech_id = answer.headers.get("voiceclone-speech-id") or answer.json()["speech_id"]
        status = "SUCCEEDED" if answer.status_code == 201 else "RUNNING"
        ledger.add_speech(speech_id, vendor, len(text), status)
        return
    ledger.refused(vendor, "POST speech", answer)
    if answer.status_code < 500 and not (answer.status_code == 409 and ledger.speech_modes[vendor] == "none"):
        ledger.problem(f"{vendor}: valid speech answered {answer.status_code}: {answer.text[:200]}")


def speech_text(rng: random.Random) -> str:
    """One, two or three sentences of the script, or eight (more than Tencent takes in one call)."""
    from voiceclone.domain.script import STANDARD_SCRIPT

    count = rng.choices((1, 2, 3, 8), weights=(50, 20, 15, 15))[0]
    start = rng.randrange(len(STANDARD_SCRIPT) - count)
    return "。".join(t.text for t in STANDARD_SCRIPT[start : start + count]) + "。"


# ----- watching ------------------------------------------------------------------------------------


def watch_once(client: Any, ledger: Ledger) -> None:
    """Every job's status from the job list, the voices it made, and each running speech's status."""
    cursor = None
    while True:
        page = client.list_jobs(limit=100, cursor=cursor)
        with ledger.lock:
            for job in page["items"]:
                job_id = job["job_id"]
                if job_id not in ledger.job_vendor:
                    continue
                ledger.job_status[job_id] = job["status"]
                voice = job.get("voice_id")
                if job["status"] == "SUCCEEDED" and voice and voice not in ledger.voice_vendor:
                    ledger.voice_vendor[voice] = job["vendor"]
                    ledger.voices.setdefault(job["vendor"], []).append(voice)
        cursor = page.get("next_cursor")
        if not cursor:
            break
    with ledger.lock:
        running = [s for s, status in ledger.speech_status.items() if status == "RUNNING"]
    for speech_id in running:
        view = client.get_speech(speech_id)
        with ledger.lock:
            ledger.speech_status[speech_id] = view["status"]


def unsettled(ledger: Ledger) -> int:
    with ledger.lock:
        jobs = sum(1 for s in ledger.job_status.values() if s in WAITING_JOB_STATES)
        speeches = sum(1 for s in ledger.speech_status.values() if s == "RUNNING")
    return jobs + speeches


@contextmanager
def watching(client: Any, ledger: Ledger) -> Iterator[None]:
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(POLL_SECONDS):
            try:
                watch_once(client, ledger)
            except Exception as exc:  # noqa: BLE001 - a failed look is reported, the watch goes on
                ledger.problem(f"watching: {type(exc).__name__}: {exc}")

    thread = threading.Thread(target=run, name="soak-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# ----- the run -------------------------------------------------------------------------------------


def at_times(start: float, count: int, span: float) -> list[float]:
    """``count`` moments spread evenly over ``span`` seconds from ``start``."""
    return [start + span * i / max(1, count) for i in range(count)]


def wait_until(moment: float, stop: threading.Event) -> bool:
    return not stop.wait(max(0.0, moment - time.monotonic()))


def run_hostile(api: Any, key: str, ledger: Ledger, rng: random.Random, moments: list[float]) -> None:
    """One hostile request at each moment; a case that has nothing to build on yet is skipped."""
    sync = [vendor for vendor, mode in ledger.speech_modes.items() if mode == "sync"]
    all_cases = hostile.cases(list(ledger.vendors), sync)
    never = threading.Event()
    for moment in moments:
        wait_until(moment, never)
        world = ledger.world()
        for case in rng.sample(all_cases, len(all_cases)):
            request = case.build(world, rng)
            if request is not None:
                break
        else:
            continue
        response = hostile.send(api, key, request)
        with ledger.lock:
            voice_vendors = dict(ledger.voice_vendor)
        answer = hostile.judge(case, request, response, voice_vendors)
        with ledger.lock:
            ledger.bad_answers.append(answer)
        if answer.speech_id:
            status = "SUCCEEDED" if response.status_code == 201 else "RUNNING"
            characters = len(str((request.json_body or {}).get("text", "")))
            ledger.add_speech(answer.speech_id, answer.vendor, characters, status, by_hostile=True)
        if answer.job_id:  # a bad create the service took: not left waiting for recordings
            api.post(f"/v1/jobs/{answer.job_id}/cancel", headers={"Authorization": f"Bearer {key}"})


# A moment of the run and what happens then (a job started, a speech asked for, a fault armed).
Moment = tuple[float, Callable[[], None]]


def arm_once(sandboxes: dict[str, Any], rng: random.Random, start: float, span: float) -> list[Moment]:
    """One of each fault kind per sandbox, armed at a random moment of the first 40 % of the run."""
    from voiceclone_local.sandboxes.knobs import Fault

    def arm(sandbox: Any, fault: Fault) -> Callable[[], None]:
        return lambda: sandbox.arm(fault)

    return [
        (start + span * rng.uniform(0.0, 0.4), arm(sandbox, fault))
        for _, sandbox in sorted(sandboxes.items())
        for fault in Fault
    ]


def sandbox_configs(seed: int) -> dict[str, Any]:
    """Each vendor's local sandbox configuration, with the run's random faults."""
    from voiceclone.vendors.registry import vendor_ids
    from voiceclone_local.sandboxes.base import SandboxBase
    from voiceclone_local.sandboxes.knobs import FaultRates

    configs: dict[str, Any] = {}
    for vendor in vendor_ids():
        cls = SandboxBase.for_vendor(vendor)
        if cls is not None:
            update = {"fault_rates": FaultRates(**RATES), "fault_seed": seed}
            configs[vendor] = cls.local_config().model_copy(update=update)
    return configs


def soak(plan: Plan) -> Report:
    import httpx
    from voiceclone.vendors.registry import capabilities, vendor_ids
    from voiceclone_cli.client import VoicecloneClient
    from voiceclone_local.stack import LocalStack

    vendors = list(vendor_ids())
    rng = random.Random(plan.seed)
    order = [vendors[i % len(vendors)] for i in range(plan.jobs)]
    rng.shuffle(order)
    speech_order = [vendors[i % len(vendors)] for i in range(plan.speeches)]
    rng.shuffle(speech_order)
    modes: dict[str, str] = {vendor: capabilities(vendor).speech for vendor in vendors}
    ledger = Ledger(vendors, modes, jobs_planned=Counter(order))
    started_at = datetime.now(UTC)

    with LocalStack(context=CONTEXT, sandbox_configs=sandbox_configs(plan.seed), quiet=True) as stack:
        gc.collect()
        rss_start = rss_bytes()
        key = stack.issue_api_key(f"soak-{plan.seed}")
        client = VoicecloneClient(stack.api_url, api_key=key, timeout=120)
        api = httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=120)
        raw = httpx.Client(base_url=stack.api_url, timeout=120)
        span = plan.minutes * 60
        t0 = time.monotonic()
        job_moments = at_times(t0, plan.jobs, span * 0.5)
        speech_moments = at_times(t0 + span * 0.1, plan.speeches, span * 0.8)
        hostile_moments = at_times(t0 + span * 0.05, int(span / 1.5), span * 0.9)
        sampler = RssSampler(interval=2.0)
        never = threading.Event()

        def start_job(index: int) -> Callable[[], None]:
            def go() -> None:
                with ledger.lock:
                    ledger.jobs_started[order[index]] += 1
                clone(api, client, ledger, order[index], index)

            return go

        def start_speech(index: int) -> Callable[[], None]:
            text = speech_text(rng)
            speaker = random.Random(rng.random())
            return lambda: speak(api, ledger, speech_order[index], text, speaker, t0 + span * 1.5)

        # Jobs and speech in pools of their own: speech waiting for a voice never holds up the jobs
        # that make the voices.
        with (
            sampler.running(),
            watching(client, ledger),
            ThreadPoolExecutor(max_workers=6, thread_name_prefix="soak-job") as jobs_pool,
            ThreadPoolExecutor(max_workers=12, thread_name_prefix="soak-speech") as speech_pool,
        ):
            bad = threading.Thread(
                target=run_hostile,
                args=(raw, key, ledger, random.Random(rng.random()), hostile_moments),
                name="soak-hostile",
            )
            bad.start()
            futures: list[Future[None]] = []

            def submit(pool: ThreadPoolExecutor, work: Callable[[], None]) -> Callable[[], None]:
                return lambda: futures.append(pool.submit(work))

            timeline = sorted(
                [(m, submit(jobs_pool, start_job(i))) for i, m in enumerate(job_moments)]
                + [(m, submit(speech_pool, start_speech(i))) for i, m in enumerate(speech_moments)]
                + arm_once(stack.sandboxes, rng, t0, span),
                key=lambda pair: pair[0],
            )
            for moment, happen in timeline:
                wait_until(moment, never)
                happen()
            for future in futures:
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 - a client that broke is a finding, the run goes on
                    ledger.problem(f"client: {type(exc).__name__}: {exc}")
            bad.join()
            drain_deadline = time.monotonic() + plan.drain_minutes * 60
            while unsettled(ledger) and time.monotonic() < drain_deadline:
                time.sleep(POLL_SECONDS)
        watch_once(client, ledger)
        ran_seconds = time.monotonic() - t0
        report = collect(stack, client, ledger, plan, started_at, ran_seconds)
        gc.collect()
        report.rss = (rss_start, sampler.peak, rss_bytes())
    return report


# ----- the report ----------------------------------------------------------------------------------


@dataclass
class Report:
    plan: Plan
    started_at: datetime
    seconds: float
    vendors: list[str]
    speech_modes: dict[str, str]
    jobs: dict[str, Counter[str]]  # vendor -> final status -> count
    job_errors: Counter[tuple[str, str]]  # (vendor, error code) of FAILED jobs
    speeches: dict[str, Counter[str]]  # vendor -> outcome -> count (the good client's requests)
    speeches_by_hostile: Counter[str]  # status -> count of speech made by hostile requests
    faults: dict[str, dict[str, int]]  # vendor -> kind -> injected
    calls: dict[str, int]  # vendor -> requests its sandbox served
    trainings: dict[str, int]  # vendor -> training tasks its sandbox created (one a job, retries or not)
    callbacks: dict[str, bool]  # vendor -> sends callbacks (training or speech)
    usage: dict[str, int]  # vendor -> characters the service counted
    delivered: dict[str, int]  # vendor -> characters of SUCCEEDED speech
    executions_running: int
    bad_answers: list[hostile.Answer]
    unreadable_at_vendor: list[str]  # unreadable texts a vendor was asked to speak
    refusals: Counter[tuple[str, str]]
    problems: list[str]
    rss: tuple[int, int, int] = (0, 0, 0)

    def stuck(self) -> int:
        jobs = sum(c[s] for c in self.jobs.values() for s in WAITING_JOB_STATES)
        speeches = sum(c["RUNNING"] for c in self.speeches.values()) + self.speeches_by_hostile["RUNNING"]
        return jobs + speeches + self.executions_running

    def missing_faults(self) -> list[str]:
        from voiceclone_local.sandboxes.knobs import CALLBACK_FAULTS

        callback_kinds = {kind.value for kind in CALLBACK_FAULTS}
        return [
            f"{kind} at {vendor}"
            for vendor, kinds in self.faults.items()
            for kind, count in kinds.items()
            if count == 0 and (kind not in callback_kinds or self.callbacks.get(vendor))
        ]

    def input_5xx(self) -> list[hostile.Answer]:
        return [a for a in self.bad_answers if a.verdict == "5xx"]

    def usage_mismatch(self) -> list[str]:
        return [
            f"{v}: usage {self.usage.get(v, 0)}, delivered {self.delivered.get(v, 0)}"
            for v in self.vendors
            if self.usage.get(v, 0) != self.delivered.get(v, 0)
        ]

    def unoffered_speech_not_409(self) -> int:
        """Speech asked of a vendor that offers none (Qiniu) and answered other than 409."""
        return sum(
            n
            for vendor, mode in self.speech_modes.items()
            if mode == "none"
            for outcome, n in self.speeches.get(vendor, Counter()).items()
            if outcome not in ("asked", "409 SpeechNotOffered")
        )

    def musts(self) -> list[tuple[str, bool, str]]:
        """(what, held, detail) for each condition the run must meet."""
        return [
            ("nothing stuck after the drain", self.stuck() == 0, f"{self.stuck()} stuck"),
            (
                "every fault kind injected where it applies",
                not self.missing_faults(),
                _list(self.missing_faults()),
            ),
            ("no 5xx to client input", not self.input_5xx(), f"{len(self.input_5xx())} answers"),
            ("usage = speech delivered, per vendor", not self.usage_mismatch(), _list(self.usage_mismatch())),
            (
                "speech where none is offered (Qiniu) refused 409",
                self.unoffered_speech_not_409() == 0,
                f"{self.unoffered_speech_not_409()} not",
            ),
        ]

    def passed(self) -> bool:
        return all(held for _, held, _ in self.musts())


def _list(items: list[str]) -> str:
    return ", ".join(items[:6]) + (f" (+{len(items) - 6})" if len(items) > 6 else "") if items else "none"


def collect(
    stack: Any, client: Any, ledger: Ledger, plan: Plan, started_at: datetime, seconds: float
) -> Report:
    """The final state of everything the run made, read back through the API and the sandboxes."""
    today = datetime.now(UTC).date().isoformat()
    usage = client.usage(started_at.date().isoformat(), today)
    by_vendor = {row["vendor"]: int(row.get("characters", 0)) for row in usage.get("vendors", [])}
    jobs: dict[str, Counter[str]] = {v: Counter() for v in ledger.vendors}
    job_errors: Counter[tuple[str, str]] = Counter()
    for job_id, vendor in ledger.job_vendor.items():
        job = client.get_job(job_id)
        jobs[vendor][job["status"]] += 1
        if job["status"] == "FAILED":
            job_errors[(vendor, str((job.get("error") or {}).get("code") or "?"))] += 1
    speeches: dict[str, Counter[str]] = {v: Counter() for v in ledger.vendors}
    delivered: Counter[str] = Counter()
    for vendor, asked in ledger.speeches_asked.items():
        speeches[vendor]["asked"] += asked
    by_hostile: Counter[str] = Counter()
    for speech_id, vendor in ledger.speech_vendor.items():
        view = client.get_speech(speech_id)
        if speech_id in ledger.speech_by_hostile:
            by_hostile[view["status"]] += 1
        else:
            speeches[vendor][view["status"]] += 1
        if view["status"] == "SUCCEEDED":
            delivered[vendor] += ledger.speech_chars[speech_id]
    for (vendor, what), count in ledger.refusals.items():
        if what.startswith("POST speech"):
            speeches[vendor][what.removeprefix("POST speech ")] += count
    return Report(
        plan=plan,
        started_at=started_at,
        seconds=seconds,
        vendors=list(ledger.vendors),
        speech_modes=dict(ledger.speech_modes),
        jobs=jobs,
        job_errors=job_errors,
        speeches=speeches,
        speeches_by_hostile=by_hostile,
        faults={v: s.faults_injected for v, s in stack.sandboxes.items()},
        calls={v: sum(s.requests.values()) for v, s in stack.sandboxes.items()},
        trainings={v: s.tasks_created for v, s in stack.sandboxes.items()},
        callbacks={v: _calls_back(s) for v, s in stack.sandboxes.items()},
        usage=by_vendor,
        delivered=dict(delivered),
        executions_running=_executions_running(stack),
        bad_answers=list(ledger.bad_answers),
        unreadable_at_vendor=_unreadable_at_vendor(stack),
        refusals=ledger.refusals,
        problems=list(ledger.problems),
    )


def _calls_back(sandbox: Any) -> bool:
    """Whether the vendor sent any callback in the run (only those can lose or repeat one)."""
    for name in ("callbacks", "tts_callbacks"):
        if getattr(sandbox, name, None):
            return True
    return bool(sandbox.faults_injected["lost_callback"])


def _executions_running(stack: Any) -> int:
    sfn = stack.client("stepfunctions")
    running = 0
    for arn in (stack.state_machine_arn, stack.speech_state_machine_arn):
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING")
        running += sum(len(page["executions"]) for page in pages)
    return running


def _unreadable_at_vendor(stack: Any) -> list[str]:
    """Unreadable texts some vendor was asked to speak: they must be refused before any vendor call."""
    found = []
    for vendor, sandbox in stack.sandboxes.items():
        for params in list(sandbox.tts_requests):
            for text in hostile.UNREADABLE_TEXTS:
                if _holds(params, text):
                    found.append(f"{vendor}: {text!r}")
    return sorted(set(found))


def _holds(value: Any, text: str) -> bool:
    if isinstance(value, str):
        return value == text
    if isinstance(value, dict):
        return any(_holds(v, text) for v in value.values())
    if isinstance(value, list):
        return any(_holds(v, text) for v in value)
    return False


def render(report: Report) -> str:
    """The soak's table (docs/soak.md, "Reading the table")."""
    from voiceclone_local.sandboxes.knobs import Fault

    vendors = report.vendors
    lines: list[str] = []
    plan = report.plan
    lines.append(
        f"Soak  seed {plan.seed}  {report.started_at:%Y-%m-%d %H:%M} UTC  {plan.jobs} jobs, "
        f"{plan.speeches} speeches over {plan.minutes:g} min, ran {report.seconds / 60:.1f} min"
    )
    width = max(16, *(len(v) + 2 for v in vendors))
    head = f"{'':34}" + "".join(f"{v:>{width}}" for v in vendors) + f"{'all':>8}"

    def row(label: str, values: Sequence[int | str]) -> str:
        total = sum(v for v in values if isinstance(v, int))
        return f"  {label:32}" + "".join(f"{v!s:>{width}}" for v in values) + f"{total:>8}"

    lines += ["", "Jobs" + head[4:]]
    lines.append(row("started", [sum(report.jobs[v].values()) for v in vendors]))
    lines.append(row("(trainings the vendor ran)", [report.trainings.get(v, 0) for v in vendors]))
    for state in (*JOB_STATES, *WAITING_JOB_STATES):
        if any(report.jobs[v][state] for v in vendors):
            lines.append(row(state + (" (stuck)" if state in WAITING_JOB_STATES else ""),
                             [report.jobs[v][state] for v in vendors]))  # fmt: skip
    lines += ["", "Speech" + head[6:]]
    lines.append(row("requested", [report.speeches[v]["asked"] for v in vendors]))
    outcomes = sorted({o for v in vendors for o in report.speeches[v] if o != "asked"})
    for outcome in outcomes:
        label = outcome + (" (stuck)" if outcome == "RUNNING" else "")
        lines.append(row(label, [report.speeches[v][outcome] for v in vendors]))
    if report.speeches_by_hostile:
        made = ", ".join(f"{n} {status}" for status, n in sorted(report.speeches_by_hostile.items()))
        lines.append(f"  made by hostile requests{'':8}{made} (counted in the usage below)")
    lines += ["", "Faults injected" + head[15:]]
    lines.append(row("(calls the sandbox served)", [report.calls.get(v, 0) for v in vendors]))
    for kind in Fault:
        values: list[int | str] = [
            report.faults[v][kind.value]
            if kind.value not in ("lost_callback", "duplicate_callback") or report.callbacks[v]
            else "-"
            for v in vendors
        ]
        lines.append(row(kind.value, values))
    lines += ["", "Usage (characters)" + head[18:]]
    lines.append(row("GET /v1/usage", [report.usage.get(v, 0) for v in vendors]))
    lines.append(row("speech delivered (SUCCEEDED)", [report.delivered.get(v, 0) for v in vendors]))
    verdicts = Counter(a.verdict for a in report.bad_answers)
    lines += [
        "",
        f"Client input  {len(report.bad_answers)} hostile requests: {verdicts['expected']} as expected, "
        f"{verdicts['another 4xx']} another 4xx, {verdicts['2xx, not as owed']} 2xx not as owed, "
        f"{verdicts['5xx']} 5xx (must be 0), {verdicts['vendor 5xx']} vendor 5xx on valid input",
        f"Memory (RSS)  start {report.rss[0] / 2**20:.0f} MB, peak {report.rss[1] / 2**20:.0f} MB, "
        f"end {report.rss[2] / 2**20:.0f} MB",
        "",
        "Must",
    ]
    for what, held, detail in report.musts():
        lines.append(f"  {'ok  ' if held else 'FAIL'}  {what}: {detail}")
    lines += findings(report)
    return "\n".join(lines)


def findings(report: Report) -> list[str]:
    """Everything else worth reading: hostile answers that were not as owed, failures and refusals."""
    lines: list[str] = []
    wrong = Counter(
        (a.case, a.vendor, a.status, a.error, a.verdict)
        for a in report.bad_answers
        if a.verdict != "expected"
    )
    if wrong:
        lines += [
            "",
            "Hostile requests not answered as owed (case | vendor | status | error | verdict: times)",
        ]
        lines += [
            f"  {c} | {v or '-'} | {s} | {e or '-'} | {verdict}: {n}"
            for (c, v, s, e, verdict), n in sorted(wrong.items())
        ]
    extra = [
        f"{v}: {report.trainings[v]} trainings for {sum(report.jobs[v].values())} jobs"
        for v in report.vendors
        if report.trainings.get(v, 0) > sum(report.jobs[v].values())
    ]
    if extra:
        lines += ["", "More trainings at a vendor than jobs: " + ", ".join(extra)]
    if report.unreadable_at_vendor:
        lines += ["", "Unreadable text that reached a vendor: " + ", ".join(report.unreadable_at_vendor)]
    if report.job_errors:
        lines += ["", "FAILED jobs by vendor and error code"]
        lines += [f"  {v} {code}: {n}" for (v, code), n in sorted(report.job_errors.items())]
    if report.refusals:
        lines += ["", "Refusals of the good client's requests (vendor, request, status, error: times)"]
        lines += [f"  {v} {what}: {n}" for (v, what), n in sorted(report.refusals.items())]
    if report.problems:
        lines += ["", f"Problems seen by the clients ({len(report.problems)})"]
        lines += [f"  {p}" for p in report.problems[:30]]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=None, help="the dice of the run (default: a new one)")
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--speeches", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the work is spread over")
    parser.add_argument("--drain-minutes", type=float, default=10.0, help="how long to wait for it to end")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
    plan = Plan(seed, args.jobs, args.speeches, args.minutes, args.drain_minutes)
    print(f"soak: seed {seed} (make soak SEED={seed} replays its dice)", flush=True)
    report = soak(plan)
    print(render(report))
    return 0 if report.passed() else 1


if __name__ == "__main__":
    sys.exit(main())
