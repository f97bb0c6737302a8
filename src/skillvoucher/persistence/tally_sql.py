"""The statistics tallies, kept by the database itself.

Every change to ``vouchers`` and every posting to ``ledger_entries`` adds rows of signed
differences to ``voucher_tallies`` and ``ledger_tallies`` in the same statement, through
triggers. Triggers, not application code, because then no code path (a use case, a bulk COPY,
a repair made by hand in psql) can change a voucher without its tallies: the figures cannot
drift from the rows they count. The rows are only ever added (never updated in place), so two
transactions enrolling vouchers of one scheme never wait for each other on a shared total row;
``compact`` later folds the differences into one row per key.

PostgreSQL runs one statement-level trigger per statement, with the statement's rows as
transition tables (so a COPY of 50,000 vouchers adds a few grouped rows, not 50,000); SQLite has
only row-level triggers, which is fine at its scale. Both dialects share one SELECT, written
once below over a "source" of voucher rows with a sign and the money moved.

A voucher is counted under several dimensions, each a row kind of ``voucher_tallies``:

- ``scheme``, ``holder_region``, ``target_group``, ``institution``: the voucher with every
  measure (counts, face value, redeemable value) and the money settled and paid for it;
- ``used_month``, ``completed_month``, ``certified_month``: the voucher counted once in the month
  it was enrolled, completed or certified (the dashboard's monthly series);
- ``money_month``: money settled and paid, in the month it was posted.

Every row also carries the voucher's scheme, region, province and when it was issued (the month
on ``scheme`` rows, the year on the others), which is how statistics are scoped and sliced.
"""

from __future__ import annotations

from collections.abc import Callable

WHOLE_DIMENSIONS = ("scheme", "holder_region", "target_group", "institution")
EVENT_DIMENSIONS = ("used_month", "completed_month", "certified_month", "money_month")
DIMENSIONS = WHOLE_DIMENSIONS + EVENT_DIMENSIONS

# Changing one of these moves the voucher, with the money already paid for it, to other keys.
KEY_COLUMNS = (
    "scheme_id",
    "region_code",
    "province_code",
    "issued_at",
    "holder_region",
    "target_group",
    "institution_id",
)
# The voucher columns a tally reads; a change to any other column (a credential, a version)
# changes no figure.
VOUCHER_COLUMNS = (
    "id",
    *KEY_COLUMNS,
    "enrolled_at",
    "completed_at",
    "certificate_no",
    "certified_at",
    "status",
    "face_value_fen",
    "redeemable_fen",
)

TALLY_KEYS = (
    "scheme_id",
    "region_code",
    "province_code",
    "issued_in",
    "dimension",
    "holder_region",
    "target_group",
    "institution_id",
    "event_month",
)
TALLY_MEASURES = (
    "issued",
    "used",
    "completed",
    "certified",
    "settled",
    "expired",
    "revoked",
    "face_value_fen",
    "redeemable_fen",
    "settled_fen",
    "paid_fen",
)
LEDGER_KEYS = ("region_code", "province_code", "account", "kind")
LEDGER_MEASURES = ("amount_fen", "positive_fen")

MONEY_ACCOUNTS = "('payable', 'paid')"

Month = Callable[[str], str]


def postgres_month(moment: str) -> str:
    """The month (YYYY-MM) of a UTC moment in Asia/Shanghai."""
    return f"to_char(timezone('Asia/Shanghai', {moment}), 'YYYY-MM')"


def sqlite_month(moment: str) -> str:
    # Asia/Shanghai is UTC+8 all year, with no daylight saving.
    return f"strftime('%Y-%m', {moment}, '+8 hours')"


def _dimension_list() -> str:
    return " UNION ALL ".join(f"SELECT '{name}' AS dimension" for name in DIMENSIONS)


def _whole() -> str:
    names = ", ".join(f"'{name}'" for name in WHOLE_DIMENSIONS)
    return f"d.dimension IN ({names})"


