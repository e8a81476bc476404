"""Job expiry: the schedule group for one-time per-job schedules, the role Scheduler invokes with, the grants.

A job waiting for recordings has one EventBridge Scheduler schedule (``at(...)``, deleted by
Scheduler after it fires) that invokes expire_job at its deadline (voiceclone.logic.training.expiry).
Schedules cost nothing while they wait, unlike a poller sweeping the table; the functions that
arm them (the api at create, the workflow steps that send a job back to CHECK_FAILED) may only
write schedules of this group and pass this one role.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c


class JobExpiry(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        expire_function: lambda_.Function,
        arming_functions: Iterable[lambda_.Function],
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = self._build_group()
        self.role = self._build_role(expire_function)
        for function in arming_functions:
            self._allow_arming(function, expire_function)

    def _build_group(self) -> scheduler.ScheduleGroup:
        # Schedules delete themselves after firing; a removed stack takes the waiting ones along.
        return scheduler.ScheduleGroup(self, "Schedules", removal_policy=RemovalPolicy.DESTROY)

    def _build_role(self, expire_function: lambda_.Function) -> iam.Role:
        """The role Scheduler assumes to invoke expire_job: for this account's schedules only."""
        stack = Stack.of(self)
        role = iam.Role(
            self,
            "SchedulerRole",
            description="EventBridge Scheduler: invoke voiceclone expire_job when a job's deadline comes",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )
        expire_function.grant_invoke(role)
        return role

    def _allow_arming(self, function: lambda_.Function, expire_function: lambda_.Function) -> None:
        function.add_environment(c.ENV_EXPIRY_SCHEDULE_GROUP, self.group.schedule_group_name)
        function.add_environment(c.ENV_EXPIRY_FUNCTION_ARN, expire_function.function_arn)
        function.add_environment(c.ENV_EXPIRY_ROLE_ARN, self.role.role_arn)
        self.group.grants.write_schedules(function)
        self.role.grant_pass_role(function.grant_principal)
        if function.role is not None:
            NagSuppressions.add_resource_suppressions(
                function.role,
                [
                    NagPackSuppression(
                        id="AwsSolutions-IAM5",
                        reason="Schedule names are per job (expire-<job id>): create/update is granted on "
                        "the schedules of the one expiry group, which holds nothing else.",
                        applies_to=[f"Resource::{self._schedules_arn()}"],
                    )
                ],
                apply_to_children=True,
            )

    def _schedules_arn(self) -> str:
        """The group's schedules, as cdk-nag names the grant's resource (the group's name is plain text)."""
        return (
            "arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/"
            f"{self.group.schedule_group_name}/*"
        )
