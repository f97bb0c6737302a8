"""Attendance: real-name check-ins offline and learning minutes online."""

from __future__ import annotations

from enum import StrEnum


class AttendanceSource(StrEnum):
    FACE = "face"  # face recognition at the classroom door
    QR = "qr"  # the holder's e-SSC QR code scanned by a device
    CARD = "card"  # the physical social security card
    ONLINE = "online"  # learning minutes reported by an online training platform


MAX_MINUTES_PER_EVENT = 24 * 60
