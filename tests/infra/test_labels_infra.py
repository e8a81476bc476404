"""Labels in the template: the KMS signing key, who may sign with it, where its certificates live."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Annotations, Match

from infra import constants as c
from infra.api import BINARY_MEDIA_TYPES, CLIENT_ROUTES
from infra.labels import NOT_CONFIGURED, SIGNING_KEY_OUTPUT
from infra.settings import StackSettings
from infra.stack import LABELLERS, PROVENANCE_CHECKERS
from infra.template_tools import resources_of_type
from tests.infra.conftest import environment_of, handlers_allowed, policy_actions_by_role, role_of

LABELLING = {c.handler_of(name) for name in LABELLERS}


def _only(template_json: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = resources_of_type(template_json, kind)
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


def _signing_key(template_json: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The asymmetric key (the stack's other keys encrypt, e.g. the alarm topic's)."""
    keys = resources_of_type(template_json, "AWS::KMS::Key")
    found = [(k, r) for k, r in keys.items() if r["Properties"].get("KeyUsage") == "SIGN_VERIFY"]
    assert len(found) == 1, sorted(keys)
    return found[0]


def _parameters(template_json: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The certificate parameters by name ending (certificate-chain, trust-anchors): logical id, resource."""
    found = resources_of_type(template_json, "AWS::SSM::Parameter")
    return {r["Properties"]["Name"].rsplit("/", 1)[-1]: (k, r) for k, r in found.items()}


def test_the_signing_key_is_an_ecc_p256_sign_verify_key_in_kms_kept_with_its_certificate(
    template_json: dict[str, Any],
) -> None:
    logical, key = _signing_key(template_json)
    assert key["Properties"]["KeySpec"] == "ECC_NIST_P256"
    assert key["DeletionPolicy"] == "Retain"
    # Its ARN is an output: what the operator requests the certificate for
    assert template_json["Outputs"][SIGNING_KEY_OUTPUT]["Value"] == {"Fn::GetAtt": [logical, "Arn"]}


def test_only_the_functions_that_label_may_sign_and_with_nothing_but_this_key(
    template_json: dict[str, Any],
) -> None:
    logical, _ = _signing_key(template_json)
    assert handlers_allowed(template_json, "kms:Sign") == LABELLING
    kms_actions = {
        handler: {a for a in policy_actions_by_role(template_json).get(role, set()) if a.startswith("kms:")}
        for handler, role in role_of(template_json).items()
    }
    assert {h: a for h, a in kms_actions.items() if a} == {h: {"kms:Sign"} for h in LABELLING}
    signing = [
        s
        for policy in resources_of_type(template_json, "AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "kms:Sign"
    ]
    assert signing and all(s["Resource"] == {"Fn::GetAtt": [logical, "Arn"]} for s in signing)


def test_the_labelling_functions_know_the_key_and_the_parameters_the_others_nothing_of_labels(
    template_json: dict[str, Any],
) -> None:
    key, _ = _signing_key(template_json)
    chain, anchors = (_parameters(template_json)[n][0] for n in ("certificate-chain", "trust-anchors"))
    for name in c.FUNCTION_NAMES:
        env = environment_of(template_json, c.handler_of(name))
        labels = {k: v for k, v in env.items() if "C2PA" in k or "LABEL" in k or "AIGC" in k}
        if name not in LABELLERS:
            assert labels == {}, name
            continue
        assert labels[c.ENV_C2PA_KMS_KEY_ID] == {"Fn::GetAtt": [key, "Arn"]}
        assert labels[c.ENV_C2PA_CERTIFICATE_CHAIN_PARAMETER] == {"Ref": chain}
        assert (labels.get(c.ENV_C2PA_TRUST_ANCHORS_PARAMETER) == {"Ref": anchors}) == (
            name in PROVENANCE_CHECKERS
        )
        # The defaults: audible label on, raw PCM refused, manifests signed; no producer is invented
        assert (labels[c.ENV_LABEL_EXPLICIT], labels[c.ENV_LABEL_PCM], labels[c.ENV_LABEL_SIGN]) == (
            "true",
            "refuse",
            "true",
        )
        assert c.ENV_AIGC_CONTENT_PRODUCER not in labels
    # Only they may read the parameters: the chain both, the anchors the one that checks files
    readers = {
        handler
        for handler, role in role_of(template_json).items()
        if "ssm:GetParameter" in policy_actions_by_role(template_json).get(role, set())
    }
    assert readers == LABELLING


def test_an_unconfigured_stack_holds_no_certificate_and_says_what_is_missing(
    template_json: dict[str, Any], nagged: Any
) -> None:
    for _, parameter in _parameters(template_json).values():
        assert parameter["Properties"]["Value"] == NOT_CONFIGURED
    (warning,) = Annotations.from_stack(nagged).find_warning("*", Match.string_like_regexp("labels are not"))
    text = str(warning.entry.data)
    assert all(key in text for key in (c.CTX_AIGC_CONTENT_PRODUCER, c.CTX_C2PA_CERTIFICATE_CHAIN))
    assert c.CTX_C2PA_TRUST_ANCHORS in text


def test_the_operators_choices_become_the_labelling_functions_settings() -> None:
    settings = StackSettings.from_mapping(
        {
            c.CTX_AIGC_CONTENT_PRODUCER: "001191110102MAD55U9H0F10002",
            c.CTX_LABEL_EXPLICIT: False,
            c.CTX_LABEL_PCM: "header",
            c.CTX_LABEL_SIGN: "false",
        }
    )
    assert settings.label_environment() == {
        c.ENV_AIGC_CONTENT_PRODUCER: "001191110102MAD55U9H0F10002",
        c.ENV_LABEL_EXPLICIT: "false",
        c.ENV_LABEL_PCM: "header",
        c.ENV_LABEL_SIGN: "false",
    }


def test_the_file_a_client_checks_reaches_the_api_as_bytes(template_json: dict[str, Any]) -> None:
    from voiceclone.rest.hardening import AUDIO_MEDIA_TYPES

    assert ("POST", "/v1/provenance") in CLIENT_ROUTES
    assert set(AUDIO_MEDIA_TYPES) <= set(BINARY_MEDIA_TYPES)
    _, api = _only(template_json, "AWS::ApiGateway::RestApi")
    assert set(api["Properties"]["BinaryMediaTypes"]) == set(BINARY_MEDIA_TYPES)
