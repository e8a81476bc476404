"""Silence jsii's Node end-of-life banner before CDK's kernel starts (imported by infra/__init__)."""

from __future__ import annotations

import os
import shutil
import subprocess

# jsii names the variable after the condition: END_OF_LIFE is the banner Node 20 gets (its DEPRECATED
# and UNTESTED siblings, for a Node near its end or newer than jsii knows, are left to speak).
SILENCE_END_OF_LIFE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"


def silence_node_banner() -> None:
    """Keep jsii's Node-support banner off the console before its kernel starts (first aws_cdk import).

    Synthesis needs Node only to run CDK's jsii kernel on this machine; jsii's warning that the
    installed Node is past jsii's support window says nothing a user of the local stack can act on,
    and it arrived as raw Python bytes before anything of ours. Silenced for the Node that runs
    here only (jsii takes a list of major versions), and never over a value the user set.
    """
    node = shutil.which(os.environ.get("JSII_NODE") or "node")
    if node is None:
        return
    try:
        version = subprocess.run(  # noqa: S603 - the Node jsii itself would run
            [node, "--version"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return
    major = version.strip().lstrip("v").split(".")[0]
    if major.isdigit():
        os.environ.setdefault(SILENCE_END_OF_LIFE, major)


silence_node_banner()
