"""The local stack's vendor settings: endpoints set before it starts are the ones the functions call.

The stack runs in a child process: moto's backends are per process, and the session's
stack (tests/integration/conftest.py) may be running in this one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from voiceclone.vendors.config import env_name
from voiceclone.vendors.registry import vendor_ids
from voiceclone_local.sandboxes.base import SandboxBase

from tests.helpers import SPEAKER, run_child, upload_recordings

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples" / "tencent_vrs"


def _child() -> None:
    """In a fresh process: start the local stack, clone once with Tencent VRS, print what it saw as JSON."""
    from voiceclone_cli.client import VoicecloneClient
    from voiceclone_local.stack import LocalStack

    from tests.helpers import print_result, wait_for
    from tests.integration.conftest import TEST_CONTEXT

    with LocalStack(context=TEST_CONTEXT, quiet=True) as stack:
        lam = stack.client("lambda")
        endpoints: dict[str, list[str]] = {}
        for name in stack.function_names.values():
            variables = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
            for vendor in vendor_ids():
                value = variables.get(env_name(vendor, "endpoint"))
                if value is not None:
                    endpoints.setdefault(vendor, []).append(value)
        sm = stack.client("secretsmanager")
        secret = json.loads(sm.get_secret_value(SecretId="voiceclone/tencent_vrs")["SecretString"])
        client = VoicecloneClient(stack.api_url, api_key=stack.api_key)
        job = client.create_job("tencent_vrs", "endpoint-variable", "female", SPEAKER)
        upload_recordings(client, job, SAMPLES)
        final = wait_for(
            lambda: (
                (j := client.get_job(job["job_id"]))["status"] in ("SUCCEEDED", "FAILED", "CHECK_FAILED")
                and j
            ),
            timeout=120,
            what="the job",
        )
        print_result(
            {
                "sandboxes": sorted(stack.sandboxes),
                "endpoints": {v: sorted(set(values)) for v, values in endpoints.items()},
                "function_count": len(stack.function_names),
                "secret_fields": sorted(secret),
                "secret_id": secret.get("secret_id"),
                "job": final,
            }
        )


@pytest.fixture
def own_sandboxes() -> Iterator[dict[str, Any]]:
    """One sandbox per registered vendor, started by the test, as a staging endpoint would be."""
    started: dict[str, Any] = {}
    try:
        for vendor in vendor_ids():
            cls = SandboxBase.for_vendor(vendor)
            assert cls is not None, f"no sandbox found for {vendor} by convention"
            started[vendor] = cls(cls.local_config()).start()
        yield started
    finally:
        for sandbox in started.values():
            sandbox.stop()


def test_endpoint_variables_set_before_the_start_are_what_the_functions_call(
    own_sandboxes: dict[str, Any],
) -> None:
    # Given every vendor's VOICECLONE_<VENDOR>_ENDPOINT (and its credentials) set before the stack starts
    env: dict[str, str] = {}
    for vendor, sandbox in own_sandboxes.items():
        env[env_name(vendor, "endpoint")] = sandbox.url
        env.update({env_name(vendor, field): value for field, value in sandbox.credentials().items()})

    # When the local stack starts and a client clones a voice with Tencent VRS
    seen, _ = run_child("tests.integration.test_local_vendor_settings", env, timeout=300)

    # Then the stack started no sandbox of its own, and every function has each vendor's endpoint as set
    assert seen["sandboxes"] == []
    assert seen["endpoints"] == {vendor: [sandbox.url] for vendor, sandbox in own_sandboxes.items()}
    # And the credentials reached the vendor's secret (as in AWS), not only the environment
    vrs = own_sandboxes["tencent_vrs"]
    assert seen["secret_fields"] == ["app_id", "secret_id", "secret_key"]  # app_id: for streaming speech
    assert seen["secret_id"] == vrs.config.secret_id
    # And the clone went to the endpoint that was set: its checks and its one training task are there
    assert seen["job"]["status"] == "SUCCEEDED", seen["job"]
    assert vrs.tasks_created == 1
    assert vrs.requests_by_action.get("DetectEnvAndSoundQuality", 0) >= 20
