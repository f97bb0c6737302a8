import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillvoucher.domain.errors import IllegalTransition
from skillvoucher.domain.vouchers import (
    FINAL_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    VoucherEvent,
    VoucherStatus,
    next_status,
    sources_of,
)


def test_happy_path_reaches_settled() -> None:
    status = VoucherStatus.ISSUED
    for event in (
        VoucherEvent.ENROL,
        VoucherEvent.START_TRAINING,
        VoucherEvent.COMPLETE,
        VoucherEvent.SETTLE,
    ):
        status = next_status(status, event)
    assert status is VoucherStatus.SETTLED


def test_cancelled_enrolment_goes_back_to_issued() -> None:
    assert (
        next_status(VoucherStatus.ENROLLED, VoucherEvent.CANCEL_ENROLMENT) is VoucherStatus.ISSUED
    )


@given(st.sampled_from(list(VoucherStatus)), st.sampled_from(list(VoucherEvent)))
def test_no_move_outside_the_table(status: VoucherStatus, event: VoucherEvent) -> None:
    if (status, event) in TRANSITIONS:
        assert next_status(status, event) is TRANSITIONS[(status, event)]
    else:
        with pytest.raises(IllegalTransition, match=status.value):
            next_status(status, event)


def test_final_statuses_have_no_way_out() -> None:
    assert not [key for key in TRANSITIONS if key[0] in FINAL_STATUSES]


def test_a_settled_voucher_leaves_only_by_claw_back() -> None:
    assert [ev for (st, ev) in TRANSITIONS if st is VoucherStatus.SETTLED] == [
        VoucherEvent.CLAW_BACK
    ]
    assert VoucherStatus.SETTLED in TERMINAL_STATUSES


def test_only_unfinished_vouchers_can_be_revoked() -> None:
    assert set(sources_of(VoucherEvent.REVOKE)) == {
        VoucherStatus.ISSUED,
        VoucherStatus.ENROLLED,
        VoucherStatus.IN_TRAINING,
    }