def tally_select(source: str, month: Month) -> str:
    """A grouped SELECT of the tally rows for ``source``, a subquery of voucher columns
    (``VOUCHER_COLUMNS``; the id is not read) with ``sign`` (how many vouchers the row stands
    for, counted in if positive and out if negative; 0 money only), ``money_settled``,
    ``money_paid`` (signed fen) and ``money_at`` (when the money was posted, NULL unless the row
    stands for postings). Every measure is linear in ``sign``, so a row may stand for several
    alike vouchers."""
    whole = _whole()
    counted = f"CASE WHEN {whole} THEN v.sign ELSE 0 END"

    def count_when(condition: str, event: str) -> str:
        return (
            f"SUM(CASE WHEN ({whole} AND {condition}) OR d.dimension = '{event}' "
            "THEN v.sign ELSE 0 END)"
        )

    def status_count(status: str) -> str:
        return f"SUM(CASE WHEN {whole} AND v.status = '{status}' THEN v.sign ELSE 0 END)"

    with_money = f"({whole} OR d.dimension = 'money_month')"
    measures = [
        f"SUM({counted})",
        count_when("v.enrolled_at IS NOT NULL", "used_month"),
        count_when("v.completed_at IS NOT NULL", "completed_month"),
        count_when("v.certificate_no IS NOT NULL", "certified_month"),
        status_count("settled"),
        status_count("expired"),
        status_count("revoked"),
        f"SUM(CASE WHEN {whole} THEN v.sign * v.face_value_fen ELSE 0 END)",
        f"SUM(CASE WHEN {whole} THEN v.sign * COALESCE(v.redeemable_fen, 0) ELSE 0 END)",
        f"SUM(CASE WHEN {with_money} THEN v.money_settled ELSE 0 END)",
        f"SUM(CASE WHEN {with_money} THEN v.money_paid ELSE 0 END)",
    ]
    event_month = (
        "CASE d.dimension"
        f" WHEN 'used_month' THEN {month('v.enrolled_at')}"
        f" WHEN 'completed_month' THEN {month('v.completed_at')}"
        f" WHEN 'certified_month' THEN {month('COALESCE(v.certified_at, v.completed_at)')}"
        f" WHEN 'money_month' THEN {month('v.money_at')} END"
    )
    keys = [
        "v.scheme_id",
        "v.region_code",
        "v.province_code",
        f"CASE WHEN d.dimension = 'scheme' THEN {month('v.issued_at')}"
        f" ELSE SUBSTR({month('v.issued_at')}, 1, 4) END",
        "d.dimension",
        "CASE WHEN d.dimension = 'holder_region' THEN v.holder_region END",
        "CASE WHEN d.dimension = 'target_group' THEN COALESCE(v.target_group, '-') END",
        "CASE WHEN d.dimension = 'institution' THEN v.institution_id END",
        event_month,
    ]
    keep = (
        "(d.dimension IN ('scheme', 'holder_region', 'target_group')"
        " OR (d.dimension = 'institution' AND v.institution_id IS NOT NULL)"
        " OR (d.dimension = 'used_month' AND v.sign <> 0 AND v.enrolled_at IS NOT NULL)"
        " OR (d.dimension = 'completed_month' AND v.sign <> 0 AND v.completed_at IS NOT NULL)"
        " OR (d.dimension = 'certified_month' AND v.sign <> 0 AND v.certificate_no IS NOT NULL)"
        " OR (d.dimension = 'money_month' AND v.money_at IS NOT NULL))"
    )
    positions = ", ".join(str(i) for i in range(1, len(keys) + 1))
    return (
        f"SELECT {', '.join(keys + measures)}"
        f" FROM {source} AS v CROSS JOIN ({_dimension_list()}) AS d"
        f" WHERE {keep} GROUP BY {positions} HAVING {_any_nonzero(measures)}"
    )


def _any_nonzero(sums: list[str]) -> str:
    return " OR ".join(f"{s} <> 0" for s in sums)


def insert_tallies(source: str, month: Month) -> str:
    return _insert(
        "voucher_tallies", TALLY_KEYS + TALLY_MEASURES, tally_select(source, month), month
    )


