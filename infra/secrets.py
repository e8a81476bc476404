"""Vendor credentials: one Secrets Manager secret per vendor, filled in by the operator after deploying."""

from __future__ import annotations

import json
import sys

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c

try:
    from voiceclone.vendors.config import env_name
    from voiceclone.vendors.registry import adapter_class
except ModuleNotFoundError:  # the package is not installed: take it from the source tree
    sys.path.append(str(c.FUNCTIONS_DIR))
    from voiceclone.vendors.config import env_name
    from voiceclone.vendors.registry import adapter_class


def secret_fields(vendor: str) -> tuple[str, ...]:
    """The JSON fields of a vendor's secret: the credentials its adapter declares (read by those names)."""
    return adapter_class(vendor).credential_fields


def secret_name_of(vendor: str) -> str:
    return f"{c.SERVICE_NAME}/{vendor}"


class VendorSecrets(Construct):
    """One secret per vendor, named ``voiceclone/<vendor>``, holding that vendor's credentials as JSON.

    CloudFormation cannot know a vendor's API keys, so the stack creates each secret with
    placeholders: ``REPLACE_ME`` for every field but the last, which is generated so the
    template never carries a value. After the first deploy the operator writes the real
    credentials, e.g. for Tencent VRS (SecretId / SecretKey of a CAM user allowed to call VRS)::

        aws secretsmanager put-secret-value --secret-id voiceclone/tencent_vrs \\
            --secret-string '{"secret_id": "AKID...", "secret_key": "..."}'

    The functions find a secret by ``VOICECLONE_<VENDOR>_SECRET_ARN`` and cache its value
    for five minutes, so a new key is in use within minutes, without a deploy.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.by_vendor: dict[str, secretsmanager.Secret] = {
            vendor: self._build_secret(vendor) for vendor in c.vendor_ids()
        }

    def environment(self) -> dict[str, str]:
        """VOICECLONE_<VENDOR>_SECRET_ARN for each vendor."""
        return {env_name(v, "secret_arn"): s.secret_arn for v, s in self.by_vendor.items()}

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Read access to every vendor's secret: a function serves whichever vendor a job names."""
        for secret in self.by_vendor.values():
            secret.grant_read(grantee)

    def _build_secret(self, vendor: str) -> secretsmanager.Secret:
        # A vendor without credentials still gets a (JSON) secret, so its settings can live there.
        *placeholders, generated = secret_fields(vendor) or ("unused",)
        secret = secretsmanager.Secret(
            self,
            "".join(part.title() for part in vendor.split("_")),
            secret_name=secret_name_of(vendor),
            description=f"{vendor} credentials for voiceclone: replace the placeholders with the real ones",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps(dict.fromkeys(placeholders, "REPLACE_ME")),
                generate_string_key=generated,
            ),
            # The credentials outlive the stack: deleting it must not lock the operator out.
            removal_policy=RemovalPolicy.RETAIN,
        )
        NagSuppressions.add_resource_suppressions(
            secret,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason="Vendor API keys are issued by the vendor and cannot be rotated by a rotation "
                    "Lambda; the operator rotates them at the vendor and writes the new ones here.",
                )
            ],
        )
        return secret
