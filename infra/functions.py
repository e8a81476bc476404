"""The Lambda functions: defaults set once, one role each, code assets packaged with pip, not Docker.

Each function's package holds the lean base dependencies, the optional groups its row in
voiceclone.handlers.table declares (PyAV for the sentence check, C2PA for labelling speech) and
the service's code: one asset per distinct set of groups, shared by the functions that declare it
(README, "Packages per function").
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy, Tags
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct
from voiceclone.handlers import table

from infra import constants as c
from infra.settings import StackSettings

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
# Lambda's python3.13 runtime is Amazon Linux 2023 (glibc 2.34) on arm64: any manylinux wheel up to
# 2.34 runs there. pip takes the tags literally, so the usual ones are listed.
PIP_PLATFORMS = (
    "manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64",
)  # fmt: skip
MEMORY_MB = 512
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# Lambda's Python runtime ships boto3 and snapshot-restore-py (SnapStart's runtime hooks); bundling
# another copy would only slow cold starts.
PROVIDED_BY_RUNTIME = ("boto3", "snapshot-restore-py")
# The functions a client waits on (README, "Cold starts"; voiceclone.handlers.table): SnapStart
# restores them from a snapshot of their initialized process, taken when a version is published.
# Callers invoke their LIVE_ALIAS, which follows the current version. The workflow's functions keep
# plain cold starts: nobody waits on them and their cold starts are rare (one container serves many).
SNAPSTART_FUNCTIONS = tuple(f.name for f in table.FUNCTIONS if f.snapstart)
LIVE_ALIAS = "live"
# The tag that names each function's package in the template (which groups it carries, or "base").
PACKAGE_TAG = "voiceclone:package"

Extras = tuple[str, ...]
# A streaming function (voiceclone.handlers.table, kind "stream") runs voiceclone.runtime in place of
# AWS's runtime client: Lambda starts this script with the runtime's own command (docs/streaming-runtime.md).
EXEC_WRAPPER_ENV = "AWS_LAMBDA_EXEC_WRAPPER"
EXEC_WRAPPER = "/var/task/voiceclone/runtime/exec-wrapper"


def extras_of(name: str) -> Extras:
    """The optional dependency groups function `name`'s package carries, in one order (its row's)."""
    return tuple(sorted(set(table.function(name).extras)))


def package_name(extras: Extras) -> str:
    """How the template names a package: its groups joined ("audio", "audio+labels"), or "base"."""
    return "+".join(extras) or "base"


def runtime_requirements(extras: Iterable[str] = (), pyproject: Path = c.PYPROJECT) -> list[str]:
    """[project].dependencies and the named groups of [project.optional-dependencies], minus what
    the runtime provides: the pins there are the pins shipped."""
    project = tomllib.loads(pyproject.read_text())["project"]
    groups: dict[str, list[str]] = project.get("optional-dependencies", {})
    requirements: list[str] = list(project["dependencies"])
    for extra in sorted(set(extras)):
        if extra not in groups:
            raise ValueError(f"no optional dependency group {extra!r} in {pyproject.name}")
        requirements += groups[extra]
    return [r for r in requirements if _distribution(r) not in PROVIDED_BY_RUNTIME]


def _distribution(requirement: str) -> str:
    for stop in "<>=!~;[ @":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip().lower()


def pip_install(target: Path, requirements: list[str]) -> None:
    """Install `requirements` into `target` as wheels built for Lambda's platform."""
    subprocess.run(  # noqa: S603 - fixed arguments; the requirements come from our own pyproject
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--target", str(target),
            *(arg for platform in PIP_PLATFORMS for arg in ("--platform", platform)),
            "--implementation", "cp",
            "--python-version", RUNTIME.name.removeprefix("python"),
            "--only-binary=:all:",
            # .pyc files of this interpreter's version would be dead weight for 3.13.
            "--no-compile",
            *requirements,
        ],
        check=True,
    )  # fmt: skip


def copy_service(target: Path) -> None:
    """The service's code (functions/voiceclone), beside its dependencies."""
    shutil.copytree(
        c.FUNCTIONS_DIR / "voiceclone",
        target / "voiceclone",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )


