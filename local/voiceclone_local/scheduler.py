"""Job expiry on the local stack: EventBridge Scheduler's one-time schedules, fired as AWS would fire them.

moto stores schedules (create, update, get, list, delete) but never fires one. `LocalScheduler`
creates the template's schedule groups in moto and, in one thread on one timer, looks for
``at(...)`` schedules that came due, invokes their target function with the schedule's Input
(the same Lambda path a deployed stack takes: expire_job, voiceclone.logic.training.expiry) and then
deletes the schedule where its ActionAfterCompletion says DELETE, as Scheduler does. A target
that fails is tried again on a later tick (Scheduler retries too). Every call goes through the
moto server, so each is serialized under its lock like any other request.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from voiceclone_local.template import resources_of_type

Invoker = Callable[[str, dict[str, Any]], tuple[dict[str, Any], str | None]]
# How often the timer looks for due schedules: the local expiry's resolution (Scheduler's is a minute).
TICK_SECONDS = 0.5
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


def due_at(expression: str, timezone: str | None) -> datetime | None:
    """When a one-time ``at(yyyy-mm-ddThh:mm:ss)`` schedule fires; None for rate/cron schedules."""
    match = _AT.match(expression.strip())
    if match is None:
        return None
    zone = ZoneInfo(timezone) if timezone and timezone != "UTC" else UTC
    return datetime.fromisoformat(match.group(1)).replace(tzinfo=zone).astimezone(UTC)


class LocalScheduler:
    """The template's schedule groups in moto, and the timer that fires their one-time schedules."""

    def __init__(
        self,
        template: dict[str, Any],
        client: Callable[[str], Any],
        invoke: Invoker,
        account: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.template = template
        self.client = client
        self.invoke = invoke
        self.account = account
        self.clock = clock or (lambda: datetime.now(tz=UTC))
        self.groups: list[str] = []
        # (group, name, expression) of every schedule fired, in order: what tests look at.
        self.fired: list[tuple[str, str, str]] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def prepare(self, refs: MutableMapping[str, Any], attrs: MutableMapping[tuple[str, str], Any]) -> None:
        """Create the schedule groups; give them, and the roles Scheduler assumes, to the resolver."""
        scheduler = self.client("scheduler")
        for logical, res in resources_of_type(self.template, "AWS::Scheduler::ScheduleGroup").items():
            name = str(res.get("Properties", {}).get("Name") or logical)
            arn = scheduler.create_schedule_group(Name=name)["ScheduleGroupArn"]
            self.groups.append(name)
            refs[logical] = name
            attrs[(logical, "Arn")] = arn
        for logical, res in resources_of_type(self.template, "AWS::IAM::Role").items():
            if "scheduler.amazonaws.com" in json.dumps(
                res.get("Properties", {}).get("AssumeRolePolicyDocument")
            ):
                attrs[(logical, "Arn")] = f"arn:aws:iam::{self.account}:role/{logical}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=TICK_SECONDS + 30)

    def _run(self) -> None:
        while not self._stopping.wait(TICK_SECONDS):
            try:
                self.fire_due()
            except Exception as exc:  # noqa: BLE001 - the timer keeps going, as Scheduler does
                if self._stopping.is_set():
                    return
                print(f"[local] scheduler: {type(exc).__name__}: {exc}")

    def fire_due(self) -> int:
        """Fire every one-time schedule whose time has come; how many fired."""
        scheduler = self.client("scheduler")
        now = self.clock()
        fired = 0
        for group in self.groups:
            for summary in self._listed(scheduler, group):
                if summary.get("State", "ENABLED") != "ENABLED":
                    continue
                # moto's listing carries the expression (AWS's does not): one read per due schedule only.
                if "ScheduleExpression" in summary and not self._due(summary, now):
                    continue
                schedule = scheduler.get_schedule(GroupName=group, Name=summary["Name"])
                if self._due(schedule, now) and self._fire(scheduler, group, schedule):
                    fired += 1
        return fired

    @staticmethod
    def _listed(scheduler: Any, group: str) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"GroupName": group}
        found: list[dict[str, Any]] = []
        while True:
            page = scheduler.list_schedules(**kwargs)
            found += page.get("Schedules", [])
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    @staticmethod
    def _due(schedule: dict[str, Any], now: datetime) -> bool:
        due = due_at(schedule["ScheduleExpression"], schedule.get("ScheduleExpressionTimezone"))
        return due is not None and due <= now

    def _fire(self, scheduler: Any, group: str, schedule: dict[str, Any]) -> bool:
        target = schedule["Target"]
        function = str(target["Arn"]).rsplit(":", 1)[-1]
        event = json.loads(target.get("Input") or "{}")
        _, error = self.invoke(function, event)
        if error:
            return False  # left in place: tried again on the next tick
        self.fired.append((group, schedule["Name"], schedule["ScheduleExpression"]))
        if schedule.get("ActionAfterCompletion") == "DELETE":
            # Not if it was moved meanwhile (a job re-armed while its old deadline fired).
            current = scheduler.get_schedule(GroupName=group, Name=schedule["Name"])
            if current["ScheduleExpression"] == schedule["ScheduleExpression"]:
                scheduler.delete_schedule(GroupName=group, Name=schedule["Name"])
        return True
