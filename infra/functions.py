"""The Lambda functions: defaults set once, one role each, one code asset packaged without Docker."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, Duration, ILocalBundling, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constants import FUNCTION_NAMES, FUNCTIONS_DIR, REPO_ROOT, SERVICE_NAME, handler_of, logical_id_of
from infra.settings import StackSettings

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
# Lambda's Python runtime ships boto3; the rest of [project].dependencies is bundled.
PROVIDED_BY_RUNTIME = ("boto3",)
LONGER_TIMEOUTS = {"check_sentence": 60, "submit_training": 60}


def runtime_requirements() -> list[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return [d for d in project["dependencies"] if not d.startswith(PROVIDED_BY_RUNTIME)]


@jsii.implements(ILocalBundling)
class PipBundling:
    """Bundle with the local pip for Lambda's platform (manylinux aarch64 wheels), so no Docker is needed."""

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        target = Path(output_dir)
        subprocess.run(  # noqa: S603 - fixed arguments, requirements from our own pyproject
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--target", str(target),
                "--platform", "manylinux2014_aarch64", "--implementation", "cp",
                "--python-version", RUNTIME.name.removeprefix("python"),
                "--only-binary=:all:", *runtime_requirements(),
            ],
            check=True,
        )  # fmt: skip
        shutil.copytree(
            FUNCTIONS_DIR / "voiceclone",
            target / "voiceclone",
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        return True


def code_asset() -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        # Hash what is shipped, so a changed dependency pin also makes a new asset.
        asset_hash_type=AssetHashType.OUTPUT,
        exclude=["**/__pycache__", "**/*.pyc"],
        bundling=BundlingOptions(
            # Only used if local bundling declined; PipBundling always bundles.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=PipBundling(),
        ),
    )


class Functions(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, settings: StackSettings, environment: dict[str, str]
    ) -> None:
        super().__init__(scope, construct_id)
        code = code_asset()
        common_env = {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": "Voiceclone",
            "POWERTOOLS_LOG_LEVEL": settings.log_level,
            **environment,
        }
        self.by_name: dict[str, lambda_.Function] = {
            name: self._build_function(name, code, common_env) for name in FUNCTION_NAMES
        }

    def _build_function(self, name: str, code: lambda_.Code, environment: dict[str, str]) -> lambda_.Function:
        logical_id = logical_id_of(name)
        log_group = logs.LogGroup(
            self,
            f"{logical_id}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        return lambda_.Function(
            self,
            logical_id,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler_of(name),
            code=code,
            memory_size=512,
            timeout=Duration.seconds(LONGER_TIMEOUTS.get(name, 30)),
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=log_group,
            description=f"voiceclone {name}",
        )

    def __getitem__(self, name: str) -> lambda_.Function:
        return self.by_name[name]
