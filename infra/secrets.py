"""Vendor credentials in Secrets Manager, one secret per vendor.

After deploying, the operator writes the real credentials into each secret,
e.g. ``{"secret_id": "AKID...", "secret_key": "..."}`` for ``voiceclone/tencent_vrs``
(fields per vendor: VENDOR_SECRET_FIELDS).
The functions read them through Powertools Parameters (cached for 5 minutes).
"""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constants import VENDORS

# The credential fields of each vendor's secret (the adapters read them by these names).
VENDOR_SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "tencent_vrs": ("secret_id", "secret_key"),
    "tencent_gateway": ("secret_id", "secret_key"),
    "volcengine": ("appid", "access_token", "access_key_id", "secret_access_key"),
    "qiniu": ("api_key",),
    "huawei": ("project_id", "access_key", "secret_key"),
}


class VendorSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.secrets: dict[str, secretsmanager.Secret] = {
            vendor: self._build_secret(vendor) for vendor in VENDORS
        }

    def _build_secret(self, vendor: str) -> secretsmanager.Secret:
        *templated, generated_field = VENDOR_SECRET_FIELDS[vendor]
        return secretsmanager.Secret(
            self,
            "".join(p.title() for p in vendor.split("_")),
            secret_name=f"voiceclone/{vendor}",
            description=f"{vendor} credentials for voiceclone: replace the placeholders with the real ones",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps(dict.fromkeys(templated, "REPLACE_ME")),
                generate_string_key=generated_field,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
