"""Cold start of the streaming runtime (voiceclone.runtime) against a local Runtime API, beside bare Python.

Each sample is a fresh process started the way Lambda starts it, with one invocation already
waiting at a local Runtime API (voiceclone_local.runtime_api), timed from just before the
process is spawned to two moments the Runtime API sees: the runtime's first ``next`` request
(interpreter start, the runtime's imports, the handler's import) and the first byte of the first
streamed response (plus reading the event, running the handler, opening the stream), and the
CPU time the process spent in all (user + system; steadier than wall time on a busy machine,
and nearly all of it is the cold start: the process is stopped once it has answered). Two ways of
starting it are timed: ``python -m voiceclone.runtime`` directly, and through the exec wrapper
Lambda runs (``/bin/sh``, then the same interpreter). The baseline, ``python -c pass``, is a
whole interpreter run, start to exit; ``import only`` is a fresh interpreter importing the
runtime's modules and exiting, and ``import http.client`` the share of it the standard library's
HTTP client (with the email parser and ssl it imports) takes. All run alternately, round after
round, so load on the machine falls on each alike; medians are printed, with ranges. Prints
figures; asserts nothing.

Run with ``python benchmarks/stream_runtime.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = ROOT / "functions" / "voiceclone" / "runtime" / "exec-wrapper"
HANDLER = "stream_handler.handler"
RUNTIME_MODULES = "voiceclone.runtime.bootstrap, voiceclone.runtime.http_stream"


def _env(address: str = "") -> dict[str, str]:
    """What Lambda gives the process: the Runtime API, the handler, the code's directory."""
    path = os.pathsep.join([str(ROOT / "functions"), str(ROOT / "benchmarks")])
    return {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": address,
        "_HANDLER": HANDLER,
        "LAMBDA_TASK_ROOT": str(ROOT / "functions"),
        "PYTHONPATH": path,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """User + system time of an ended (or killed) child, from its exit status."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def whole_run(command: list[str]) -> tuple[float, float]:
    """Seconds from spawn to exit, and the process's CPU seconds."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=_env())
    cpu = _cpu_seconds(process)
    wall = time.perf_counter() - started
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    return wall, cpu


def runtime_start(command: list[str]) -> tuple[float, float, float]:
    """Seconds from spawn to the first ``next`` request and to the first byte of the first response,
    and the process's CPU seconds until it had answered."""
    from voiceclone_local.runtime_api import LocalRuntimeApi

    api = LocalRuntimeApi()
    address = api.start()
    request_id = api.invoke({"text": "你好"})
    started = time.perf_counter()
    process = subprocess.Popen(command, env=_env(address))
    try:
        answer = api.answer(request_id)
    finally:
        process.kill()  # it waits for its next invocation, as Lambda would freeze it
        cpu = _cpu_seconds(process)
        api.stop()
    assert answer.first_chunk_at is not None and answer.streamed
    return api.next_requests[0][0] - started, answer.first_chunk_at - started, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    sys.path[:0] = [str(ROOT / "functions"), str(ROOT / "local")]
    python = sys.executable
    direct = [python, "-m", "voiceclone.runtime"]
    wrapped = [str(WRAPPER), python, "/var/runtime/bootstrap.py"]
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    def add(name: str, wall_seconds: float, cpu_seconds: float | None = None) -> None:
        wall.setdefault(name, []).append(wall_seconds * 1000)
        if cpu_seconds is not None:
            cpu.setdefault(name, []).append(cpu_seconds * 1000)

    runtime_start(direct)  # warm the page cache once
    for _ in range(runs):
        add("python -c pass: start to exit", *whole_run([python, "-c", "pass"]))
        add("import http.client: start to exit", *whole_run([python, "-c", "import http.client"]))
        add("import only: start to exit", *whole_run([python, "-c", f"import {RUNTIME_MODULES}"]))
        for label, command in (("python -m", direct), ("exec wrapper", wrapped)):
            to_next, to_first_byte, cpu_seconds = runtime_start(command)
            add(f"{label}: first next request", to_next)
            add(f"{label}: first byte streamed", to_first_byte, cpu_seconds)
    print(f"Streaming runtime cold start, {runs} runs each, milliseconds: median (range); {python}")
    baseline = statistics.median(wall["python -c pass: start to exit"])
    for name, values in wall.items():
        median = statistics.median(values)
        spread = f"({min(values):5.1f}-{max(values):5.1f})"
        line = f"  {name:<34} wall {median:6.1f} {spread} = {median / baseline:4.2f} x"
        if name in cpu:
            line += (
                f"   cpu {statistics.median(cpu[name]):6.1f} ({min(cpu[name]):5.1f}-{max(cpu[name]):5.1f})"
            )
        print(line)
    print("  (x: over the median of python -c pass; cpu: the whole process, user + system)")


if __name__ == "__main__":
    main()