def _insert(table: str, columns: tuple[str, ...], rows: str, month: Month) -> str:
    """INSERT the SELECT ``rows`` into a tally table. On PostgreSQL the id comes from its
    sequence. On SQLite the statement numbers the rows after the highest id: with the key
    ``(id, province_code)`` (decision 19) the id is no longer the rowid SQLite fills in, and
    folding still relies on ids that only grow."""
    names = ", ".join(columns)
    if month is not sqlite_month:
        return f"INSERT INTO {table} ({names}) {rows}"
    return (
        f"INSERT INTO {table} (id, {names}) SELECT {_next_id(table)} - 1 + ROW_NUMBER() OVER (),"
        f" numbered.* FROM ({rows}) AS numbered"
    )


def _next_id(table: str) -> str:
    return f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table})"


def _columns_of(alias: str) -> str:
    return ", ".join(f"{alias}.{c} AS {c}" for c in VOUCHER_COLUMNS)


def _ledger_insert(rows: str, sign: str = "", month: Month | None = None) -> str:
    """Ledger tally rows for the postings in ``rows`` (a table name), counted in (``sign`` "")
    or out ("-"); ``month`` tells the dialect (see ``_insert``)."""
    keys = ", ".join(LEDGER_KEYS)
    return _insert(
        "ledger_tallies",
        LEDGER_KEYS + LEDGER_MEASURES,
        f"SELECT {keys}, SUM({sign}amount_fen),"
        f" SUM(CASE WHEN amount_fen > 0 THEN {sign}amount_fen ELSE 0 END)"
        f" FROM {rows} GROUP BY {keys}",
        month or postgres_month,
    )


# --- PostgreSQL --------------------------------------------------------------------------------


def _pg_money_source(entries: str, sign: str) -> str:
    """Voucher rows standing for the money postings in ``entries`` (sign '' or '-')."""
    return (
        f"(SELECT {_columns_of('v')}, 0 AS sign,"
        f" {sign}e.settled AS money_settled, {sign}e.paid AS money_paid, e.money_at"
        " FROM (SELECT voucher_id, created_at AS money_at, SUM(amount_fen) AS settled,"
        " SUM(CASE WHEN account = 'paid' THEN amount_fen ELSE 0 END) AS paid"
        f" FROM {entries} WHERE account IN {MONEY_ACCOUNTS} AND voucher_id IS NOT NULL"
        " GROUP BY voucher_id, created_at) AS e JOIN vouchers AS v ON v.id = e.voucher_id)"
    )


def _pg_voucher_update_source(grouped: bool = True) -> str:
    """Old rows counted out and new rows counted in; a voucher whose keys changed takes the
    money already settled for it along to its new keys.

    Grouped (since migration 0018): alike rows are summed before the cross join with the
    dimensions, as the insert trigger's are (0013). An expiry chunk's 5,000 vouchers are then
    about 170 source rows, not 10,000: the cross join's 30,000 rows were sorted on disk and
    cost 300 of a chunk's 500 ms on the server, 69 ms so (auto_explain, a twentieth of the
    pilot, 2026-12-05). ``moved`` is materialised: inlined, the planner probed the ledger for
    every updated voucher before keeping only those whose keys changed (5,000 probes, 40 ms)."""
    key_change = (
        f"ROW({', '.join('n.' + c for c in KEY_COLUMNS)})"
        f" IS DISTINCT FROM ROW({', '.join('o.' + c for c in KEY_COLUMNS)})"
    )
    materialized = "MATERIALIZED " if grouped else ""
    head = (
        f"WITH moved AS {materialized}(SELECT n.id FROM new_rows AS n JOIN old_rows AS o"
        f" ON o.id = n.id WHERE {key_change}),"
        # One index probe per moved voucher (usually none): a join here could be planned as a
        # scan of the whole ledger when the table's statistics are stale.
        " money AS (SELECT m.id AS voucher_id, s.settled, s.paid FROM moved AS m"
        " CROSS JOIN LATERAL (SELECT SUM(e.amount_fen) AS settled,"
        " SUM(CASE WHEN e.account = 'paid' THEN e.amount_fen ELSE 0 END) AS paid"
        " FROM ledger_entries AS e WHERE e.voucher_id = m.id"
        f" AND e.account IN {MONEY_ACCOUNTS}) AS s)"
    )
    rows = (
        f" SELECT {_columns_of('n')}, 1 AS sign, COALESCE(m.settled, 0) AS money_settled,"
        " COALESCE(m.paid, 0) AS money_paid, NULL::timestamptz AS money_at"
        " FROM new_rows AS n LEFT JOIN money AS m ON m.voucher_id = n.id"
        f" UNION ALL SELECT {_columns_of('o')}, -1, -COALESCE(m.settled, 0),"
        " -COALESCE(m.paid, 0), NULL::timestamptz"
        " FROM old_rows AS o LEFT JOIN money AS m ON m.voucher_id = o.id"
    )
    if not grouped:
        return f"({head}{rows})"
    columns = ", ".join(c for c in VOUCHER_COLUMNS if c != "id")
    return (
        f"({head} SELECT {columns}, SUM(sign)::integer AS sign,"
        " SUM(money_settled) AS money_settled, SUM(money_paid) AS money_paid,"
        f" NULL::timestamptz AS money_at FROM ({rows}) AS x GROUP BY {columns})"
    )


