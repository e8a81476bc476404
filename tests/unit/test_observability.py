"""Every metric carries a vendor dimension and workflow logs a vendor key: read from what is printed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from voiceclone import observability
from voiceclone.domain.api_models import JobView
from voiceclone.domain.steps import JobStep
from voiceclone.handlers.steps import wrap
from voiceclone.handlers.table import Function
from voiceclone.observability import NO_VENDOR, VENDOR, metrics


class FakeLambdaContext:
    function_name = "fn"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:fn"
    aws_request_id = "req-1"


CONTEXT = cast(LambdaContext, FakeLambdaContext())


LOG_STREAM = io.StringIO()


@pytest.fixture(autouse=True)
def published(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Metrics published as in Lambda (the local stack and other tests turn them off), from a clean set.

    The logger's handler holds the stdout of its creation: here it writes to LOG_STREAM instead.
    """
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    # Services no test step uses (a test that needs a store sets its own).
    monkeypatch.setattr("voiceclone.logic.core.services._services", SimpleNamespace())
    LOG_STREAM.seek(0)
    LOG_STREAM.truncate()
    for handler in observability.logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            monkeypatch.setattr(handler, "stream", LOG_STREAM)
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
    observability.logger.remove_keys([VENDOR])


def printed(capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(EMF documents, log records) as CloudWatch Logs would receive them (EMF is printed to stdout)."""
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    logs = [json.loads(line) for line in LOG_STREAM.getvalue().splitlines()]
    assert all("_aws" in doc for doc in emf)
    return emf, logs


def metric_vendors(emf: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Metric name -> the vendor dimension of each published data point (asserting EMF declares it)."""
    found: dict[str, list[str]] = {}
    for doc in emf:
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Voiceclone"
        assert [VENDOR in dims for dims in directive["Dimensions"]] == [True]
        assert doc["service"] == "voiceclone"
        for metric in directive["Metrics"]:
            found.setdefault(metric["Name"], []).append(doc[VENDOR])
    return found


# ----- a workflow step ------------------------------------------------------------------------------


def mark_failed(svc: Any, job_id: str) -> dict[str, Any]:
    """A step as the workflow's MarkFailed is: it logs and counts a failed job."""
    observability.logger.info("job failed")
    metrics.add_metric(name="JobFailed", unit="Count", value=1)
    return {"status": "FAILED"}


# A training step (its input names the vendor) and one whose input names the job alone (expire_job's).
failing_step = wrap(
    Function("mark_failed", "-", "-", run_id="job_id", vendor="vendor", workflow="training"),
    mark_failed,
    JobStep,
)
failing_job_step = wrap(Function("expire_job", "-", "-", run_id="job_id"), mark_failed, JobStep)


def test_a_workflow_steps_metrics_and_logs_carry_the_vendor_named_in_its_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a step whose input names its job's vendor
    # When it runs and counts a failed job
    failing_step({"job_id": "job-1", "vendor": "volcengine"}, CONTEXT)

    # Then the JobFailed metric has vendor=volcengine (and service) as dimensions, and the log the key
    emf, logs = printed(capsys)
    assert metric_vendors(emf) == {"JobFailed": ["volcengine"]}
    (line,) = [log for log in logs if log["message"] == "job failed"]
    assert line[VENDOR] == "volcengine" and line["correlation_id"] == "job-1"


def test_a_step_without_the_vendor_in_its_input_takes_the_jobs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:

    # Given the job's record names Qiniu and the step's input only the job id
    asked: list[str] = []

    def get_job(job_id: str) -> SimpleNamespace:
        asked.append(job_id)
        return SimpleNamespace(vendor="qiniu")

    monkeypatch.setattr(
        "voiceclone.logic.core.services.services",
        lambda: SimpleNamespace(store=SimpleNamespace(jobs=SimpleNamespace(get=get_job))),
    )

    failing_job_step({"job_id": "job-2"}, CONTEXT)

    emf, logs = printed(capsys)
    assert asked == ["job-2"]
    assert metric_vendors(emf) == {"JobFailed": ["qiniu"]}
    assert [log[VENDOR] for log in logs if log["message"] == "job failed"] == ["qiniu"]


def test_a_warm_container_does_not_keep_the_previous_invocations_vendor(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a step ran for Huawei, then one for a job that does not exist
    monkeypatch.setattr(
        "voiceclone.logic.core.services.services",
        lambda: SimpleNamespace(store=SimpleNamespace(jobs=SimpleNamespace(get=lambda job_id: None))),
    )
    failing_step({"job_id": "job-3", "vendor": "huawei"}, CONTEXT)
    failing_step({"job_id": "gone"}, CONTEXT)

    # Then the second one's metric and logs say none, not huawei
    emf, logs = printed(capsys)
    assert metric_vendors(emf) == {"JobFailed": ["huawei", NO_VENDOR]}
    assert [log[VENDOR] for log in logs if log["message"] == "job failed"] == ["huawei", NO_VENDOR]


def test_a_step_whose_input_names_the_vendor_reads_no_job(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:

    # Given a store that fails the test if read (the workflow passes each step its vendor)
    def no_read(job_id: str) -> None:
        raise AssertionError(f"the step read job {job_id} to learn its vendor")

    monkeypatch.setattr(
        "voiceclone.logic.core.services.services",
        lambda: SimpleNamespace(store=SimpleNamespace(jobs=SimpleNamespace(get=no_read))),
    )

    # When a step runs with the vendor in its input, as infra/workflow.py passes it
    failing_step({"job_id": "job-4", "vendor": "tencent_gateway"}, CONTEXT)

    # Then its metric and log carry that vendor
    emf, logs = printed(capsys)
    assert metric_vendors(emf) == {"JobFailed": ["tencent_gateway"]}
    assert [log[VENDOR] for log in logs if log["message"] == "job failed"] == ["tencent_gateway"]


def test_an_invocation_that_names_its_vendor_twice_overwrites_no_dimension(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import warnings

    # Given an invocation that learns its vendor late (none first, then Qiniu), after a warm
    # container's invocation that published nothing (so its metric set kept a vendor)
    @observability.log_metrics
    def quiet(event: dict[str, Any], context: Any) -> None:
        observability.tag_vendor("huawei")

    @observability.log_metrics
    def late(event: dict[str, Any], context: Any) -> None:
        observability.tag_vendor(None)
        metrics.add_metric(name="JobFailed", unit="Count", value=1)
        observability.tag_vendor("qiniu")

    # When both run, with every warning an error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        quiet({}, CONTEXT)
        late({}, CONTEXT)

    # Then Powertools saw no dimension overwritten and the metric carries the vendor named last
    emf, _ = printed(capsys)
    assert metric_vendors(emf) == {"JobFailed": ["qiniu"]}


# ----- the API --------------------------------------------------------------------------------------


def rest_event(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A REST API proxy event as API Gateway sends it once the authorizer allowed tenant acme."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": path,
            "stage": "prod",
            "requestId": "req-api",
            "authorizer": {"tenant_id": "acme", "api_key_id": "key_acme"},
        },
    }


def test_an_api_call_counts_a_created_job_with_its_vendor(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from voiceclone import rest as api

    # Given the logic creates the job the client asked for (the store is not the point here)
    def create_job(svc: Any, caller: Any, body: Any) -> JobView:
        now = datetime(2026, 12, 3, tzinfo=UTC)
        return JobView.model_validate(
            {
                "job_id": "job-4",
                "vendor": body.vendor,
                "voice_name": body.voice_name,
                "language": body.language,
                "gender": body.gender,
                "status": "AWAITING_AUDIO",
                "created_at": now,
                "updated_at": now,
            }
        )

    monkeypatch.setattr("voiceclone.logic.training.jobs.create_job", create_job)
    monkeypatch.setattr("voiceclone.logic.core.services._services", SimpleNamespace())

    # When a client creates a Tencent VRS job
    body = {
        "vendor": "tencent_vrs",
        "voice_name": "v",
        "gender": "female",
        "language": "zh-CN",
        "speaker_name": "Li Hua",
    }
    answer = api.handle(rest_event("POST", "/v1/jobs", body), CONTEXT)

    # Then JobCreated is published with vendor=tencent_vrs
    assert answer["statusCode"] == 201, answer
    emf, _ = printed(capsys)
    assert metric_vendors(emf) == {"JobCreated": ["tencent_vrs"]}


def test_an_api_call_about_no_vendor_counts_with_vendor_none(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from voiceclone import rest as api

    rotated = ("whsec_x", datetime(2026, 12, 3, tzinfo=UTC))
    account = SimpleNamespace(rotate_webhook_secret=lambda tenant: rotated)
    monkeypatch.setattr(
        "voiceclone.logic.core.services._services", SimpleNamespace(store=SimpleNamespace(account=account))
    )

    answer = api.handle(rest_event("POST", "/v1/webhooks/secret/rotate"), CONTEXT)

    assert answer["statusCode"] == 200, answer
    emf, _ = printed(capsys)
    assert metric_vendors(emf) == {"WebhookSecretRotated": [NO_VENDOR]}


# ----- callbacks and the authorizer -----------------------------------------------------------------


@pytest.mark.parametrize(("path_vendor", "dimension"), [("qiniu", "qiniu"), ("made-up-vendor", NO_VENDOR)])
def test_a_callback_counts_with_its_vendor_and_an_unknown_one_never_becomes_a_dimension(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], path_vendor: str, dimension: str
) -> None:
    from voiceclone.handlers import callback
    from voiceclone.logic.core.tasks import CallbackResult

    monkeypatch.setattr("voiceclone.logic.core.services._services", SimpleNamespace())
    monkeypatch.setattr(
        "voiceclone.logic.core.tasks.handle", lambda *args: CallbackResult(404, "unknown job")
    )
    event = rest_event("POST", f"/v1/callbacks/{path_vendor}/job-5", {})
    event["pathParameters"] = {"vendor": path_vendor, "job_id": "job-5"}

    callback.handler(event, CONTEXT)

    emf, _ = printed(capsys)
    assert metric_vendors(emf) == {"Callback404": [dimension]}


def test_the_authorizers_rejections_carry_vendor_none(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from voiceclone.handlers import authorizer

    monkeypatch.setattr("voiceclone.handlers.authorizer.caller_for", lambda account, token: None)
    monkeypatch.setattr(
        "voiceclone.logic.core.services._services", SimpleNamespace(store=SimpleNamespace(account=None))
    )
    event = {
        "type": "TOKEN",
        "authorizationToken": "Bearer vck_unknown",
        "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/v1/jobs",
    }
    with pytest.raises(authorizer.Unauthorized):
        authorizer.handler(event, CONTEXT)

    emf, _ = printed(capsys)
    assert metric_vendors(emf) == {"AuthRejected": [NO_VENDOR]}


# ----- invocations that span vendors ----------------------------------------------------------------


def test_count_publishes_each_record_with_its_own_vendor(capsys: pytest.CaptureFixture[str]) -> None:
    # Given one batch with events of two vendors, while the invocation's own set names another
    observability.tag_vendor("huawei")
    observability.count("WebhookDelivered", "qiniu")
    observability.count("WebhookDelivered", "volcengine")
    observability.count("WebhookFailed", None)

    emf, _ = printed(capsys)
    assert metric_vendors(emf) == {"WebhookDelivered": ["qiniu", "volcengine"], "WebhookFailed": [NO_VENDOR]}
    # and the invocation's own metric set is untouched by them
    assert metrics.metric_set == {}


def test_count_stays_silent_where_metrics_are_disabled(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    observability.count("JobEventPublished", "qiniu")
    assert printed(capsys)[0] == []


def test_a_stack_with_metrics_disabled_prints_none_however_many_invocations_count(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given metrics disabled, as on the local stack
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    # When more invocations count a failed job than Powertools keeps values of one metric (100)
    for i in range(150):
        failing_step({"job_id": f"job-{i}", "vendor": "qiniu"}, CONTEXT)
    # Then nothing was printed, and nothing is left to print
    assert printed(capsys)[0] == []
    assert metrics.metric_set == {}


def test_every_handler_flushes_its_metrics_through_the_vendor_aware_decorator() -> None:
    """A handler with Powertools' own decorator would publish metrics with no vendor dimension."""
    import inspect
    from pathlib import Path

    import voiceclone.handlers
    import voiceclone.rest
    from voiceclone.handlers.table import FUNCTIONS

    (handlers_dir,) = voiceclone.handlers.__path__
    (rest_dir,) = voiceclone.rest.__path__
    sources = {p: p.read_text() for d in (handlers_dir, rest_dir) for p in Path(d).glob("*.py")}
    assert not [path for path, text in sources.items() if "metrics.log_metrics" in text]
    # every entry point flushes: the workflow steps through the one step wrapper, the others directly
    assert "@log_metrics\n    def handler(" in (Path(handlers_dir) / "steps.py").read_text()
    for row in (f for f in FUNCTIONS if f.kind == "event"):
        module_name, _, attribute = row.target.partition(":")
        module = __import__(module_name, fromlist=[attribute])
        source = inspect.getsource(module)
        assert f"@log_metrics\ndef {attribute}(" in source, row.name


def test_a_streams_times_are_published_at_once_in_milliseconds_with_its_vendor(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # When a stream that ended reports its outcome and its times (voiceclone.logic.speech.stream)
    observability.observe(
        "volcengine",
        {"SpeechStreamFailed": (1, "Count"), "SpeechStreamFirstByte": (42.5, "Milliseconds")},
    )
    # Then one EMF document carries both, with the vendor dimension and their units
    emf, _ = printed(capsys)
    assert metric_vendors(emf) == {
        "SpeechStreamFailed": ["volcengine"],
        "SpeechStreamFirstByte": ["volcengine"],
    }
    (doc,) = emf
    units = {m["Name"]: m["Unit"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {"SpeechStreamFailed": "Count", "SpeechStreamFirstByte": "Milliseconds"}
    assert doc["SpeechStreamFirstByte"] == [42.5]  # (Powertools writes the values as a list)
