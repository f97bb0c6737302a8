"""Attendance: real-name check-ins offline and learning minutes online, and the rules that
refuse the impossible ones (the same person in two places, a door letting in a crowd in a few
seconds, more online minutes than the clock allows).

The rules are pure: each gets the new event and recorded events near it (a superset is fine:
each rule picks what concerns it) and answers why the new event cannot be true, or None.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from skillvoucher.domain.errors import InvalidInput
from skillvoucher.domain.timekeeping import local_date


class AttendanceSource(StrEnum):
    FACE = "face"  # face recognition at the classroom door
    QR = "qr"  # the holder's e-SSC QR code scanned by a device
    CARD = "card"  # the physical social security card
    ONLINE = "online"  # learning minutes reported by an online training platform


OFFLINE_SOURCES = frozenset({AttendanceSource.FACE, AttendanceSource.QR, AttendanceSource.CARD})

MAX_MINUTES_PER_EVENT = 24 * 60
MAX_DEVICE_ID_CHARS = 64  # the column's width (attendance_events.device_id)

# Two classroom check-ins of one person at different institutions less than an hour apart leave
# no time for a class session at the first and the trip to the second: one of them was not the
# person. A morning course here and an afternoon course there stay possible.
TWO_PLACES_WINDOW = timedelta(minutes=60)

# A face, card or QR check-in takes a couple of seconds per person at a classroom door; more
# than five different people on one device within ten seconds is a replayed or scripted upload,
# not a queue. Re-sends of the same person (a double tap) are not counted twice.
DEVICE_BURST_PEOPLE = 5
DEVICE_BURST_WINDOW = timedelta(seconds=10)

# Online spans that could overlap a new one end at most this long after it (an event is at most
# a day long); recorded spans further away cannot touch it.
ONLINE_OVERLAP_REACH = timedelta(minutes=MAX_MINUTES_PER_EVENT)

# The audit action of a refused event (the event itself is never stored); the risk rule
# ``repeated_impossible_attendance`` counts these.
REFUSED_ACTION = "attendance.refused"


class ImplausibleAttendance(InvalidInput):
    """An attendance event that cannot be true; it is refused and never counted."""

    code = "attendance_implausible"


class AttendanceInTwoPlaces(ImplausibleAttendance):
    code = "attendance_in_two_places"


class AttendanceOutsideCourseDates(ImplausibleAttendance):
    code = "attendance_outside_course_dates"


class AttendanceDeviceBurst(ImplausibleAttendance):
    code = "attendance_device_burst"


class OnlineMinutesExceedTime(ImplausibleAttendance):
    code = "attendance_minutes_exceed_time"


@dataclass(frozen=True)
class AttendanceFact:
    """One attendance event as the rules see it: who, where, by what, when, how long."""

    person_id: uuid.UUID
    enrolment_id: uuid.UUID
    institution_id: uuid.UUID
    source: AttendanceSource
    device_id: str | None
    occurred_at: datetime  # a check-in's time; the end of an online span
    minutes: int

    @property
    def offline(self) -> bool:
        return self.source in OFFLINE_SOURCES

    @property
    def span_start(self) -> datetime:
        """Online: when the reported learning began (the span ends at ``occurred_at``)."""
        return self.occurred_at - timedelta(minutes=self.minutes)


def in_two_places(
    event: AttendanceFact, nearby: Iterable[AttendanceFact]
) -> AttendanceInTwoPlaces | None:
    """An offline check-in of a person who checked in at another institution within the hour."""
    if not event.offline:
        return None
    for other in nearby:
        if (
            other.offline
            and other.person_id == event.person_id
            and other.institution_id != event.institution_id
            and abs(other.occurred_at - event.occurred_at) < TWO_PLACES_WINDOW
        ):
            # The other institution is not named: the caller may not know of that enrolment.
            return AttendanceInTwoPlaces(
                "the holder checked in at another institution less than "
                f"{_minutes(TWO_PLACES_WINDOW)} minutes from this check-in"
            )
    return None


def outside_course_dates(
    occurred_at: datetime, start_date: date, end_date: date
) -> AttendanceOutsideCourseDates | None:
    """Attendance on a day (in Asia/Shanghai) before the course starts or after it ends."""
    day = local_date(occurred_at)
    if day < start_date:
        return AttendanceOutsideCourseDates(
            f"attendance on {day} is before the course starts on {start_date}"
        )
    if day > end_date:
        return AttendanceOutsideCourseDates(
            f"attendance on {day} is after the course ended on {end_date}"
        )
    return None


def device_burst(
    event: AttendanceFact, nearby: Iterable[AttendanceFact]
) -> AttendanceDeviceBurst | None:
    """An offline check-in that makes its device record more than ``DEVICE_BURST_PEOPLE``
    different people within ``DEVICE_BURST_WINDOW``.

    A device is a device id at one institution: two institutions may name their doors alike.
    Online platforms report many learners at once, so only offline check-ins count."""
    if event.device_id is None or not event.offline:
        return None
    same_device = [
        o
        for o in nearby
        if o.offline
        and o.device_id == event.device_id
        and o.institution_id == event.institution_id
        and abs(o.occurred_at - event.occurred_at) <= DEVICE_BURST_WINDOW
    ]
    # The busiest window holding the new event can be slid to start at one of its events.
    starts = {o.occurred_at for o in same_device if o.occurred_at <= event.occurred_at}
    for start in starts | {event.occurred_at}:
        end = start + DEVICE_BURST_WINDOW
        people = {o.person_id for o in same_device if start <= o.occurred_at <= end}
        if len(people | {event.person_id}) > DEVICE_BURST_PEOPLE:
            return AttendanceDeviceBurst(
                f"device {event.device_id} checked in more than {DEVICE_BURST_PEOPLE} people "
                f"within {DEVICE_BURST_WINDOW.seconds} seconds"
            )
    return None


def online_minutes_exceed_time(
    event: AttendanceFact, nearby: Iterable[AttendanceFact], enrolled_at: datetime
) -> OnlineMinutesExceedTime | None:
    """Online learning minutes that the clock cannot hold.

    The span ``[occurred_at - minutes, occurred_at]`` may not begin before the enrolment, and the
    spans of the enrolment's online events that overlap the new one (directly or through each
    other) may not add up to more minutes than the wall-clock time they cover together."""
    if event.source is not AttendanceSource.ONLINE:
        return None
    if event.span_start < enrolled_at:
        since = _minutes(event.occurred_at - enrolled_at)
        return OnlineMinutesExceedTime(
            f"{event.minutes} minutes of online learning cannot end {since} minutes "
            "after the enrolment"
        )
    spans = [
        o
        for o in nearby
        if o.source is AttendanceSource.ONLINE and o.enrolment_id == event.enrolment_id
    ]
    total, covered = overlapping_minutes(event, spans)
    if timedelta(minutes=total) > covered:
        return OnlineMinutesExceedTime(
            f"online learning adds up to {total} minutes in {_minutes(covered)} minutes of time"
        )
    return None


def overlapping_minutes(
    event: AttendanceFact, spans: Sequence[AttendanceFact]
) -> tuple[int, timedelta]:
    """(minutes reported, wall-clock time covered) by ``event`` and every span overlapping it,
    directly or through another overlapping span."""
    low, high = event.span_start, event.occurred_at
    members = [event]
    rest = list(spans)
    grown = True
    while grown:
        grown = False
        for span in list(rest):
            if span.span_start < high and low < span.occurred_at:
                members.append(span)
                rest.remove(span)
                low, high = min(low, span.span_start), max(high, span.occurred_at)
                grown = True
    return sum(m.minutes for m in members), high - low


def implausibility(
    event: AttendanceFact,
    nearby: Sequence[AttendanceFact],
    course_dates: tuple[date, date],
    enrolled_at: datetime,
) -> ImplausibleAttendance | None:
    """The first reason ``event`` cannot be true, given the recorded events ``nearby``."""
    return (
        outside_course_dates(event.occurred_at, *course_dates)
        or in_two_places(event, nearby)
        or device_burst(event, nearby)
        or online_minutes_exceed_time(event, nearby, enrolled_at)
    )


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