def postgres_update_function(grouped: bool = True) -> str:
    """The function of the update trigger: over alike rows grouped (since migration 0018) or
    one source row per voucher (before it). Both add the same tallies."""
    return _pg_function(
        "tally_vouchers_updated",
        [insert_tallies(_pg_voucher_update_source(grouped), postgres_month)],
    )


def _pg_rows(alias: str, table: str, sign: int) -> str:
    """One source row per voucher: the tally functions before migration 0013."""
    return (
        f"(SELECT {_columns_of(alias)}, {sign} AS sign, 0 AS money_settled, 0 AS money_paid,"
        f" NULL::timestamptz AS money_at FROM {table} AS {alias})"
    )


def _pg_counted_rows(table: str, sign: int) -> str:
    """One source row per set of alike vouchers (all tallied columns equal), ``sign`` times
    their count. A push writes thousands of vouchers that differ only in id and holder: the
    tally's cross join with the dimensions and its month arithmetic then run on a few dozen
    rows, not on eight per voucher (30 ms of a 5,000-voucher COPY, 4 ms so)."""
    columns = ", ".join(c for c in VOUCHER_COLUMNS if c != "id")
    return (
        f"(SELECT {columns}, {sign} * COUNT(*)::integer AS sign, 0 AS money_settled,"
        f" 0 AS money_paid, NULL::timestamptz AS money_at FROM {table} GROUP BY {columns})"
    )


NO_JIT = "SET jit = off"
"""The tally functions' statements read transition tables, which have no statistics: the planner
guesses their joins at millions of rows, and past ``jit_above_cost`` PostgreSQL compiles the
statement first. For an expiry chunk of 5,000 vouchers that compiling took 2.0 s of a 2.3 s
trigger whose query ran in 0.1 s (EXPLAIN through auto_explain, 2026-12-05)."""


def _pg_function(name: str, body: list[str]) -> str:
    statements = "".join(f"    {statement};\n" for statement in body)
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql {NO_JIT} AS $$\n"
        f"BEGIN\n{statements}    RETURN NULL;\nEND\n$$"
    )


def _pg_trigger(name: str, event: str, table: str, transitions: str, function: str) -> str:
    return (
        f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transitions}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    )


def postgres_counting_functions(grouped: bool = True) -> list[str]:
    """The functions of the insert and delete triggers: over alike vouchers grouped (since
    migration 0013) or one source row per voucher (before it). Both add the same tallies."""
    m = postgres_month
    if grouped:
        inserted, deleted = _pg_counted_rows("new_rows", 1), _pg_counted_rows("old_rows", -1)
    else:
        inserted, deleted = _pg_rows("n", "new_rows", 1), _pg_rows("o", "old_rows", -1)
    return [
        _pg_function("tally_vouchers_inserted", [insert_tallies(inserted, m)]),
        _pg_function("tally_vouchers_deleted", [insert_tallies(deleted, m)]),
    ]


