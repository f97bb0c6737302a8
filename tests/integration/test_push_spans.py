"""A push selects each chunk's eligible people once, in the transaction that writes them: the
chunks draw their spans themselves, the push does not read the spans ahead of them.

Counted by statement, so the figure does not depend on the machine's load: a read of people
in id order with a LIMIT is what ``PeopleRepository.matching_chunk`` sends (the counts of
``eligible_count`` have neither).
"""

from __future__ import annotations

import math

from test_issuance import FACE, PUSH_SCHEME

from builders import CITY, OTHER_CITY, deposit, import_people, make_scheme, synthetic_people
from skillvoucher.application import issuance
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from statement_log import statements_sent

CHUNK = 20


def chunk_reads(flat: str) -> bool:
    """A statement that reads a chunk of people."""
    return "FROM people" in flat and "ORDER BY people.id" in flat and "LIMIT" in flat


def push_scheme(ctx: AppContext, quota: int) -> str:
    """A push scheme over a registry of 300 mixed people, pushed in chunks of ``CHUNK``."""
    ctx.settings = ctx.settings.model_copy(update={"chunk_size": CHUNK})
    import_people(ctx, synthetic_people(300, seed=11, cities=[CITY, OTHER_CITY]))
    deposit(ctx)
    return make_scheme(ctx, **PUSH_SCHEME, quota=quota, budget_fen=quota * FACE).code


def test_each_chunk_reads_its_people_once(ctx: AppContext) -> None:
    pushed_scheme = push_scheme(ctx, quota=400)
    eligible = issuance.eligible_count(ctx, pushed_scheme)
    assert eligible > 2 * CHUNK  # several chunks, written two at a time on PostgreSQL

    with statements_sent(ctx.engine, chunk_reads) as reads:
        pushed = issuance.push_issue(ctx, pushed_scheme)

    assert pushed.issued == eligible
    # One read per chunk, and one more that finds nobody left (the quota is not reached).
    assert len(reads) == math.ceil(eligible / CHUNK) + 1
    # After the first, each chunk reads the vouchers of its own people on (both anti-joins
    # bounded), not every voucher from the first holder: at 10 M people that unbounded read
    # made each chunk slower than the one before it.
    assert "vouchers.person_id >" not in reads[0]
    assert all(r.count("vouchers.person_id >") == 2 for r in reads[1:])
    assert ledger_problems(ctx) == []

    with statements_sent(ctx.engine, chunk_reads) as again:
        assert issuance.push_issue(ctx, pushed_scheme).issued == 0
    assert len(again) == 1


def test_a_push_cut_by_the_quota_reads_no_span_beyond_it(ctx: AppContext) -> None:
    quota = CHUNK + CHUNK // 2
    scheme = push_scheme(ctx, quota)
    assert issuance.eligible_count(ctx, scheme) > quota

    with statements_sent(ctx.engine, chunk_reads) as reads:
        pushed = issuance.push_issue(ctx, scheme)

    assert pushed.issued == quota
    assert pushed.quota_left == 0
    assert len(reads) == 2  # a full chunk and a half one, nothing read past the quota
    assert ledger_problems(ctx) == []
