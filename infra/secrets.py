"""Vendor credentials in Secrets Manager, one secret per vendor.

After deploying, the operator writes the real credentials into each secret,
e.g. ``{"secret_id": "AKID...", "secret_key": "..."}`` for ``voiceclone/tencent_vrs``.
The functions read them through Powertools Parameters (cached for 5 minutes).
"""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constants import VENDORS

# The fields of each vendor's secret; the first is templated, the last generated as a placeholder.
VENDOR_SECRET_FIELDS: dict[str, tuple[str, str]] = {"tencent_vrs": ("secret_id", "secret_key")}


class VendorSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.secrets: dict[str, secretsmanager.Secret] = {
            vendor: self._build_secret(vendor) for vendor in VENDORS
        }

    def _build_secret(self, vendor: str) -> secretsmanager.Secret:
        template_field, generated_field = VENDOR_SECRET_FIELDS[vendor]
        return secretsmanager.Secret(
            self,
            "".join(p.title() for p in vendor.split("_")),
            secret_name=f"voiceclone/{vendor}",
            description=f"{vendor} credentials for voiceclone: replace the placeholders with the real ones",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({template_field: "REPLACE_ME"}),
                generate_string_key=generated_field,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
