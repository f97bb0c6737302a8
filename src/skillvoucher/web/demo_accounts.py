"""The demo's accounts, listed on the sign-in page in development so a newcomer can click
through every portal. Read from the ``walkthrough.json`` that ``skillvoucher demo`` writes;
production never shows them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from skillvoucher.config import Settings
from skillvoucher.demo.walkthrough import WALKTHROUGH_FILE
from skillvoucher.web.i18n import N_

PORTAL_OF_ACCOUNT = {
    "demo-institution": N_("Institution portal"),
    "demo-enterprise": N_("Enterprise portal"),
    "demo-taiyuan-admin": N_("Administrator console (city)"),
    "demo-shanxi-admin": N_("Administrator console (province)"),
    "demo-auditor": N_("Administrator console (auditor)"),
    "demo-statistician": N_("Statistics dashboard (national)"),
}


@dataclass(frozen=True)
class DemoAccount:
    portal: str
    username: str
    password: str


@dataclass(frozen=True)
class DemoAccounts:
    accounts: list[DemoAccount]
    worker_id_number: str
    worker_name: str


def walkthrough_path(settings: Settings) -> Path:
    return settings.data_dir / "demo" / WALKTHROUGH_FILE


def demo_accounts(settings: Settings) -> DemoAccounts | None:
    """The demo's accounts in development when the demo has run; otherwise None."""
    if settings.environment != "development":
        return None
    path = walkthrough_path(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    passwords = data.get("passwords") or {}
    accounts = [
        DemoAccount(portal, username, passwords[username])
        for username, portal in PORTAL_OF_ACCOUNT.items()
        if username in passwords
    ]
    return DemoAccounts(
        accounts, str(data.get("worker_id_number", "")), str(data.get("worker_name", ""))
    )