def postgres_ddl() -> list[str]:
    """Functions and statement-level triggers that keep the tallies on PostgreSQL."""
    m = postgres_month
    return [
        *postgres_counting_functions(),
        postgres_update_function(),
        _pg_function(
            "tally_ledger_inserted",
            [insert_tallies(_pg_money_source("new_rows", ""), m), _ledger_insert("new_rows")],
        ),
        _pg_function(
            "tally_ledger_deleted",
            [
                insert_tallies(_pg_money_source("old_rows", "-"), m),
                _ledger_insert("old_rows", "-"),
            ],
        ),
        _pg_trigger(
            "tally_vouchers_inserted",
            "INSERT",
            "vouchers",
            "NEW TABLE AS new_rows",
            "tally_vouchers_inserted",
        ),
        _pg_trigger(
            "tally_vouchers_updated",
            "UPDATE",
            "vouchers",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "tally_vouchers_updated",
        ),
        _pg_trigger(
            "tally_vouchers_deleted",
            "DELETE",
            "vouchers",
            "OLD TABLE AS old_rows",
            "tally_vouchers_deleted",
        ),
        _pg_trigger(
            "tally_ledger_inserted",
            "INSERT",
            "ledger_entries",
            "NEW TABLE AS new_rows",
            "tally_ledger_inserted",
        ),
        _pg_trigger(
            "tally_ledger_deleted",
            "DELETE",
            "ledger_entries",
            "OLD TABLE AS old_rows",
            "tally_ledger_deleted",
        ),
    ]


POSTGRES_TRIGGERS = (
    ("tally_vouchers_inserted", "vouchers"),
    ("tally_vouchers_updated", "vouchers"),
    ("tally_vouchers_deleted", "vouchers"),
    ("tally_ledger_inserted", "ledger_entries"),
    ("tally_ledger_deleted", "ledger_entries"),
)


def postgres_drop_ddl() -> list[str]:
    drops = [f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in POSTGRES_TRIGGERS]
    return drops + [f"DROP FUNCTION IF EXISTS {name}()" for name, _ in POSTGRES_TRIGGERS]


# --- SQLite ------------------------------------------------------------------------------------


def _sqlite_row(prefix: str, sign: int, money: str = "0", paid: str = "0") -> str:
    columns = ", ".join(f"{prefix}.{c} AS {c}" for c in VOUCHER_COLUMNS)
    return (
        f"SELECT {columns}, {sign} AS sign, {money} AS money_settled, {paid} AS money_paid,"
        " NULL AS money_at"
    )


