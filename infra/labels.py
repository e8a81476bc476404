"""Labels on speech: the KMS key that signs the C2PA manifests, its certificates, and the labelling functions.

The key is ECC_NIST_P256 for SIGN_VERIFY: its private half never leaves KMS, and the functions
that label (api for synchronous speech, speech_finish for asynchronous) may only ``kms:Sign``
with it. Its certificate is the operator's CA's to issue: the stack outputs the key's ARN, the
operator makes a certificate request for it (``python -m voiceclone.provenance.csr``), and the
issued chain, with the CA's root for POST /v1/provenance to trust, comes back as context
(README, "Labels"). Both PEMs go to SSM parameters, whose names the functions get: a chain with
its intermediates would not fit in Lambda's 4 KB of variables. The GB 45438 content producer is
the operator's too. Until they are given, speech is refused rather than handed out unlabelled,
and the synthesis says so.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Annotations, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import constants as c
from infra.settings import StackSettings

# Output key of the signing key's ARN: what the certificate request is made for.
SIGNING_KEY_OUTPUT = "C2paSigningKeyArn"
# What a certificate parameter holds until the operator's PEM is given (SSM takes no empty value);
# the functions see no certificate in it and refuse to sign (or to judge a file) rather than guess.
NOT_CONFIGURED = "not configured: give the PEM as CDK context (README, Labels)"
# A standard SSM parameter holds 4 KB; a longer chain takes the advanced tier.
STANDARD_PARAMETER_BYTES = 4096


class SpeechLabels(Construct):
    """The C2PA signing key and certificate parameters, granted to the labelling functions; their settings.

    ``checkers`` are the functions that also judge files (POST /v1/provenance): they read the
    trust anchors.
    """

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
        prefix = f"/{Stack.of(self).stack_name}/c2pa"
        self.chain = self._parameter(
            "CertificateChain",
            f"{prefix}/certificate-chain",
            settings.c2pa_certificate_chain,
            "The certificate chain (PEM) of the KMS key that signs speech's C2PA manifests, leaf first",
        )
        self.anchors = self._parameter(
            "TrustAnchors",
            f"{prefix}/trust-anchors",
            settings.c2pa_trust_anchors,
            "The root certificate(s) (PEM) a speech's C2PA manifest must chain to: POST /v1/provenance",
        )
        for name, function in labellers.items():
            function.add_environment(c.ENV_C2PA_KMS_KEY_ID, self.key.key_arn)
            function.add_environment(c.ENV_C2PA_CERTIFICATE_CHAIN_PARAMETER, self.chain.parameter_name)
            for key, value in settings.label_environment().items():
                function.add_environment(key, value)
            self.key.grant(function, "kms:Sign")
            self.chain.grant_read(function)
            if name in checkers:
                function.add_environment(c.ENV_C2PA_TRUST_ANCHORS_PARAMETER, self.anchors.parameter_name)
                self.anchors.grant_read(function)
        output = CfnOutput(
            self,
            "SigningKeyArn",
            value=self.key.key_arn,
            description="The KMS key that signs speech's C2PA manifests: request its certificate (README)",
        )
        output.override_logical_id(SIGNING_KEY_OUTPUT)
        self._say_what_is_missing(settings)

    def _parameter(self, construct_id: str, name: str, pem: str, description: str) -> ssm.StringParameter:
        value = pem.strip() or NOT_CONFIGURED
        return ssm.StringParameter(
            self,
            construct_id,
            parameter_name=name,
            string_value=value,
            description=description,
            tier=ssm.ParameterTier.ADVANCED
            if len(value.encode()) > STANDARD_PARAMETER_BYTES
            else ssm.ParameterTier.STANDARD,
        )

    def _say_what_is_missing(self, settings: StackSettings) -> None:
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
