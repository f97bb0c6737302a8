"""The migrated schema obeys the rules Citus enforces when it distributes the tables by province
(decision 19), on both databases; the checker finds each kind of break; the DDL distributes
every table once, referenced tables before those that refer to them."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from skillvoucher.application.context import AppContext
from skillvoucher.persistence import distribution
from skillvoucher.persistence.tables import Base


def test_the_migrated_schema_breaks_no_rule_of_citus(ctx: AppContext) -> None:
    with ctx.engine.connect() as connection:
        assert distribution.schema_problems(connection) == []


def test_every_table_is_placed_once() -> None:
    placed = [
        *distribution.BY_PROVINCE,
        *distribution.REFERENCE,
        *distribution.OWN_KEY,
        *distribution.LOCAL,
    ]
    assert len(placed) == len(set(placed))
    assert set(Base.metadata.tables) | {"alembic_version"} == set(placed)


def test_province_tables_lead_their_keys_with_their_own_key() -> None:
    """A look-up by a row's own key stays one index probe and ``session.get`` takes that key
    alone: the province comes last in the table's key and not at all in the mapper's."""
    for mapper in Base.registry.mappers:
        name = mapper.class_.__tablename__
        if name not in distribution.BY_PROVINCE or name == "audit_chain_heads":
            continue
        key = [c.name for c in Base.metadata.tables[name].primary_key.columns]
        assert key[-1] == "province_code", name
        assert [c.name for c in mapper.primary_key] == key[:-1], name


@pytest.fixture
def scratch() -> sa.Engine:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        for statement in (
            "CREATE TABLE regions (code TEXT PRIMARY KEY, id TEXT, province_code TEXT)",
            "CREATE TABLE schemes (id TEXT, province_code TEXT, code TEXT UNIQUE,"
            " PRIMARY KEY (id))",
            # Right: keys and the reference to schemes include the province.
            "CREATE TABLE vouchers (id TEXT, province_code TEXT, scheme_id TEXT,"
            " region_code TEXT REFERENCES regions (code),"
            " PRIMARY KEY (id, province_code),"
            " FOREIGN KEY (scheme_id, province_code) REFERENCES schemes (id, province_code))",
            # Wrong: a reference to vouchers without the province.
            "CREATE TABLE enrolments (id TEXT, province_code TEXT, voucher_id TEXT,"
            " PRIMARY KEY (id, province_code), FOREIGN KEY (voucher_id) REFERENCES vouchers (id))",
            # Wrong: a reference table referring to a distributed one.
            "CREATE TABLE institutions (id TEXT PRIMARY KEY, scheme_id TEXT,"
            " province_code TEXT, FOREIGN KEY (scheme_id, province_code)"
            " REFERENCES schemes (id, province_code))",
            # Wrong: colocated with nothing of the province.
            "CREATE TABLE sign_in_sessions (id TEXT, token_digest TEXT, voucher_id TEXT,"
            " province_code TEXT, PRIMARY KEY (id, token_digest),"
            " FOREIGN KEY (voucher_id, province_code) REFERENCES vouchers (id, province_code))",
            "CREATE TABLE people (id TEXT PRIMARY KEY)",  # no province_code at all
            "CREATE TABLE scratchpad (id TEXT PRIMARY KEY)",  # placed nowhere
            "CREATE UNIQUE INDEX uq_people_everything ON people (id)",
        ):
            connection.exec_driver_sql(statement)
    return engine


def test_the_checker_names_every_break(scratch: sa.Engine) -> None:
    with scratch.connect() as connection:
        problems = distribution.schema_problems(connection)

    def found(pattern: str) -> bool:
        return any(re.search(pattern, p) for p in problems)

    assert found(r"^schemes: primary key \(id\) lacks province_code$")
    assert found(r"^schemes: .*\(code\) lacks province_code$")
    assert found(r"^enrolments: foreign key .* to vouchers: does not include province_code")
    assert found(r"^institutions: foreign key .* to schemes: a reference table may not refer")
    assert found(r"^sign_in_sessions: foreign key .* to vouchers: the two tables are not colocated")
    assert found(r"^people: has no province_code column")
    assert found(r"^people: primary key \(id\) lacks province_code$")
    assert found(r"^people: uq_people_everything \(id\) lacks province_code$")
    assert found(r"^scratchpad: not placed")
    assert not any(p.startswith("vouchers") for p in problems)
    assert len(problems) == 9


def test_the_ddl_distributes_referenced_tables_first() -> None:
    statements = distribution.citus_ddl()
    order = [re.search(r"\('(\w+)'", s).group(1) for s in statements if "create_" in s]  # type: ignore[union-attr]
    placed = set(Base.metadata.tables)
    assert sorted(order) == sorted(placed)
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            if fk.referred_table is table:
                continue  # a region's parent: one table, distributed once
            assert order.index(fk.referred_table.name) < order.index(table.name), fk.name
    anchor = distribution.BY_PROVINCE[0]
    for name in distribution.BY_PROVINCE[1:]:
        assert (
            f"SELECT create_distributed_table('{name}', 'province_code',"
            f" colocate_with => '{anchor}')" in statements
        )


def test_the_ddl_leaves_out_tables_the_database_does_not_have() -> None:
    statements = distribution.citus_ddl(present=["regions", "audit_chain_heads"])
    created = [s for s in statements if "create_" in s]
    assert created == [
        "SELECT create_reference_table('regions')",
        "SELECT create_distributed_table('audit_chain_heads', 'province_code')",
    ]