def sqlite_ddl() -> list[str]:
    """Row-level triggers that keep the tallies on SQLite."""
    m = sqlite_month
    measured = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in VOUCHER_COLUMNS)
    key_change = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in KEY_COLUMNS)

    def moved(account_filter: str) -> str:
        return (
            f"CASE WHEN {key_change} THEN (SELECT COALESCE(SUM(amount_fen), 0)"
            f" FROM ledger_entries WHERE voucher_id = OLD.id AND {account_filter}) ELSE 0 END"
        )

    settled = moved(f"account IN {MONEY_ACCOUNTS}")
    paid = moved("account = 'paid'")
    update_source = (
        f"({_sqlite_row('OLD', -1, f'-({settled})', f'-({paid})')}"
        f" UNION ALL {_sqlite_row('NEW', 1, settled, paid)})"
    )
    money_source = (
        f"(SELECT {_columns_of('v')}, 0 AS sign, NEW.amount_fen AS money_settled,"
        " CASE WHEN NEW.account = 'paid' THEN NEW.amount_fen ELSE 0 END AS money_paid,"
        " NEW.created_at AS money_at FROM vouchers AS v WHERE v.id = NEW.voucher_id)"
    )
    ledger_columns = ", ".join(LEDGER_KEYS + LEDGER_MEASURES)
    ledger_id = _next_id("ledger_tallies")
    inserted = f"({_sqlite_row('NEW', 1)})"
    deleted = f"({_sqlite_row('OLD', -1)})"
    return [
        "CREATE TRIGGER tally_vouchers_inserted AFTER INSERT ON vouchers BEGIN "
        f"{insert_tallies(inserted, m)}; END",
        f"CREATE TRIGGER tally_vouchers_updated AFTER UPDATE ON vouchers WHEN {measured} BEGIN "
        f"{insert_tallies(update_source, m)}; END",
        "CREATE TRIGGER tally_vouchers_deleted AFTER DELETE ON vouchers BEGIN "
        f"{insert_tallies(deleted, m)}; END",
        "CREATE TRIGGER tally_ledger_money AFTER INSERT ON ledger_entries"
        f" WHEN NEW.account IN {MONEY_ACCOUNTS} AND NEW.voucher_id IS NOT NULL BEGIN "
        f"{insert_tallies(money_source, m)}; END",
        "CREATE TRIGGER tally_ledger_inserted AFTER INSERT ON ledger_entries BEGIN "
        f"INSERT INTO ledger_tallies (id, {ledger_columns}) VALUES ({ledger_id}, NEW.region_code,"
        " NEW.province_code, NEW.account, NEW.kind, NEW.amount_fen,"
        " MAX(NEW.amount_fen, 0)); END",
        "CREATE TRIGGER tally_ledger_deleted AFTER DELETE ON ledger_entries BEGIN "
        f"INSERT INTO ledger_tallies (id, {ledger_columns}) VALUES ({ledger_id}, OLD.region_code,"
        " OLD.province_code, OLD.account, OLD.kind, -OLD.amount_fen,"
        " -MAX(OLD.amount_fen, 0)); END",
    ]


SQLITE_TRIGGERS = (
    "tally_vouchers_inserted",
    "tally_vouchers_updated",
    "tally_vouchers_deleted",
    "tally_ledger_money",
    "tally_ledger_inserted",
    "tally_ledger_deleted",
)


def sqlite_drop_ddl() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]


# --- Filling and folding -----------------------------------------------------------------------


def backfill(month: Month, no_moment: str) -> list[str]:
    """Tally rows for what the tables hold already (run once, when the tallies are created);
    ``no_moment`` is a NULL of the timestamp type ("NULL::timestamptz" on PostgreSQL)."""
    vouchers = (
        f"(SELECT {_columns_of('x')}, 1 AS sign, 0 AS money_settled, 0 AS money_paid,"
        f" {no_moment} AS money_at FROM vouchers AS x)"
    )
    return [
        insert_tallies(vouchers, month),
        insert_tallies(_pg_money_source("ledger_entries", ""), month),
        _ledger_insert("ledger_entries", month=month),
    ]


def _folded(table: str, rows: str, month: Month) -> str:
    keys, measures = _shape(table)
    sums = [f"SUM({m})" for m in measures]
    key_list = ", ".join(keys)
    return _insert(
        table,
        keys + measures,
        f"SELECT {key_list}, {', '.join(sums)} FROM {rows}"
        f" GROUP BY {key_list} HAVING {_any_nonzero(sums)}",
        month,
    )


def postgres_compaction(table: str) -> str:
    """Fold the rows this statement can see into one per key, in one statement: rows that
    concurrent transactions add meanwhile are neither seen nor deleted, so nothing is counted
    twice or lost."""
    return f"WITH gone AS (DELETE FROM {table} RETURNING *) " + _folded(
        table, "gone", postgres_month
    )


def sqlite_compaction(table: str) -> list[str]:
    """The same on SQLite, which has no DELETE in a WITH: fold the rows up to the highest id,
    then delete them. SQLite lets one writer at a time hold the database, and gives ids in
    increasing order, so no row below that id can appear between the two statements."""
    upto = f"(SELECT * FROM {table} WHERE id <= :last_id) AS upto"
    return [_folded(table, upto, sqlite_month), f"DELETE FROM {table} WHERE id <= :last_id"]


def _shape(table: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if table == "voucher_tallies":
        return TALLY_KEYS, TALLY_MEASURES
    if table == "ledger_tallies":
        return LEDGER_KEYS, LEDGER_MEASURES
    raise ValueError(f"not a tally table: {table}")
