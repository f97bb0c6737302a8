"""The demo's three schemes, as the YAML-shaped documents an administrator would write."""

from __future__ import annotations

from typing import Any

from skillvoucher.demo.scales import Scale


def first_come_and_enterprise_schemes(scale: Scale, year: int) -> list[dict[str, Any]]:
    """Taiyuan's first-come scheme for graduates and the province's enterprise scheme."""
    return [
        {
            "code": f"TY-{year}-GRADUATE",
            "name": f"太原市{year}年高校毕业生技能培训券（先到先得）",
            "region": "140100",
            "type": "individual",
            "issuance": "claim",
            "quota": scale.graduate_quota,
            "budget_fen": scale.graduate_quota * 120_000,
            "face_value": {"fixed_fen": 120_000},
            "validity": {"until": f"{year}-12-31"},
            "eligibility": {
                "target_groups": ["college_graduate", "unemployed_graduate"],
                "household_regions": ["140100"],
            },
            "settlement": {
                "stages": [
                    {"evidence": "enrolment", "percent": 40},
                    {"evidence": "completion", "percent": 60},
                ],
                "min_attendance_percent": 70,
            },
        },
        {
            "code": f"SX-{year}-ENTERPRISE",
            "name": f"山西省{year}年企业职工岗位技能提升培训券",
            "region": "140000",
            "type": "enterprise",
            "issuance": "application",
            "quota": scale.requesting_enterprises * scale.enterprise_roster,
            "budget_fen": scale.requesting_enterprises * scale.enterprise_roster * 150_000,
            "face_value": {"by_level": {"4": 120_000, "3": 150_000, "special": 50_000}},
            "validity": {"days": 240},
            "eligibility": {"target_groups": ["employee"], "max_age": 60},
            "courses": {"levels": ["4", "3", "special"]},
            "settlement": {
                "stages": [{"evidence": "completion", "percent": 100}],
                "min_attendance_percent": 90,
            },
        },
    ]


def target_group_scheme(year: int, quota: int) -> dict[str, Any]:
    """The province's push scheme for target groups, sized to fill the pilot's total."""
    target_face = {
        "5": 100_000,
        "4": 150_000,
        "3": 200_000,
        "special": 60_000,
        "completion": 50_000,
    }
    return {
        "code": f"SX-{year}-TARGET",
        "name": f"山西省{year}年重点群体职业技能培训券",
        "region": "140000",
        "type": "individual",
        "issuance": "push",
        "quota": quota,
        "budget_fen": quota * 200_000,
        "face_value": {"by_level": target_face},
        "validity": {"days": 180},
        "eligibility": {
            "target_groups": [
                "unemployed",
                "poverty_alleviated",
                "school_leaver",
                "rural_migrant_worker",
                "laid_off",
                "retired_soldier",
                "disabled",
                "unemployed_graduate",
            ],
            "min_age": 16,
            "max_age": 60,
            "max_vouchers_per_year": 1,
        },
        "settlement": {
            "stages": [
                {"evidence": "enrolment", "percent": 30},
                {"evidence": "certificate", "percent": 70},
            ],
            "min_attendance_percent": 80,
        },
    }
