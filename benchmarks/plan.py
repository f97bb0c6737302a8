"""How big a run is: the full size measured by hand, or the quick one CI runs in seconds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    people: int
    vouchers: int
    institutions_per_city: int
    repeats: int  # timed calls per measurement, after one warm-up
    sample: int  # people checked one by one against the Python rules
    verify_seconds: float  # per round, per side
    verify_rounds: int
    time_limit: int  # seconds for the whole run
    # Goals 4 and 5, over HTTP: defaults sized for about two and a half minutes each here,
    # stage included; the goals' own sizes (a quota of 20,000, 100,000 claims) by flags.
    enrolments: int = 3_000
    enrol_clients: int = 32
    quota: int = 2_000
    claims: int = 10_000
    claim_clients: int = 64
    # The claim rush's straight-SQL comparison repeated (fresh schemes each round), and whether
    # to run it alone: the goal's size over HTTP takes about 8 minutes here.
    claim_rounds: int = 1
    claims_over_http: bool = True

    @classmethod
    def full(cls, people: int, vouchers: int | None = None) -> Plan:
        return cls(
            people=people,
            vouchers=people if vouchers is None else vouchers,
            institutions_per_city=130,  # about the national pilot's 1,430 institutions
            repeats=7,
            sample=5_000,
            verify_seconds=1.0,
            verify_rounds=3,
            time_limit=3_600,
        )

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            people=2_000,
            vouchers=3_000,
            institutions_per_city=2,
            repeats=3,
            sample=2_000,
            verify_seconds=0.1,
            verify_rounds=2,
            time_limit=180,
            enrolments=200,
            enrol_clients=8,
            quota=100,
            claims=400,
            claim_clients=16,
        )