@jsii.implements(ILocalBundling)
class PipBundling:
    """Bundles the code with the local pip and wheels built for Lambda's platform.

    Docker is not needed (and not available on the machines this is built on): pip can
    fetch manylinux aarch64 wheels for CPython 3.13 from any host. Source distributions
    are refused, so nothing is compiled for the wrong platform. `extras` names the optional
    dependency groups installed beside the base dependencies.
    """

    def __init__(self, extras: Extras = ()) -> None:
        self.extras = extras

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        target = Path(output_dir)
        pip_install(target, runtime_requirements(self.extras))
        copy_service(target)
        return True


def code_asset(extras: Extras = ()) -> lambda_.Code:
    """The package of every function whose row declares `extras`: one upload per distinct set."""
    return lambda_.Code.from_asset(
        str(c.FUNCTIONS_DIR),
        # Hash what is shipped, so a changed dependency pin also makes a new asset.
        asset_hash_type=AssetHashType.OUTPUT,
        exclude=["**/__pycache__", "**/*.pyc"],
        bundling=BundlingOptions(
            # Only used if local bundling declined; PipBundling always bundles.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=PipBundling(extras),
            # CDK stages an asset once per distinct source and bundling options, and the local
            # bundler is not part of that key: without the groups named here every package would be
            # the first one bundled (tests/infra/test_packages.py).
            environment={"VOICECLONE_PACKAGE": package_name(extras)},
        ),
    )


class Functions(Construct):
    """All the functions, built alike so they cannot drift apart (runtime, tracing, logs, env)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: StackSettings,
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.packages: dict[Extras, lambda_.Code] = {
            extras: code_asset(extras) for extras in sorted({extras_of(name) for name in c.FUNCTION_NAMES})
        }
        shared_env = {
            c.ENV_POWERTOOLS_SERVICE_NAME: c.SERVICE_NAME,
            c.ENV_POWERTOOLS_METRICS_NAMESPACE: c.METRICS_NAMESPACE,
            c.ENV_POWERTOOLS_LOG_LEVEL: settings.log_level,
            **environment,
        }
        self.by_name: dict[str, lambda_.Function] = {
            name: self._build_function(name, self.packages[extras_of(name)], shared_env)
            for name in c.FUNCTION_NAMES
        }
        self.aliases: dict[str, lambda_.Alias] = {
            name: lambda_.Alias(
                self,
                f"{c.construct_id_of(name)}Live",
                alias_name=LIVE_ALIAS,
                version=self.by_name[name].current_version,
            )
            for name in SNAPSTART_FUNCTIONS
        }

    def __getitem__(self, name: str) -> lambda_.Function:
        return self.by_name[name]

    def invokable(self, name: str) -> lambda_.IFunction:
        """What a caller invokes: a SnapStart function's live alias (SnapStart applies to published
        versions only, never to $LATEST), else the function."""
        return self.aliases.get(name) or self.by_name[name]

    def _build_function(self, name: str, code: lambda_.Code, environment: dict[str, str]) -> lambda_.Function:
        construct_id = c.construct_id_of(name)
        if table.function(name).kind == "stream":
            environment = {**environment, EXEC_WRAPPER_ENV: EXEC_WRAPPER}
        function = lambda_.Function(
            self,
            construct_id,
            description=f"voiceclone {name}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=c.handler_of(name),
            code=code,
            memory_size=MEMORY_MB,
            timeout=Duration.seconds(table.function(name).timeout_seconds),
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=self._build_log_group(construct_id),
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if name in SNAPSTART_FUNCTIONS else None,
        )
        Tags.of(function).add(
            PACKAGE_TAG, package_name(extras_of(name)), include_resource_types=["AWS::Lambda::Function"]
        )
        NagSuppressions.add_resource_suppressions(
            function,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason="The runtime is pinned to python3.13 on purpose: the bundler fetches cp313 "
                    "aarch64 wheels for the pinned dependencies; the runtime moves with those pins.",
                )
            ],
        )
        return function

    def _build_log_group(self, construct_id: str) -> logs.LogGroup:
        """An explicit log group: retention without CDK's LogRetention custom resource."""
        return logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
