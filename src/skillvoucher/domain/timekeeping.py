"""Time: stored and compared in UTC, shown and reasoned about in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc_now() -> datetime:
    return datetime.now(UTC)


def local_date(moment: datetime) -> date:
    """The calendar day in Asia/Shanghai at ``moment`` (policy years and dates are local)."""
    return moment.astimezone(SHANGHAI).date()


def end_of_local_day(day: date) -> datetime:
    """The last instant of ``day`` in Asia/Shanghai, as UTC (validity 'until' is inclusive)."""
    start_next = datetime.combine(day + timedelta(days=1), time.min, tzinfo=SHANGHAI)
    return (start_next - timedelta(seconds=1)).astimezone(UTC)


def start_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def start_of_local_year(day: date) -> datetime:
    """1 January of ``day``'s year in Asia/Shanghai, as UTC: per-year limits count from here."""
    return start_of_local_day(date(day.year, 1, 1))


def show(moment: datetime | None) -> str:
    """Human display in Asia/Shanghai, e.g. '2026-12-04 21:30 CST'."""
    if moment is None:
        return "-"
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M CST")
