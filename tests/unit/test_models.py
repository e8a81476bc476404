"""The job lifecycle: which status may follow which."""

import pytest
from voiceclone.domain.errors import InvalidTransition
from voiceclone.domain.models import ALLOWED_TRANSITIONS, JobStatus, check_transition


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (JobStatus.AWAITING_AUDIO, JobStatus.CHECKING),
        (JobStatus.CHECKING, JobStatus.TRAINING),
        (JobStatus.CHECKING, JobStatus.CHECK_FAILED),
        (JobStatus.CHECK_FAILED, JobStatus.CHECKING),
        (JobStatus.TRAINING, JobStatus.SUCCEEDED),
        (JobStatus.TRAINING, JobStatus.FAILED),
        (JobStatus.TRAINING, JobStatus.CANCELLED),
    ],
)
def test_allowed_transitions_pass(current: JobStatus, new: JobStatus) -> None:
    check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (JobStatus.AWAITING_AUDIO, JobStatus.TRAINING),  # no training without checks
        (JobStatus.AWAITING_AUDIO, JobStatus.SUCCEEDED),
        (JobStatus.CHECK_FAILED, JobStatus.TRAINING),  # rejected sentences are checked again first
        (JobStatus.SUCCEEDED, JobStatus.FAILED),
        (JobStatus.FAILED, JobStatus.TRAINING),
        (JobStatus.CANCELLED, JobStatus.CHECKING),
    ],
)
def test_forbidden_transitions_raise(current: JobStatus, new: JobStatus) -> None:
    with pytest.raises(InvalidTransition) as info:
        check_transition(current, new)
    assert current.value in info.value.message and new.value in info.value.message


def test_terminal_statuses_have_no_way_out() -> None:
    for status in JobStatus:
        assert (not ALLOWED_TRANSITIONS[status]) == status.terminal
