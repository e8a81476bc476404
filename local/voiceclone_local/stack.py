"""The embedded local stack: the synthesized CDK template, run on moto with in-process Lambdas and sandboxes.

Nothing here re-implements the workflow: the state machine is the one CDK
synthesizes, with its function ARNs resolved to functions created in moto.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
import httpx
from voiceclone.domain.models import CLOCK, utcnow

from voiceclone_local import lambda_shim, moto_server, s3_post_policy, sfn_nested, sfn_stop
from voiceclone_local.apigw import LocalApiGateway
from voiceclone_local.browser_access import StudioStorage
from voiceclone_local.event_sources import LocalEvents
from voiceclone_local.scheduler import LocalScheduler
from voiceclone_local.template import (
    Resolver,
    api_routes,
    binary_media_types,
    cached_template,
    placeholder,
    resources_of_type,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
# The tenant of the dev API key the local stack issues at start (`api_key`, printed by `local up`).
LOCAL_TENANT = "local-tenant"
# The organisation its tenants' consent statements name (a tenant sets its own with PATCH /v1/settings).
LOCAL_ORGANISATION = "Example Organisation (local stack)"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/voiceclone-local"
# moto holds each S3 object's content in a spooled temporary file that moves to disk past this size
# (its default is about 5 MB, so every recording stayed in memory). Past 16 KiB (half a second of
# 16 kHz audio), recordings, intake copies, assembled files and speech live on disk, as S3 keeps them
# on storage, not in the stack's memory; each such object holds one open file, closed when the stack
# stops (moto's reset).
S3_MEMORY_BYTES_PER_OBJECT = 16 * 1024
# Open files the stack may need: one per spilled object besides its sockets (50 jobs of 20 sentences
# keep about 2,500 objects); the soft limit is raised towards the hard one, never above it.
OPEN_FILES = 65536

# Local context: the same stack, with waits short enough for a run in seconds.
LOCAL_CONTEXT: dict[str, Any] = {
    "aws:cdk:bundling-stacks": [],
    "voiceclone:callbackTimeoutSeconds": 30,
    "voiceclone:pollInitialSeconds": 1,
    "voiceclone:pollMaxSeconds": 2,
    "voiceclone:pollBackoff": 1.5,
    "voiceclone:trainingDeadlineSeconds": 120,
    "voiceclone:uploadUrlExpirySeconds": 900,
    "voiceclone:mapMaxConcurrency": 10,
    # Webhook retries after 1, 2, 4, 4... s; receivers here are on 127.0.0.1.
    "voiceclone:webhookBackoffBaseSeconds": 1,
    "voiceclone:webhookBackoffMaxSeconds": 4,
    "voiceclone:webhookAllowPrivateTargets": True,
    "voiceclone:swaggerUi": True,
    # GB 45438's ContentProducer is the operator's registered name or code: the local stack has no
    # operator, so its speech names this development producer (docs/labels.md).
    "voiceclone:aigcContentProducer": "voiceclone-local-development",
}
# The labelling functions' variables naming the signing key and the SSM parameters of its certificate
# chain and of the root POST /v1/provenance trusts: the local stack fills those in with a development CA.
C2PA_KEY_VARIABLE = "VOICECLONE_C2PA_KMS_KEY_ID"
C2PA_CHAIN_VARIABLE = "VOICECLONE_C2PA_CERTIFICATE_CHAIN_PARAMETER"
C2PA_ANCHORS_VARIABLE = "VOICECLONE_C2PA_TRUST_ANCHORS_PARAMETER"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "code runs in-process from the voiceclone package")
    return buf.getvalue()


@dataclass
class LocalStack:
    """Start with `start()` (or as a context manager); `api_url` is then the REST API."""

    context: dict[str, Any] = field(default_factory=dict)
    # vendor id -> that sandbox's config (defaults where absent)
    sandbox_configs: dict[str, Any] = field(default_factory=dict)
    api_port: int = 0
    quiet: bool = False
    invocations: lambda_shim.InvocationLog = field(default_factory=lambda_shim.InvocationLog)

    api_url: str = ""
    moto_url: str = ""
    sandboxes: dict[str, Any] = field(default_factory=dict)
    template: dict[str, Any] = field(default_factory=dict)
    # The template's state machines by logical id; the training one and the speech one by name.
    state_machine_arns: dict[str, str] = field(default_factory=dict)
    state_machine_arn: str = ""
    speech_state_machine_arn: str = ""
    bucket_name: str = ""
    table_name: str = ""
    function_names: dict[str, str] = field(default_factory=dict)
    events: LocalEvents | None = None
    # Fires the one-time schedules that expire jobs (moto stores them and never fires them).
    scheduler: LocalScheduler | None = None
    # The dev API key of LOCAL_TENANT: `Authorization: Bearer <api_key>` (issue_api_key makes more).
    api_key: str = ""
    # The browser studio served by the local gateway (<api_url>/studio/), its dev key filled in.
    studio_url: str = ""
    # The development root certificate (PEM) the speech's C2PA manifests chain to: a reader's trust anchor.
    c2pa_trust_anchor: str = ""
    _stoppers: list[Any] = field(default_factory=list)
    _moto: moto_server.LocalMotoServer | None = None
    _clients: dict[str, Any] = field(default_factory=dict)
    # Each function's template properties, by function name (the streaming route's runner reads them).
    _function_props: dict[str, Any] = field(default_factory=dict)
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _env_at_start: dict[str, str] = field(default_factory=dict)

    # ----- lifecycle -----------------------------------------------------------------------------

    def start(self) -> LocalStack:
        from moto.core.config import default_user_config

        # Settings given before the start win over the template's (`_settings_from_environment`).
        self._env_at_start = dict(os.environ)
        vendor_settings = self._start_sandboxes()

        moto_port = free_port()
        self.moto_url = f"http://127.0.0.1:{moto_port}"
        self._set_env(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": None,
                "AWS_PROFILE": None,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ENDPOINT_URL": self.moto_url,
                "MOTO_PORT": str(moto_port),
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_DEV": "false",
                "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(S3_MEMORY_BYTES_PER_OBJECT),
            }
        )
        _allow_open_files(OPEN_FILES)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        # With metrics disabled locally, Powertools still warns on every invocation.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        # moto is not thread-safe: its server handles each request under one lock (moto_server.GATE).
        server = moto_server.LocalMotoServer("127.0.0.1", moto_port)
        server.start()
        self._moto = server
        self._stoppers.append(server.stop)
        self._stoppers.append(moto_server.install())
        httpx.post(f"{self.moto_url}/moto-api/reset")
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        self._stoppers.append(lambda_shim.install(self.invocations, self._on_function_error))
        self._stoppers.append(s3_post_policy.install(os.environ["AWS_SECRET_ACCESS_KEY"]))
        self._stoppers.append(sfn_stop.install())
        self._stoppers.append(sfn_nested.install())

        # The sandboxes' URLs change at every start: synthesized as placeholders, so an unchanged app
        # reuses its kept template (voiceclone_local.template.cached_template), and set in after.
        endpoints = {key: placeholder(key) for key in vendor_settings}
        context = {**LOCAL_CONTEXT, "voiceclone:vendorSettings": endpoints, **self.context}
        self.template = cached_template(context, substitute=vendor_settings)
        self._provision()
        return self

    @property
    def sandbox(self) -> Any:
        """The Tencent VRS sandbox (the first vendor's), when the stack started it."""
        return self.sandboxes.get("tencent_vrs")

    def _start_sandboxes(self) -> dict[str, str]:
        """Start each registered vendor's sandbox, found by convention, unless its endpoint is configured.

        Returns each vendor's endpoint as a vendor setting of the template: the sandbox's URL, or
        the VOICECLONE_<VENDOR>_ENDPOINT set before the start (a staging endpoint, a proxy, the
        real vendor), so the functions call exactly that. A sandbox that streams speech adds its
        WebSocket URL as the vendor's ``stream_endpoint`` (unless VOICECLONE_<VENDOR>_STREAM_ENDPOINT
        is set). Credentials go to the vendor's secret.
        """
        from voiceclone.vendors.config import env_name
        from voiceclone.vendors.registry import vendor_ids

        from voiceclone_local.sandboxes.base import SandboxBase
        from voiceclone_local.sandboxes.streaming import StreamingSandbox

        settings: dict[str, str] = {}
        for vendor in vendor_ids():
            configured = os.environ.get(env_name(vendor, "endpoint"))
            if configured:
                settings[f"{vendor}_endpoint"] = configured
                continue
            cls = SandboxBase.for_vendor(vendor)
            if cls is None:  # no sandbox: the adapter's own endpoint and the environment's credentials
                continue
            sandbox = cls(self.sandbox_configs.get(vendor) or cls.local_config()).start()
            self._stoppers.append(sandbox.stop)
            self.sandboxes[vendor] = sandbox
            settings[f"{vendor}_endpoint"] = sandbox.url
            if isinstance(sandbox, StreamingSandbox):
                configured = os.environ.get(env_name(vendor, "stream_endpoint"))
                settings[f"{vendor}_stream_endpoint"] = configured or sandbox.stream_url
        return settings

    def stop(self) -> None:
        while self._stoppers:
            stop = self._stoppers.pop()
            try:
                stop()
            except Exception as exc:  # noqa: BLE001 - stopping is best effort, the rest must still stop
                print(f"[local] while stopping: {type(exc).__name__}: {exc}")
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        _reset_function_caches()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _set_env(self, values: Mapping[str, str | None]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _on_function_error(self, name: str, exc: BaseException) -> None:
        if not self.quiet:
            print(f"[local] {name} raised {type(exc).__name__}: {exc}")

    # ----- provisioning from the template --------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client of the local moto server (one per service; clients are thread-safe)."""
        if service not in self._clients:
            self._clients[service] = boto3.client(  # type: ignore[call-overload]
                service, region_name=REGION, endpoint_url=self.moto_url
            )
        return self._clients[service]

    def _provision(self) -> None:
        t = self.template
        tables = resources_of_type(t, "AWS::DynamoDB::Table")
        buckets = resources_of_type(t, "AWS::S3::Bucket")
        keys = resources_of_type(t, "AWS::KMS::Key")
        parameters = resources_of_type(t, "AWS::SSM::Parameter")
        secrets = resources_of_type(t, "AWS::SecretsManager::Secret")
        functions = resources_of_type(t, "AWS::Lambda::Function")
        machines = resources_of_type(t, "AWS::StepFunctions::StateMachine")

        refs: dict[str, Any] = {}
        attrs: dict[tuple[str, str], Any] = {}
        for logical in tables:
            refs[logical] = f"voiceclone-local-{logical}"[:255]
            attrs[(logical, "Arn")] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{refs[logical]}"
        for logical in buckets:
            refs[logical] = f"voiceclone-local-{logical.lower()}"[:63]
            attrs[(logical, "Arn")] = f"arn:aws:s3:::{refs[logical]}"
        for logical, res in secrets.items():
            refs[logical] = (
                f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{res['Properties']['Name']}-local"
            )
        for logical in functions:
            name = logical[:64]
            self.function_names[logical] = name
            refs[logical] = name
            attrs[(logical, "Arn")] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        for logical in machines:
            refs[logical] = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{logical}"
            attrs[(logical, "Name")] = logical
        ddb = self.client("dynamodb")
        for logical, res in tables.items():
            props = res["Properties"]
            kwargs: dict[str, Any] = {
                "TableName": refs[logical],
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = [
                    {k: v for k, v in g.items() if k in ("IndexName", "KeySchema", "Projection")}
                    for g in props["GlobalSecondaryIndexes"]
                ]
            if props.get("StreamSpecification"):
                view = props["StreamSpecification"]["StreamViewType"]
                kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
            created = ddb.create_table(**kwargs)["TableDescription"]
            if "LatestStreamArn" in created:
                attrs[(logical, "StreamArn")] = created["LatestStreamArn"]

        s3 = self.client("s3")
        for logical in buckets:
            s3.create_bucket(Bucket=refs[logical])
        for logical, res in keys.items():
            props = res["Properties"]
            created = self.client("kms").create_key(
                KeySpec=props.get("KeySpec", "SYMMETRIC_DEFAULT"),
                KeyUsage=props.get("KeyUsage", "ENCRYPT_DECRYPT"),
                Description=str(props.get("Description", logical)),
            )["KeyMetadata"]
            refs[logical] = created["KeyId"]
            attrs[(logical, "Arn")] = created["Arn"]
        for logical, res in parameters.items():
            props = res["Properties"]
            self.client("ssm").put_parameter(Name=props["Name"], Value=props["Value"], Type=props["Type"])
            refs[logical] = props["Name"]

        self._vendor_secrets(secrets, refs)
        self.events = LocalEvents(t, self.client, self._invoke, self.function_names, REGION, ACCOUNT)
        self.events.prepare(refs, attrs)
        self.scheduler = LocalScheduler(t, self.client, self._invoke, ACCOUNT, clock=utcnow)
        self.scheduler.prepare(refs, attrs)
        resolve = Resolver(refs, attrs, REGION, ACCOUNT)

        self.client("iam").create_role(
            RoleName="voiceclone-local",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )

        # One process, one environment: every function's variables are applied together, so
        # they must agree wherever two functions define the same variable.
        union: dict[str, str] = {}
        env_by_function: dict[str, dict[str, str]] = {}
        for logical, res in functions.items():
            env = resolve(res["Properties"].get("Environment", {}).get("Variables", {}))
            env_by_function[logical] = self._settings_from_environment({k: str(v) for k, v in env.items()})
            for key, value in env_by_function[logical].items():
                if key in union and union[key] != value:
                    raise RuntimeError(f"functions disagree on {key}: {union[key]!r} vs {value!r}")
                union[key] = value

        self.table_name = union.get("VOICECLONE_TABLE_NAME", "")
        self.bucket_name = union.get("VOICECLONE_BUCKET_NAME", "")
        self._development_credentials(union)

        routes = api_routes(t)
        self._function_props = {self.function_names[k]: res["Properties"] for k, res in functions.items()}
        gateway = LocalApiGateway(
            routes,
            self.function_names,
            self._invoke,
            ACCOUNT,
            REGION,
            binary_media_types(t),
            invoke_stream=self._invoke_stream,
        )
        self.api_url = gateway.start(port=self.api_port)
        self._stoppers.append(gateway.stop)
        union["VOICECLONE_API_URL"] = self.api_url
        if self.quiet and "POWERTOOLS_LOG_LEVEL" not in self._env_at_start:
            union["POWERTOOLS_LOG_LEVEL"] = "ERROR"
        self._set_env(union)
        _reset_function_caches()

        lam = self.client("lambda")
        zipped = _dummy_zip()
        for logical, res in functions.items():
            props = res["Properties"]
            lam.create_function(
                FunctionName=self.function_names[logical],
                Runtime=props.get("Runtime", "python3.13"),
                Role=ROLE_ARN,
                Handler=props["Handler"],
                Code={"ZipFile": zipped},
                Timeout=int(props.get("Timeout", 30)),
                MemorySize=int(props.get("MemorySize", 512)),
                Environment={"Variables": {**env_by_function[logical], "VOICECLONE_API_URL": self.api_url}},
            )

        sfn = self.client("stepfunctions")
        for logical, res in machines.items():
            definition = resolve(res["Properties"]["DefinitionString"])
            created = sfn.create_state_machine(name=logical, definition=definition, roleArn=ROLE_ARN)
            self.state_machine_arns[logical] = created["stateMachineArn"]
        self.state_machine_arn = self._machine_arn("Workflow")
        self.speech_state_machine_arn = self._machine_arn("SpeechWorkflow")

        self.events.provision(resolve)
        self._stoppers.append(self.events.stop)
        self.scheduler.start()
        self._stoppers.append(self.scheduler.stop)

        for res in resources_of_type(t, "Custom::S3BucketNotifications").values():
            props = resolve(res["Properties"])
            s3.put_bucket_notification_configuration(
                Bucket=props["BucketName"], NotificationConfiguration=props["NotificationConfiguration"]
            )
        self.api_key = self.issue_api_key(LOCAL_TENANT)
        self.studio_url = gateway.serve_studio(self.api_key, [self.moto_url])
        if self.studio_url and self._moto is not None:
            # From a browser, moto answers the studio's page only, and only its uploads and audio.
            self._moto.serve_studio(StudioStorage(frozenset(gateway.origins), frozenset({self.bucket_name})))

    def _development_credentials(self, variables: dict[str, str]) -> None:
        """Certify the stack's signing key with a development CA, in its SSM parameters (DEVELOPMENT ONLY).

        A throwaway CA (voiceclone.provenance.devca) issues the certificate of the KMS key the
        template made in moto; its root, whose key stays in this process's memory, is what
        POST /v1/provenance and the tests trust. A chain given as context is kept instead.
        """
        from voiceclone.provenance.devca import development_credentials

        key_id, chain, anchors = (
            variables.get(v) for v in (C2PA_KEY_VARIABLE, C2PA_CHAIN_VARIABLE, C2PA_ANCHORS_VARIABLE)
        )
        if not (key_id and chain and anchors):
            return
        ssm = self.client("ssm")
        if "BEGIN CERTIFICATE" not in ssm.get_parameter(Name=chain)["Parameter"]["Value"]:
            made = development_credentials(self.client("kms"), key_id, "voiceclone local stack signer")
            ssm.put_parameter(Name=chain, Value=made.certificate_chain_pem, Type="String", Overwrite=True)
            ssm.put_parameter(Name=anchors, Value=made.trust_anchor_pem, Type="String", Overwrite=True)
        self.c2pa_trust_anchor = ssm.get_parameter(Name=anchors)["Parameter"]["Value"]

    def _settings_from_environment(self, variables: dict[str, str]) -> dict[str, str]:
        """A function's variables, each setting replaced by its value in the environment at the start.

        One rule for every setting (``infra.constants.is_setting``: all but the variables that name
        the stack's resources): what the developer set before ``voiceclone local up`` wins over the
        template's value, as the vendor endpoints and credentials do.
        """
        from infra.constants import is_setting

        return {
            key: self._env_at_start[key] if is_setting(key) and key in self._env_at_start else value
            for key, value in variables.items()
        }

    def _machine_arn(self, construct_id: str) -> str:
        """The ARN of the state machine built by the stack's construct ``construct_id`` ("" if none)."""
        found = [
            arn
            for logical, arn in self.state_machine_arns.items()
            if logical.startswith(construct_id + "StateMachine")
        ]
        return found[0] if len(found) == 1 else ""

    def advance_clock(self, seconds: float) -> datetime:
        """Move the functions' clock, and the scheduler's, `seconds` forward; the new time.

        A job's expiry then comes due at once instead of after its real duration: the scheduler fires
        it on its next tick and expire_job finds the deadline passed, as it would in AWS days later.
        ``reset_clock`` goes back to the system's time. S3's presigned forms and the vendor sandboxes
        keep the real time.
        """
        CLOCK.ahead += timedelta(seconds=seconds)
        return utcnow()

    def reset_clock(self) -> None:
        CLOCK.ahead = timedelta(0)

    def issue_api_key(self, tenant_id: str, organisation_name: str | None = LOCAL_ORGANISATION) -> str:
        """A new API key for `tenant_id` on this stack (what `voiceclone admin issue-key` does in AWS).

        The tenant's organisation name is set too (None: left as it is), as an operator onboarding a
        tenant would: jobs need it for their consent statement.
        """
        from voiceclone.logic.account.api_keys import issue_api_key
        from voiceclone.logic.account.settings import set_policy
        from voiceclone.store import Store

        store = Store(self.table_name, self.client("dynamodb"))
        key = issue_api_key(store.account, tenant_id)
        if organisation_name is not None:
            set_policy(store.tenants, tenant_id, organisation_name=organisation_name)
        return key

    def _vendor_secret(self, vendor: str) -> dict[str, str]:
        """A vendor secret's local value: each declared field, from its variable or else the sandbox."""
        from voiceclone.vendors.config import env_name
        from voiceclone.vendors.registry import adapter_class

        adapter = adapter_class(vendor)
        sandbox = self.sandboxes.get(vendor)
        offered = sandbox.credentials() if sandbox is not None else {}
        values: dict[str, str] = {}
        for key in (*adapter.credential_fields, *adapter.optional_fields):
            value = os.environ.get(env_name(vendor, key)) or offered.get(key)
            if value:
                values[key] = value
        return values

    def _vendor_secrets(self, secrets: dict[str, Any], refs: dict[str, Any]) -> None:
        """Each vendor's credentials in its Secrets Manager secret, as in AWS (not in plain variables).

        The template has one secret per vendor (``voiceclone/<vendor>``); a vendor registered at run
        time has none there, so it gets one here and its VOICECLONE_<VENDOR>_SECRET_ARN.
        """
        from voiceclone.vendors.config import env_name
        from voiceclone.vendors.registry import vendor_ids

        sm = self.client("secretsmanager")
        in_template: set[str] = set()
        for logical, res in secrets.items():
            name = res["Properties"]["Name"]
            vendor = name.split("/", 1)[-1]
            in_template.add(vendor)
            sm.create_secret(Name=name, SecretString=json.dumps(self._vendor_secret(vendor)))
            refs[logical] = sm.describe_secret(SecretId=name)["ARN"]
        for vendor in vendor_ids():
            if vendor not in in_template:
                created = sm.create_secret(
                    Name=f"voiceclone/{vendor}", SecretString=json.dumps(self._vendor_secret(vendor))
                )
                self._set_env({env_name(vendor, "secret_arn"): created["ARN"]})

    def _invoke(self, function_name: str, event: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        resp = self.client("lambda").invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        payload = json.loads(resp["Payload"].read() or b"{}")
        return payload, resp.get("FunctionError")

    def _invoke_stream(self, function_name: str, event: dict[str, Any], out: Any) -> bool:
        """Run a streaming function in-process, its answer written to ``out`` as it goes."""
        props = self._function_props[function_name]
        context = lambda_shim.LocalLambdaContext(
            function_name=function_name,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}",
            memory_limit_in_mb=int(props.get("MemorySize", 512)),
            timeout_seconds=int(props.get("Timeout", 30)),
        )
        return lambda_shim.invoke_streaming(self.invocations, str(props["Handler"]), context, event, out)

    # ----- inspection for tests and the benchmark -------------------------------------------------

    def execution_arn(self, execution_name: str, state_machine_arn: str = "") -> str:
        """An execution of the training workflow (or of ``state_machine_arn``, e.g. the speech one)."""
        # Imported here: the service's modules read their settings once the stack has set the environment.
        from voiceclone.logic.training.jobs import execution_arn

        return execution_arn(state_machine_arn or self.state_machine_arn, execution_name)

    def execution_history(self, execution_name: str, state_machine_arn: str = "") -> list[dict[str, Any]]:
        """Every event of an execution of the training workflow (or of ``state_machine_arn``)."""
        sfn = self.client("stepfunctions")
        arn = self.execution_arn(execution_name, state_machine_arn)
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": arn}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def execution_ended(self, job_id: str, timeout: float = 60.0) -> bool:
        """Wait until the job's execution no longer runs anything (its interpreter returned, a
        stopped one included): after that no step of it calls a vendor or writes a record."""
        return sfn_stop.wait_ended(self.execution_arn(job_id), timeout)

    def execution_status(self, job_id: str) -> str:
        arn = self.execution_arn(job_id)
        return str(self.client("stepfunctions").describe_execution(executionArn=arn)["status"])


def _reset_function_caches() -> None:
    """Forget settings, clients and adapters built for an earlier environment."""
    from voiceclone import aws
    from voiceclone.logic.core import services
    from voiceclone.settings import get_settings
    from voiceclone.vendors.registry import get_adapter

    aws.reset()
    services.reset()
    get_settings.cache_clear()
    get_adapter.cache_clear()
    _reset_parameters()


def _reset_parameters() -> None:
    """Forget Powertools Parameters' providers and cached values: its secrets provider keeps the client
    (and so the moto endpoint) of the stack that first read a secret, and a second stack in the same
    process would read its vendor secrets from the first one's port."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    DEFAULT_PROVIDERS.clear()
    parameters.clear_caches()  # type: ignore[no-untyped-call]


@contextmanager
def running(**kwargs: Any) -> Iterator[LocalStack]:
    stack = LocalStack(**kwargs).start()
    try:
        yield stack
    finally:
        stack.stop()


def _allow_open_files(wanted: int) -> None:
    """Raise this process's soft limit on open files to ``wanted``, or to the hard limit if lower."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
