"""After the API walkthrough: what the portals need so a newcomer can click through each of them,
an enterprise scheme with a roster to upload, and a settlement batch waiting for approval."""

from __future__ import annotations

from pathlib import Path

from skillvoucher.application.context import AppContext
from skillvoucher.demo.walkthrough import Walkthrough
from skillvoucher.demo.walkthrough_enterprise import prepare_enterprise_walkthrough
from skillvoucher.demo.walkthrough_settlement import prepare_settlement_walkthrough


def prepare_portal_walkthroughs(ctx: AppContext, folder: Path, walkthrough: Walkthrough) -> None:
    prepare_enterprise_walkthrough(ctx, folder, walkthrough.employer_credit_code)
    prepare_settlement_walkthrough(ctx, folder, walkthrough)
