"""tally functions without JIT

The statistics tallies' trigger functions (migration 0010) run with JIT compilation off: their
statements read transition tables, which have no statistics, so the planner's guesses pass
``jit_above_cost`` and PostgreSQL spent about 2 s compiling a statement that then ran in 0.1 s
(an expiry chunk of 5,000 vouchers). PostgreSQL only; the functions are rebuilt by
``tally_sql`` with the same setting.

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-05 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skillvoucher.persistence import tally_sql

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _ in tally_sql.POSTGRES_TRIGGERS:
            op.execute(sa.text(f"ALTER FUNCTION {name}() {tally_sql.NO_JIT}"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _ in tally_sql.POSTGRES_TRIGGERS:
            op.execute(sa.text(f"ALTER FUNCTION {name}() RESET jit"))
