import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillvoucher.domain.ledger import MOVES, JournalKind, Movement, Reversal


@given(st.sampled_from(list(MOVES)), st.integers(1, 10**12))
def test_every_movement_balances(kind: JournalKind, amount: int) -> None:
    postings = Movement(kind, amount, "140100", scheme_id=uuid.uuid4()).postings()
    assert sum(p.amount_fen for p in postings) == 0
    assert postings[0].account is MOVES[kind][0]
    assert postings[1].account is MOVES[kind][1]


@given(st.sampled_from(list(MOVES)), st.integers(1, 10**12))
def test_a_reversal_undoes_its_original(kind: JournalKind, amount: int) -> None:
    original = Movement(kind, amount, "140100").postings()
    undo = Reversal(kind, amount, "140100").postings()
    totals: dict[object, int] = {}
    for posting in (*original, *undo):
        totals[posting.account] = totals.get(posting.account, 0) + posting.amount_fen
    assert set(totals.values()) == {0}


def test_movements_move_positive_amounts_only() -> None:
    with pytest.raises(ValueError, match="positive"):
        Movement(JournalKind.COMMITMENT, 0, "140100")
    with pytest.raises(ValueError, match="reverse"):
        Movement(JournalKind.REVERSAL, 10, "140100")
