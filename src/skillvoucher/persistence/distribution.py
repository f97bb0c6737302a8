"""How the schema spreads over distributed PostgreSQL (Citus), sharded by province
(decision 19): which tables are distributed and by what, which are copied to every node, the
rules Citus sets for their keys, and the DDL that distributes a migrated database.

Every use case stays within one province, so a province's working set is distributed by
``province_code`` in one colocation group: a use case's transaction then runs on the one node
that holds its province, and a nationwide read runs on every node at once. Small tables read
everywhere and rarely written are reference tables (a full copy on every node). Sign-in
sessions and idempotency records are looked up by their own key on every request, before any
province is known: each is a group of its own, distributed by that key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

PROVINCE = "province_code"

# Parents before children: Citus distributes a table referenced by a foreign key first.
BY_PROVINCE = (
    "audit_chain_heads",
    "schemes",
    "scheme_quota_stripes",
    "scheme_quota_gates",
    "people",
    "courses",
    "fund_accounts",
    "fund_transfers",
    "vouchers",
    "consent_codes",
    "enrolments",
    "attendance_events",
    "course_ratings",
    "settlement_batches",
    "settlement_lines",
    "ledger_entries",
    "voucher_tallies",
    "ledger_tallies",
    "audit_events",
    "holder_notices",
    "disputes",
)
REFERENCE = ("regions", "institutions", "staff_accounts", "api_keys", "scheme_codes")
OWN_KEY = {
    "sign_in_sessions": "token_digest",
    "idempotency_records": "principal",
    "person_directory": "id_digest",
}
LOCAL = ("alembic_version",)  # Alembic's own bookkeeping, on the coordinator

# Provinces differ in size by more than 30 times, and hashing 32 codes onto the shards puts
# some large ones together: these get shards of their own (Guangdong, Henan, Shandong).
LARGEST_PROVINCES = ("440000", "410000", "370000")


def distribution_column(table: str) -> str | None:
    """The column ``table`` is distributed by; None for a reference or local table."""
    if table in BY_PROVINCE:
        return PROVINCE
    return OWN_KEY.get(table)


@dataclass(frozen=True)
class Key:
    table: str
    kind: str  # "primary key", a unique constraint's or index's name
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Reference:
    table: str
    name: str
    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]


def keys_of(inspector: sa.Inspector, table: str) -> list[Key]:
    """The primary key and every unique constraint and unique index of ``table``."""
    keys = [
        Key(table, "primary key", tuple(inspector.get_pk_constraint(table)["constrained_columns"]))
    ]
    keys += [
        Key(table, str(u["name"]), tuple(c for c in u["column_names"] if c is not None))
        for u in inspector.get_unique_constraints(table)
    ]
    named = {key.kind for key in keys}
    keys += [  # unique indexes of their own; PostgreSQL also lists those behind constraints
        Key(table, str(i["name"]), tuple(c for c in i["column_names"] if c is not None))
        for i in inspector.get_indexes(table)
        if i["unique"] and i["name"] not in named
    ]
    return keys


def references_of(inspector: sa.Inspector, table: str) -> list[Reference]:
    return [
        Reference(
            table,
            str(fk["name"]),
            tuple(fk["constrained_columns"]),
            fk["referred_table"],
            tuple(fk["referred_columns"]),
        )
        for fk in inspector.get_foreign_keys(table)
    ]


def key_problems(key: Key) -> list[str]:
    column = distribution_column(key.table)
    if column is None or column in key.columns:
        return []
    return [f"{key.table}: {key.kind} ({', '.join(key.columns)}) lacks {column}"]


def reference_problems(ref: Reference) -> list[str]:
    """Citus's rules for a foreign key: from any table to a reference table; between two
    distributed tables only in one colocation group and through the distribution column on
    both sides; never from a reference table to a distributed one."""
    if ref.referred_table in REFERENCE:
        return []
    column = distribution_column(ref.table)
    referred_column = distribution_column(ref.referred_table)
    where = f"{ref.table}: foreign key {ref.name} to {ref.referred_table}"
    if column is None:
        return [f"{where}: a reference table may not refer to a distributed table"]
    if referred_column is None:
        return [f"{where}: refers to a table that is not distributed"]
    if group(ref.table) != group(ref.referred_table):
        return [f"{where}: the two tables are not colocated"]
    pairs = set(zip(ref.columns, ref.referred_columns, strict=True))
    if (column, referred_column) not in pairs:
        return [f"{where}: does not include {column} on both sides"]
    return []


def group(table: str) -> str:
    """The colocation group: the province's, or a table's own."""
    return "province" if table in BY_PROVINCE else table


def schema_problems(connection: sa.Connection) -> list[str]:
    """Every way the connected database's schema breaks a rule Citus enforces when it
    distributes the tables as this module says; empty when ``citus_ddl`` can be run."""
    inspector = sa.inspect(connection)
    tables = set(inspector.get_table_names())
    known = set(BY_PROVINCE) | set(REFERENCE) | set(OWN_KEY) | set(LOCAL)
    problems = [
        f"{table}: not placed (distributed, reference or local?)"
        for table in sorted(tables - known)
    ]
    for table in sorted(tables & (known - set(LOCAL))):
        column = distribution_column(table)
        if column is not None and column not in {c["name"] for c in inspector.get_columns(table)}:
            problems.append(f"{table}: has no {column} column to be distributed by")
        for key in keys_of(inspector, table):
            problems += key_problems(key)
        for ref in references_of(inspector, table):
            problems += reference_problems(ref)
    return problems


def citus_ddl(shard_count: int = 64, present: Iterable[str] | None = None) -> list[str]:
    """The statements that distribute a migrated database, run once on the coordinator
    after ``citus_add_node`` for each worker. ``present`` limits them to those tables."""
    keep = set(present) if present is not None else None

    def wanted(table: str) -> bool:
        return keep is None or table in keep

    anchor = BY_PROVINCE[0]
    statements = ["CREATE EXTENSION IF NOT EXISTS citus"]
    statements += [f"SELECT create_reference_table('{t}')" for t in REFERENCE if wanted(t)]
    statements.append(f"SET citus.shard_count = {shard_count}")
    # The statistics tallies are kept by triggers on vouchers and ledger_entries, which write
    # the tally shards of the same province (colocated): Citus distributes a table with
    # triggers only when told that the triggers are its user's to keep safe.
    statements.append("SET citus.enable_unsafe_triggers = on")
    for table in BY_PROVINCE:
        if not wanted(table):
            continue
        colocation = "" if table == anchor else f", colocate_with => '{anchor}'"
        statements.append(f"SELECT create_distributed_table('{table}', '{PROVINCE}'{colocation})")
    statements += [
        f"SELECT create_distributed_table('{t}', '{c}', colocate_with => 'none')"
        for t, c in OWN_KEY.items()
        if wanted(t)
    ]
    statements += [
        f"SELECT isolate_tenant_to_new_shard('{anchor}', '{p}', 'CASCADE')"
        for p in LARGEST_PROVINCES
    ]
    statements.append("SELECT citus_rebalance_start()")
    return statements
