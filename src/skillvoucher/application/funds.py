"""The region's special fund account: deposits and balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Scope
from skillvoucher.domain.errors import InvalidInput, NotFound
from skillvoucher.domain.ledger import Account, JournalKind, Movement
from skillvoucher.persistence.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class FundBalance:
    region_code: str
    name: str
    balances: dict[Account, int]


def open_fund_account(uow: UnitOfWork, region_code: str, at: datetime) -> str:
    """Open the region's special account unless it is open already; returns its name."""
    region = uow.regions.get(region_code)
    if region is None:
        raise NotFound(f"region {region_code} is not known")
    name = f"{region.name}职业技能提升专账"
    uow.ledger.ensure_fund_account(region_code, name, at)
    return name


def deposit(ctx: AppContext, region_code: str, amount_fen: int, reference: str) -> FundBalance:
    """Money arrives in the region's special fund from the treasury (opens the account)."""
    if amount_fen <= 0:
        raise InvalidInput("a deposit must be a positive number of fen")
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        name = open_fund_account(uow, region_code, now)
        uow.ledger.post(Movement(JournalKind.DEPOSIT, amount_fen, region_code), now)
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action="fund.deposited",
            entity_type="fund_account",
            entity_id=region_code,
            region_code=region_code,
            payload={"amount_fen": amount_fen, "reference": reference},
        )
        balances = uow.ledger.balances(region_code)
        uow.commit()
    return FundBalance(region_code, name, balances)


def fund_balances(ctx: AppContext, scope: Scope | None = None) -> list[FundBalance]:
    """Every fund account's buckets; only the accounts within ``scope`` when it is given."""
    with ctx.unit_of_work() as uow:
        return [
            FundBalance(a.region_code, a.name, uow.ledger.balances(a.region_code))
            for a in uow.ledger.fund_accounts(scope)
        ]
