"""A second local stack in one process works like the first (benchmarks/run.py starts three in a row).

Each stack is a new moto server on a new port: whatever a function cached from the first stack (AWS
clients, settings, vendor adapters, Powertools Parameters' secrets provider) must not outlive it. The
stacks run in a child process: moto's backends are per process, and the session's stack
(tests/integration/conftest.py) may be running in this one.
"""

from __future__ import annotations

from tests.helpers import SPEAKER, run_child


def _child() -> None:
    """In a fresh process: two stacks one after the other, each creating a job (which reads the
    vendor's secret to ask for its training texts); what each answered, as JSON."""
    from voiceclone_cli.client import ApiError, VoicecloneClient
    from voiceclone_local.stack import LocalStack

    from tests.helpers import print_result
    from tests.integration.conftest import TEST_CONTEXT

    answers: list[str] = []
    for run in range(2):
        with LocalStack(context=TEST_CONTEXT, quiet=True) as stack:
            client = VoicecloneClient(stack.api_url, api_key=stack.api_key)
            try:
                job = client.create_job("tencent_vrs", f"restart-{run}", "female", SPEAKER)
                answers.append(f"{job['status']} with {len(job['sentences'])} sentences")
            except ApiError as exc:
                answers.append(f"refused: {exc}")
    print_result({"answers": answers})


def test_a_second_stack_in_one_process_creates_jobs_like_the_first() -> None:
    seen, _ = run_child("tests.integration.test_stack_restart", timeout=300)
    # (the 20 sentences and the consent statement)
    assert seen["answers"] == ["AWAITING_AUDIO with 21 sentences"] * 2, seen
