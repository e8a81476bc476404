"""Labels on speech: the KMS key that signs the C2PA manifests, and what the functions that label are told.

The key is ECC_NIST_P256 for SIGN_VERIFY: its private half never leaves KMS, and the functions
that label (api for synchronous speech, speech_finish for asynchronous) may only ``kms:Sign``
with it. Its certificate is the operator's CA's to issue: the stack outputs the key's ARN, the
operator makes a certificate request for it (``python -m voiceclone.provenance.csr``), and the
issued chain comes back as context (README, "Labels"). The GB 45438 content producer is the
operator's too. Until both are given, speech is refused rather than handed out unlabelled, and
the synthesis says so.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Annotations, CfnOutput, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants as c
from infra.settings import StackSettings

# Output key of the signing key's ARN: what the certificate request is made for.
SIGNING_KEY_OUTPUT = "C2paSigningKeyArn"


class SpeechLabels(Construct):
    """The C2PA signing key, granted to the labelling functions, and their label settings."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: StackSettings,
        labellers: Mapping[str, lambda_.Function],
        checkers: tuple[str, ...],
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "C2paSigningKey",
            description="voiceclone: signs the C2PA manifests of generated speech (ES256)",
            key_spec=kms.KeySpec.ECC_NIST_P256,
            key_usage=kms.KeyUsage.SIGN_VERIFY,
            # The operator's certificate names this key: a new stack keeps signing under it.
            removal_policy=RemovalPolicy.RETAIN,
        )
        for name, function in labellers.items():
            function.add_environment(c.ENV_C2PA_KMS_KEY_ID, self.key.key_arn)
            for key, value in settings.label_environment(trust=name in checkers).items():
                function.add_environment(key, value)
            self.key.grant(function, "kms:Sign")
        output = CfnOutput(
            self,
            "SigningKeyArn",
            value=self.key.key_arn,
            description="The KMS key that signs speech's C2PA manifests: request its certificate (README)",
        )
        output.override_logical_id(SIGNING_KEY_OUTPUT)
        needed = {
            c.CTX_AIGC_CONTENT_PRODUCER: settings.aigc_content_producer,
            c.CTX_C2PA_CERTIFICATE_CHAIN: settings.c2pa_certificate_chain or not settings.label_sign,
            c.CTX_C2PA_TRUST_ANCHORS: settings.c2pa_trust_anchors,
        }
        missing = [key for key, value in needed.items() if not value]
        if missing:
            Annotations.of(self).add_warning_v2(
                "voiceclone:labels-not-configured",
                f"labels are not configured ({', '.join(missing)}): speech is refused without a content "
                "producer and a certificate, POST /v1/provenance without trust anchors (README, Labels)",
            )
