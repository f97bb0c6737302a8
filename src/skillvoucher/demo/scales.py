"""How big a demo is. ``pilot`` mirrors the national pilot: 1,757,000 vouchers, ~4.8 % used."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    people: int
    enterprises: int
    institutions_per_city: int
    total_vouchers: int  # the province's push scheme tops the claims and requests up to this
    graduate_quota: int  # Taiyuan's first-come scheme for graduates
    graduate_claimants: int
    enterprise_roster: int  # employees per requesting enterprise
    requesting_enterprises: int
    use_rate: float  # share of issued vouchers that get enrolled
    attendance_events: int  # per enrolment


SCALES = {
    "small": Scale(
        name="small",
        people=12_000,
        enterprises=40,
        institutions_per_city=4,
        total_vouchers=4_100,
        graduate_quota=20,
        graduate_claimants=60,
        enterprise_roster=25,
        requesting_enterprises=4,
        use_rate=0.15,
        attendance_events=4,
    ),
    "pilot": Scale(
        name="pilot",
        people=5_200_000,  # about 34 % of a registry qualifies for the target-group scheme
        enterprises=2_000,
        institutions_per_city=130,  # 11 cities x 130 ~ the pilot's 1,448 institutions
        total_vouchers=1_757_000,  # the national pilot's figure
        graduate_quota=12_000,
        graduate_claimants=15_000,
        enterprise_roster=50,
        requesting_enterprises=100,
        use_rate=0.048,
        attendance_events=2,
    ),
}
