"""province-keyed tables: primary and unique keys that include province_code, foreign keys
within a province (decision 19)

Citus enforces a primary key, a unique key or a foreign key between two distributed tables
only when it includes the distribution column. Every table of a province's working set now
has ``province_code`` in its primary key (after the row's own key, so that a look-up by id
alone is still one index probe), its unique keys end with it, and its references to another
such table name ``(column, province_code)``. The quota stripes and gate and the consent codes
get the column (copied from their scheme and voucher). A resident ID and a scheme code stay
unique in the nation through tables of their own, ``person_directory`` and ``scheme_codes``
(filled from the rows there are), and unique within a province on ``people`` and ``schemes``.
The statistics tallies' ids are numbered by SQLite's inserting statements from now on (see
``tally_sql._insert``), as an id inside a composite key is not the rowid. References to
``people`` go: a scheme
may admit holders of another province, whose row lives there. Sessions are keyed by their
token's digest, idempotency records by their principal: their own distribution columns.

On SQLite each table is rebuilt (Alembic's batch mode), foreign keys switched off by
``persistence/migrate.py`` meanwhile and checked afterwards; the statistics triggers, dropped
first (SQLite cannot rename a table that a trigger's body names while it is rebuilt), are
created again at the end.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skillvoucher.persistence import tally_sql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Tables given a province_code, copied from the row they belong to: (parent, reference).
NEW_COLUMNS = {
    "scheme_quota_stripes": ("schemes", "scheme_id"),
    "scheme_quota_gates": ("schemes", "scheme_id"),
    "consent_codes": ("vouchers", "voucher_id"),
}

# Children before parents, so that on SQLite no table is rebuilt while another still refers to
# it; on PostgreSQL every foreign key below is dropped before any primary key changes.
TABLES = (
    "course_ratings",
    "attendance_events",
    "disputes",
    "holder_notices",
    "ledger_entries",
    "settlement_lines",
    "settlement_batches",
    "consent_codes",
    "enrolments",
    "vouchers",
    "scheme_quota_gates",
    "scheme_quota_stripes",
    "schemes",
    "courses",
    "people",
    "fund_accounts",
    "fund_transfers",
    "audit_events",
    "sign_in_sessions",
    "idempotency_records",
    "voucher_tallies",
    "ledger_tallies",
)

# Foreign keys replaced by (column, province_code) ones, and those to people, which go.
OLD_FOREIGN_KEYS = {
    "course_ratings": ("course_id", "enrolment_id", "person_id"),
    "attendance_events": ("enrolment_id", "voucher_id"),
    "disputes": ("batch_id", "person_id", "voucher_id"),
    "holder_notices": ("person_id", "voucher_id"),
    "ledger_entries": ("scheme_id", "settlement_batch_id", "voucher_id"),
    "settlement_lines": ("batch_id", "scheme_id", "voucher_id"),
    "consent_codes": ("voucher_id",),
    "enrolments": ("course_id", "person_id", "voucher_id"),
    "vouchers": ("course_id", "person_id", "scheme_id"),
    "scheme_quota_gates": ("scheme_id",),
    "scheme_quota_stripes": ("scheme_id",),
    "sign_in_sessions": ("person_id",),
}

REFERRED = {
    "course_id": "courses",
    "enrolment_id": "enrolments",
    "person_id": "people",
    "voucher_id": "vouchers",
    "batch_id": "settlement_batches",
    "settlement_batch_id": "settlement_batches",
    "scheme_id": "schemes",
}

NEW_FOREIGN_KEYS = {
    table: tuple(column for column in columns if column != "person_id")
    for table, columns in OLD_FOREIGN_KEYS.items()
    if table != "sign_in_sessions"
}

PRIMARY_KEYS = {
    **dict.fromkeys(TABLES, ("id", "province_code")),
    "scheme_quota_gates": ("scheme_id", "province_code"),
    "scheme_quota_stripes": ("scheme_id", "stripe", "province_code"),
    "fund_accounts": ("region_code", "province_code"),
    "sign_in_sessions": ("id", "token_digest"),
    "idempotency_records": ("id", "principal"),
}
OLD_PRIMARY_KEYS = {
    **dict.fromkeys(TABLES, ("id",)),
    "scheme_quota_gates": ("scheme_id",),
    "scheme_quota_stripes": ("scheme_id", "stripe"),
    "fund_accounts": ("region_code",),
}

# Kept national by a table of their own, unique within a province on the table itself.
NATIONAL_KEYS = {
    "people": ("id_digest", "person_directory", "person_id"),
    "schemes": ("code", "scheme_codes", "scheme_id"),
}

UNIQUE_KEYS = {
    "courses": ("institution_id", "course_code"),
    "vouchers": ("scheme_id", "person_id"),
    "attendance_events": ("enrolment_id", "source", "occurred_at"),
    "settlement_batches": ("institution_id", "period_start", "period_end"),
    "settlement_lines": ("voucher_id", "stage_index"),
    "course_ratings": ("enrolment_id",),
}


def _unique_name(table: str, columns: tuple[str, ...]) -> str:
    # op.f: the naming convention's name, cut to the dialect's limit as the tables' own are.
    return op.f(f"uq_{table}_{'_'.join(columns)}")


def _fk_name(table: str, column: str) -> str:
    return op.f(f"fk_{table}_{column}_{REFERRED[column]}")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _drop_sqlite_triggers()
    for table, (parent, reference) in NEW_COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("province_code", sa.String(length=6), nullable=True))
        # Names from the constants above, no input.
        copy = f"UPDATE {table} SET province_code = (SELECT p.province_code FROM {parent} p"  # noqa: S608
        op.execute(f"{copy} WHERE p.id = {table}.{reference})")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("province_code", existing_type=sa.String(6), nullable=False)

    for table, (key, guard, reference) in NATIONAL_KEYS.items():
        op.create_table(
            guard,
            sa.Column(key, sa.String(length=64 if key == "id_digest" else 40), nullable=False),
            sa.Column("province_code", sa.String(length=6), nullable=False),
            sa.Column(reference, sa.Uuid(), nullable=False),
            sa.PrimaryKeyConstraint(key, name=op.f(f"pk_{guard}")),
        )
        op.execute(
            f"INSERT INTO {guard} ({key}, province_code, {reference})"  # noqa: S608
            f" SELECT {key}, province_code, id FROM {table}"
        )

    _drop_foreign_keys(OLD_FOREIGN_KEYS)
    op.drop_index("uq_enrolments_voucher_active", table_name="enrolments")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", list(PRIMARY_KEYS[table]))
            if table in UNIQUE_KEYS:
                old = UNIQUE_KEYS[table]
                batch.drop_constraint(_unique_name(table, old), type_="unique")
                new = (*old, "province_code")
                batch.create_unique_constraint(_unique_name(table, new), list(new))
            if table in NATIONAL_KEYS:
                key = NATIONAL_KEYS[table][0]
                batch.drop_constraint(_unique_name(table, (key,)), type_="unique")
                batch.create_unique_constraint(
                    _unique_name(table, (key, "province_code")), [key, "province_code"]
                )
    _index_active_enrolments("voucher_id", "province_code")

    for table, columns in NEW_FOREIGN_KEYS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.create_foreign_key(
                    _fk_name(table, column),
                    REFERRED[column],
                    [column, "province_code"],
                    ["id", "province_code"],
                )

    if sqlite:
        _create_sqlite_triggers()


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _drop_sqlite_triggers()
    _drop_foreign_keys(NEW_FOREIGN_KEYS)
    op.drop_index("uq_enrolments_voucher_active", table_name="enrolments")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            if table in UNIQUE_KEYS:
                old = UNIQUE_KEYS[table]
                batch.drop_constraint(_unique_name(table, (*old, "province_code")), type_="unique")
                batch.create_unique_constraint(_unique_name(table, old), list(old))
            if table in NATIONAL_KEYS:
                key = NATIONAL_KEYS[table][0]
                batch.drop_constraint(_unique_name(table, (key, "province_code")), type_="unique")
                batch.create_unique_constraint(_unique_name(table, (key,)), [key])
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", list(OLD_PRIMARY_KEYS[table]))
    _index_active_enrolments("voucher_id")

    for table, columns in reversed(OLD_FOREIGN_KEYS.items()):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.create_foreign_key(
                    _fk_name(table, column), REFERRED[column], [column], ["id"]
                )

    for table in NEW_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("province_code")
    for _key, guard, _reference in NATIONAL_KEYS.values():
        op.drop_table(guard)

    if sqlite:
        _create_sqlite_triggers()


def _drop_foreign_keys(foreign_keys: dict[str, tuple[str, ...]]) -> None:
    for table, columns in foreign_keys.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(_fk_name(table, column), type_="foreignkey")


def _index_active_enrolments(*columns: str) -> None:
    """At most one live enrolment per voucher."""
    op.create_index(
        "uq_enrolments_voucher_active",
        "enrolments",
        list(columns),
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )


def _drop_sqlite_triggers() -> None:
    """SQLite refuses to rename a rebuilt table while a trigger names a table being rebuilt,
    and a rebuilt table loses its triggers anyway: they go first and come back last."""
    for statement in tally_sql.sqlite_drop_ddl():
        op.execute(sa.text(statement))


def _create_sqlite_triggers() -> None:
    for statement in tally_sql.sqlite_ddl():
        op.execute(sa.text(statement))
