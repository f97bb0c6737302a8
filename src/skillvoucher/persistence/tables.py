"""The relational schema. Every hot table carries ``region_code`` and ``province_code`` so that
region scoping is one predicate, and has ``province_code`` in its keys and in its references to
the province's other tables so that a distributed deployment can shard by province
(decision 19; where each table goes: ``persistence/distribution.py``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from skillvoucher.domain.access import Role
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import (
    ApprovalStatus,
    CourseApproval,
    CourseMode,
    DeliveryModes,
    SkillLevel,
)
from skillvoucher.domain.disputes import DisputeStatus, DisputeSubject
from skillvoucher.domain.identity import Sex
from skillvoucher.domain.ledger import Account, JournalKind, TransferStatus
from skillvoucher.domain.notices import NoticeKind
from skillvoucher.domain.people import CardStatus
from skillvoucher.domain.regions import RegionLevel
from skillvoucher.domain.schemes import IssuanceMode, SchemeStatus, SchemeType
from skillvoucher.domain.settlement import BatchStatus, Evidence
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.types import JsonDocument, UtcDateTime, str_enum

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RegionCode = sa.String(6)
CreditCode = sa.String(18)
Fen = sa.BigInteger()


def province_key(*columns: str) -> sa.PrimaryKeyConstraint:
    """A primary key that ends with ``province_code``: what Citus asks of a table distributed by
    province (decision 19). The row's own key leads, so a look-up by it alone stays one index
    probe; the mapper keeps that key alone as the row's identity."""
    return sa.PrimaryKeyConstraint(*columns, "province_code")


def identity(*columns: Any) -> dict[str, Any]:
    """Mapper arguments that keep the row's own key as its identity under ``province_key``:
    ``session.get(Voucher, id)`` and the identity map work as before."""
    return {"primary_key": list(columns)}


def same_province(column: str, table: str) -> sa.ForeignKeyConstraint:
    """A reference to a row of the same province, ``(column, province_code)`` to that table's
    ``(id, province_code)``: Citus accepts a foreign key between distributed tables only when it
    includes the distribution column, and it holds here because a scheme's vouchers,
    enrolments, settlement and ledger all stay in the scheme's province."""
    return sa.ForeignKeyConstraint(
        [column, "province_code"], [f"{table}.id", f"{table}.province_code"]
    )


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    # SQLAlchemy reads this class attribute itself; it is configuration, never mutated.
    type_annotation_map = {datetime: UtcDateTime(), uuid.UUID: sa.Uuid()}  # noqa: RUF012


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(RegionCode, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(80))
    level: Mapped[RegionLevel] = mapped_column(str_enum(RegionLevel, "region_level"))
    parent_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"))


class FundAccount(Base):
    """The region's special account; ``available_fen`` mirrors its ledger bucket as a guard."""

    __tablename__ = "fund_accounts"
    __table_args__ = (
        province_key("region_code"),
        sa.CheckConstraint("available_fen >= 0", name="not_overdrawn"),
    )

    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    province_code: Mapped[str] = mapped_column(RegionCode)
    name: Mapped[str] = mapped_column(sa.String(120))
    available_fen: Mapped[int] = mapped_column(Fen, default=0)
    created_at: Mapped[datetime]
    __mapper_args__ = identity(region_code)


class Person(Base):
    """A registry entry. The resident ID number is kept only as a keyed digest and a mask."""

    __tablename__ = "people"
    __table_args__ = (
        province_key("id"),
        # One person in the nation is person_directory's to keep; this also finds them.
        sa.UniqueConstraint("id_digest", "province_code"),
        sa.Index(None, "household_region", "target_groups_mask"),
        # Risk flags look for many holders behind one mobile number.
        sa.Index(None, "mobile"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    id_digest: Mapped[str] = mapped_column(sa.String(64))
    id_masked: Mapped[str] = mapped_column(sa.String(18))
    name: Mapped[str] = mapped_column(sa.String(50))
    mobile: Mapped[str | None] = mapped_column(sa.String(11))
    birth_date: Mapped[date]
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, "sex"))
    household_region: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    province_code: Mapped[str] = mapped_column(RegionCode)
    card_status: Mapped[CardStatus] = mapped_column(str_enum(CardStatus, "card_status"))
    employer_credit_code: Mapped[str | None] = mapped_column(CreditCode, index=True)
    target_groups_mask: Mapped[int] = mapped_column(sa.Integer)
    content_digest: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PersonDirectory(Base):
    """Where each resident ID's one row of ``people`` lives: the guard of "one person in the
    nation" once ``people`` is spread by province (decision 19), where a unique key can only
    hold within a province. Written in the transaction that writes the person; distributed by
    ``id_digest`` on Citus, so that this key stays national."""

    __tablename__ = "person_directory"

    id_digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    province_code: Mapped[str] = mapped_column(RegionCode)
    person_id: Mapped[uuid.UUID]


class Institution(Base):
    __tablename__ = "institutions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(CreditCode, unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    province_code: Mapped[str] = mapped_column(RegionCode)
    approval_status: Mapped[ApprovalStatus] = mapped_column(
        str_enum(ApprovalStatus, "approval_status")
    )
    delivery_modes: Mapped[DeliveryModes] = mapped_column(str_enum(DeliveryModes, "delivery"))
    content_digest: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The last suspension by an administrator (risk flags): kept after reinstatement, so the
    # row says who stopped it and why; the audit trail holds the whole history.
    suspended_at: Mapped[datetime | None]
    suspended_by: Mapped[str | None] = mapped_column(sa.String(80))
    suspension_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # Set while the institution stands refused by an administrator (cleared when one approves
    # it): a re-import of the catalogue file keeps such an institution refused.
    refused_at: Mapped[datetime | None]
    refused_by: Mapped[str | None] = mapped_column(sa.String(80))
    refusal_reason: Mapped[str | None] = mapped_column(sa.String(500))


class Course(Base):
    __tablename__ = "courses"
    __table_args__ = (
        province_key("id"),
        sa.UniqueConstraint("institution_id", "course_code", "province_code"),
        sa.CheckConstraint("price_fen >= 0", name="price_not_negative"),
        sa.CheckConstraint("hours > 0", name="hours_positive"),
        sa.CheckConstraint("enrolled_count <= capacity", name="within_capacity"),
        sa.Index(None, "region_code", "occupation_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    institution_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("institutions.id"))
    course_code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(120))
    occupation_code: Mapped[str] = mapped_column(sa.String(12))
    occupation_name: Mapped[str] = mapped_column(sa.String(60))
    skill_level: Mapped[SkillLevel] = mapped_column(str_enum(SkillLevel, "skill_level"))
    hours: Mapped[int]
    price_fen: Mapped[int] = mapped_column(Fen)
    mode: Mapped[CourseMode] = mapped_column(str_enum(CourseMode, "course_mode"))
    capacity: Mapped[int]
    enrolled_count: Mapped[int] = mapped_column(default=0)
    start_date: Mapped[date]
    end_date: Mapped[date]
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    content_digest: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Imported rows never name it, so a course comes in approved and a re-import never changes
    # an administrator's decision (application/course_approval.py).
    approval_status: Mapped[CourseApproval] = mapped_column(
        str_enum(CourseApproval, "course_approval"),
        default=CourseApproval.APPROVED,
        server_default=CourseApproval.APPROVED.value,
    )


class Scheme(Base):
    """A scheme; ``rules`` holds its full definition, the counters guard quota and budget."""

    __tablename__ = "schemes"
    __table_args__ = (
        province_key("id"),
        # National uniqueness of the code is scheme_codes' to keep; this also finds schemes.
        sa.UniqueConstraint("code", "province_code"),
        sa.CheckConstraint("issued_count <= quota", name="within_quota"),
        sa.CheckConstraint("available_fen >= 0", name="not_overdrawn"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(120))
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    province_code: Mapped[str] = mapped_column(RegionCode)
    type: Mapped[SchemeType] = mapped_column(str_enum(SchemeType, "scheme_type"))
    issuance_mode: Mapped[IssuanceMode] = mapped_column(str_enum(IssuanceMode, "issuance_mode"))
    status: Mapped[SchemeStatus] = mapped_column(str_enum(SchemeStatus, "scheme_status"))
    quota: Mapped[int]
    issued_count: Mapped[int] = mapped_column(default=0)
    budget_fen: Mapped[int] = mapped_column(Fen)
    available_fen: Mapped[int] = mapped_column(Fen, default=0)
    face_value_max_fen: Mapped[int] = mapped_column(Fen)
    rules: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[datetime]
    launched_at: Mapped[datetime | None]


class SchemeCode(Base):
    """Every scheme's code, once in the nation: scheme codes name schemes in URLs and files
    wherever they are used. A scheme row is in its province (decision 19); this small table,
    written when a scheme is created, is copied to every node on Citus."""

    __tablename__ = "scheme_codes"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    province_code: Mapped[str] = mapped_column(RegionCode)
    scheme_id: Mapped[uuid.UUID]


class SchemeQuotaStripe(Base):
    """A share of a scheme's quota that claims take places from (``domain/quota_stripes.py``):
    claimants spread over the stripes instead of all queueing for the scheme's one counter.
    The shares add up to the scheme's quota; ``schemes.issued_count`` stays the total, moved in
    the same transaction as the stripe, and refuses to pass the quota whatever the stripes say."""

    __tablename__ = "scheme_quota_stripes"
    __table_args__ = (
        province_key("scheme_id", "stripe"),
        same_province("scheme_id", "schemes"),
        sa.CheckConstraint("taken >= 0 AND taken <= quota", name="within_share"),
    )

    scheme_id: Mapped[uuid.UUID] = mapped_column()
    stripe: Mapped[int] = mapped_column(sa.SmallInteger)
    province_code: Mapped[str] = mapped_column(RegionCode)  # the scheme's
    quota: Mapped[int]
    taken: Mapped[int]
    __mapper_args__ = identity(scheme_id, stripe)


class SchemeQuotaGate(Base):
    """How many of a scheme's stripes still have a place: moved only when a stripe fills (by
    the claim that fills it, in its transaction) or when a raised quota reopens stripes. A
    claim that finds it at 0 is refused after reading this one row, not every stripe."""

    __tablename__ = "scheme_quota_gates"
    __table_args__ = (
        province_key("scheme_id"),
        same_province("scheme_id", "schemes"),
        sa.CheckConstraint("open_stripes >= 0", name="not_negative"),
    )

    scheme_id: Mapped[uuid.UUID] = mapped_column()
    province_code: Mapped[str] = mapped_column(RegionCode)  # the scheme's
    open_stripes: Mapped[int] = mapped_column(sa.SmallInteger)
    quota: Mapped[int]  # the stripes' shares added up: less than the scheme's once it is raised
    __mapper_args__ = identity(scheme_id)


class Voucher(Base):
    __tablename__ = "vouchers"
    __table_args__ = (
        province_key("id"),
        same_province("scheme_id", "schemes"),
        same_province("course_id", "courses"),
        # One voucher per person per scheme: makes push issuance re-runnable and same-person
        # claim races harmless.
        sa.UniqueConstraint("scheme_id", "person_id", "province_code"),
        sa.Index(None, "scheme_id", "status"),
        sa.Index(None, "region_code", "status"),
        sa.Index(None, "institution_id", "status"),
        sa.Index(None, "status", "valid_until"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    scheme_id: Mapped[uuid.UUID]
    # No foreign key to people: a scheme may admit holders from another province
    # (decision 19), whose row lives there.
    person_id: Mapped[uuid.UUID] = mapped_column(index=True)
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    holder_region: Mapped[str] = mapped_column(RegionCode)
    target_group: Mapped[str | None] = mapped_column(sa.String(30))
    face_value_fen: Mapped[int] = mapped_column(Fen)
    status: Mapped[VoucherStatus] = mapped_column(str_enum(VoucherStatus, "voucher_status"))
    issued_at: Mapped[datetime]
    valid_until: Mapped[datetime]
    key_id: Mapped[str | None] = mapped_column(sa.String(40))
    credential: Mapped[str | None] = mapped_column(sa.Text)
    course_id: Mapped[uuid.UUID | None]
    institution_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("institutions.id"))
    redeemable_fen: Mapped[int | None] = mapped_column(Fen)
    enrolled_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    certificate_no: Mapped[str | None] = mapped_column(sa.String(40))
    certificate_level: Mapped[SkillLevel | None] = mapped_column(
        str_enum(SkillLevel, "certificate_level")
    )
    certified_at: Mapped[datetime | None]  # when the certificate was recorded (settlement evidence)
    closed_at: Mapped[datetime | None]  # settled, expired or revoked
    version: Mapped[int] = mapped_column(default=1)


class ConsentCode(Base):
    """A short-lived one-time code from the holder's e-SSC side, stored as a digest."""

    __tablename__ = "consent_codes"
    __table_args__ = (province_key("id"), same_province("voucher_id", "vouchers"))

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    voucher_id: Mapped[uuid.UUID] = mapped_column(index=True)
    province_code: Mapped[str] = mapped_column(RegionCode)  # the voucher's
    code_digest: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Enrolment(Base):
    __tablename__ = "enrolments"
    __table_args__ = (
        province_key("id"),
        same_province("voucher_id", "vouchers"),
        same_province("course_id", "courses"),
        # At most one live enrolment per voucher, whatever the concurrency.
        sa.Index(
            "uq_enrolments_voucher_active",
            "voucher_id",
            "province_code",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
        sa.Index(None, "person_id", "occupation_code", "skill_level"),
        sa.Index(None, "institution_id", "status"),
        # Risk flags count an institution's enrolments per week (enrolment spikes).
        sa.Index(None, "institution_id", "enrolled_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    voucher_id: Mapped[uuid.UUID]
    course_id: Mapped[uuid.UUID]
    institution_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("institutions.id"))
    person_id: Mapped[uuid.UUID]  # no foreign key: see Voucher.person_id
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    occupation_code: Mapped[str] = mapped_column(sa.String(12))
    skill_level: Mapped[SkillLevel] = mapped_column(str_enum(SkillLevel, "enrolment_level"))
    status: Mapped[EnrolmentStatus] = mapped_column(str_enum(EnrolmentStatus, "enrolment_status"))
    redeemable_fen: Mapped[int] = mapped_column(Fen)
    attended_minutes: Mapped[int] = mapped_column(default=0)
    enrolled_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class AttendanceEvent(Base):
    __tablename__ = "attendance_events"
    __table_args__ = (
        province_key("id"),
        same_province("enrolment_id", "enrolments"),
        same_province("voucher_id", "vouchers"),
        # A re-sent event (same enrolment, source and time) is the same event: re-runnable uploads.
        sa.UniqueConstraint("enrolment_id", "source", "occurred_at", "province_code"),
        sa.CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes_in_a_day"),
        # Attendance checks look at a device's, or an institution's, check-ins around a moment.
        sa.Index(None, "device_id", "occurred_at"),
        sa.Index(None, "institution_id", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    enrolment_id: Mapped[uuid.UUID]
    voucher_id: Mapped[uuid.UUID] = mapped_column(index=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("institutions.id"))
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    source: Mapped[AttendanceSource] = mapped_column(str_enum(AttendanceSource, "source"))
    device_id: Mapped[str | None] = mapped_column(sa.String(64))
    occurred_at: Mapped[datetime]
    minutes: Mapped[int]
    recorded_at: Mapped[datetime]


class SettlementBatch(Base):
    __tablename__ = "settlement_batches"
    __table_args__ = (
        province_key("id"),
        sa.UniqueConstraint("institution_id", "period_start", "period_end", "province_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    institution_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("institutions.id"))
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    period_start: Mapped[date]
    period_end: Mapped[date]
    status: Mapped[BatchStatus] = mapped_column(str_enum(BatchStatus, "batch_status"))
    total_fen: Mapped[int] = mapped_column(Fen)
    line_count: Mapped[int]
    created_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]  # the first (or only) approval
    approved_by: Mapped[str | None] = mapped_column(sa.String(80))
    second_approved_at: Mapped[datetime | None]  # four eyes, for large batches
    second_approved_by: Mapped[str | None] = mapped_column(sa.String(80))
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(sa.String(80))
    notice_until: Mapped[datetime | None]  # payable from this instant on
    paid_at: Mapped[datetime | None]
    payment_reference: Mapped[str | None] = mapped_column(sa.String(60))


class SettlementLine(Base):
    __tablename__ = "settlement_lines"
    __table_args__ = (
        province_key("id"),
        same_province("batch_id", "settlement_batches"),
        same_province("voucher_id", "vouchers"),
        same_province("scheme_id", "schemes"),
        # A stage of a voucher is settled once: re-running a period creates nothing twice.
        sa.UniqueConstraint("voucher_id", "stage_index", "province_code"),
        sa.CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    batch_id: Mapped[uuid.UUID] = mapped_column(index=True)
    voucher_id: Mapped[uuid.UUID]
    scheme_id: Mapped[uuid.UUID]
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    stage_index: Mapped[int]
    evidence: Mapped[Evidence] = mapped_column(str_enum(Evidence, "evidence"))
    amount_fen: Mapped[int] = mapped_column(Fen)
    withheld_at: Mapped[datetime | None]  # clawed back before its batch was paid: never paid


class LedgerEntry(Base):
    """One posting. Entries of a journal share ``journal_id`` and add up to zero."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        province_key("id"),
        same_province("scheme_id", "schemes"),
        same_province("voucher_id", "vouchers"),
        same_province("settlement_batch_id", "settlement_batches"),
        sa.Index(None, "region_code", "account"),
        sa.Index(None, "scheme_id", "account"),
        sa.Index(None, "voucher_id"),
        sa.Index(None, "journal_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    journal_id: Mapped[uuid.UUID]
    kind: Mapped[JournalKind] = mapped_column(str_enum(JournalKind, "journal_kind"))
    reverses: Mapped[JournalKind | None] = mapped_column(str_enum(JournalKind, "reversed_kind"))
    account: Mapped[Account] = mapped_column(str_enum(Account, "account"))
    amount_fen: Mapped[int] = mapped_column(Fen)
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    scheme_id: Mapped[uuid.UUID | None]
    voucher_id: Mapped[uuid.UUID | None]
    institution_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("institutions.id"))
    settlement_batch_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]


class AuditEvent(Base):
    """An append-only record of a state change or an administrator's action."""

    __tablename__ = "audit_events"
    __table_args__ = (
        province_key("id"),
        sa.Index(None, "entity_type", "entity_id"),
        sa.Index(None, "region_code", "occurred_at"),
        # The risk rules count recent events of one kind (attendance refusals) nationwide.
        sa.Index(None, "action", "occurred_at"),
        sa.UniqueConstraint("province_code", "seq"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    occurred_at: Mapped[datetime]
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    actor: Mapped[str] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(60))
    entity_type: Mapped[str] = mapped_column(sa.String(30))
    entity_id: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    # The hash chain (domain/audit_chain.py): position in the province's chain, the link of the
    # event before, and this event's own link. Null only on events written before the chain.
    seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))


class StaffAccount(Base):
    """A staff member's sign-in: institution staff, enterprise HR, administrators, auditors."""

    __tablename__ = "staff_accounts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(60), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(60))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "staff_role"))
    # The region the account's scope starts from (a province, city or county); None: nationwide.
    region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"))
    institution_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("institutions.id"))
    employer_credit_code: Mapped[str | None] = mapped_column(CreditCode)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    # The last TOTP time step accepted: a code is good once, even inside its 30-second window.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class SignInSession(Base):
    """A signed-in session, for a staff account or a worker; the token is kept as a digest.

    The same row backs a browser cookie (with its CSRF token) or an API bearer token."""

    __tablename__ = "sign_in_sessions"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", "token_digest"),
        sa.Index(None, "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    csrf_digest: Mapped[str] = mapped_column(sa.String(64))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("staff_accounts.id"), index=True
    )
    # No foreign key to people: sessions are distributed by token, people by province.
    person_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ApiKey(Base):
    """A partner system's key. Only a SHA-256 of the secret part is kept (it is 256 random bits,
    so a slow hash would add nothing); the prefix finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    secret_digest: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(80))
    role: Mapped[Role] = mapped_column(str_enum(Role, "api_key_role"))
    scopes: Mapped[list[str]] = mapped_column(JsonDocument)
    region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"))
    institution_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("institutions.id"))
    employer_credit_code: Mapped[str | None] = mapped_column(CreditCode)
    created_by: Mapped[str] = mapped_column(sa.String(80))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class IdempotencyRecord(Base):
    """The first answer to a mutating request sent with an ``Idempotency-Key``.

    Keys are per principal: two callers may use the same key without seeing each other's answer.
    ``request_digest`` catches a key reused for a different request."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        sa.PrimaryKeyConstraint("id", "principal"),
        sa.UniqueConstraint("principal", "key"),
        sa.Index(None, "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    principal: Mapped[str] = mapped_column(sa.String(80))
    key: Mapped[str] = mapped_column(sa.String(100))
    request_digest: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int | None]
    response_body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class FundTransfer(Base):
    """A transfer between two regions' special accounts; it moves money on its second approval."""

    __tablename__ = "fund_transfers"
    __table_args__ = (
        province_key("id"),
        sa.CheckConstraint("amount_fen > 0", name="positive"),
        sa.Index(None, "from_region", "status"),
        sa.Index(None, "to_region", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    from_region: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    to_region: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    region_code: Mapped[str] = mapped_column(RegionCode)  # the sender: who scopes the request
    province_code: Mapped[str] = mapped_column(RegionCode)
    amount_fen: Mapped[int] = mapped_column(Fen)
    reason: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[TransferStatus] = mapped_column(str_enum(TransferStatus, "transfer_status"))
    requested_by: Mapped[str] = mapped_column(sa.String(80))
    first_approver: Mapped[str | None] = mapped_column(sa.String(80))
    second_approver: Mapped[str | None] = mapped_column(sa.String(80))
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)


class AuditChainHead(Base):
    """The last link of a province's audit chain. Writers lock this row to append, in province
    order, at the end of their transaction; verification compares the chain's end with it."""

    __tablename__ = "audit_chain_heads"

    province_code: Mapped[str] = mapped_column(RegionCode, primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.String(64))


class CourseRating(Base):
    """A holder's rating (1 to 5) of a course they completed, one per enrolment: the worker
    portal shows each institution's average beside its completion and certificate rates."""

    __tablename__ = "course_ratings"
    __table_args__ = (
        province_key("id"),
        same_province("enrolment_id", "enrolments"),
        same_province("course_id", "courses"),
        sa.UniqueConstraint("enrolment_id", "province_code"),
        sa.CheckConstraint("score >= 1 AND score <= 5", name="score_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    enrolment_id: Mapped[uuid.UUID]
    course_id: Mapped[uuid.UUID]
    institution_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    person_id: Mapped[uuid.UUID]  # no foreign key: see Voucher.person_id
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    score: Mapped[int] = mapped_column(sa.SmallInteger)
    comment: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]


class HolderNotice(Base):
    """The outbox of notices to holders: written in the transaction of the change it reports,
    sent afterwards by ``application/notice_delivery.py``. The payload never holds an ID
    number, a mobile number or a name: the channels look up what they need when sending."""

    __tablename__ = "holder_notices"
    __table_args__ = (
        province_key("id"),
        same_province("voucher_id", "vouchers"),
        # Deliverers claim due rows in this order.
        sa.Index(None, "delivered_at", "next_attempt_at"),
        sa.Index(None, "person_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    person_id: Mapped[uuid.UUID]  # no foreign key: see Voucher.person_id
    voucher_id: Mapped[uuid.UUID | None]
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind, "notice_kind"))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    # Null once delivered or given up on: nothing is due.
    next_attempt_at: Mapped[datetime | None]
    # Per channel: "sent" or the last failure, so a retry sends only where it failed.
    channel_results: Mapped[dict[str, Any]] = mapped_column(JsonDocument)


class Dispute(Base):
    """A holder's dispute of a record of theirs, or an objection to a settlement batch on
    public notice. While open, the voucher's settlement (or the batch's payment) waits."""

    __tablename__ = "disputes"
    __table_args__ = (
        province_key("id"),
        same_province("voucher_id", "vouchers"),
        same_province("batch_id", "settlement_batches"),
        sa.Index(None, "voucher_id", "status"),
        sa.Index(None, "subject_kind", "subject_id", "status"),
        sa.Index(None, "region_code", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column()
    __mapper_args__ = identity(id)
    voucher_id: Mapped[uuid.UUID | None]
    person_id: Mapped[uuid.UUID | None]  # no foreign key: see Voucher.person_id
    subject_kind: Mapped[DisputeSubject] = mapped_column(str_enum(DisputeSubject, "subject_kind"))
    subject_id: Mapped[uuid.UUID]
    # Set for subjects inside a batch (a line, a batch objection): that batch's payment waits.
    batch_id: Mapped[uuid.UUID | None]
    reason: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[DisputeStatus] = mapped_column(str_enum(DisputeStatus, "dispute_status"))
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(sa.String(80))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(sa.String(80))
    resolution_note: Mapped[str | None] = mapped_column(sa.String(500))
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)


# Filled by the database, never by the ORM: on PostgreSQL from the sequence migration 0010 made
# (BIGSERIAL), on SQLite by the inserting statement (tally_sql._insert). SQLAlchemy cannot
# declare an autoincrement inside a composite key on SQLite, hence autoincrement=False.
TallyId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class VoucherTally(Base):
    """Signed differences to the voucher statistics, added by database triggers in the same
    statement as each change to ``vouchers`` or ``ledger_entries`` (``persistence.tally_sql``),
    and folded into one row per key from time to time. A figure is the SUM over its rows."""

    __tablename__ = "voucher_tallies"
    __table_args__ = (province_key("id"), sa.Index(None, "dimension", "region_code"))

    id: Mapped[int] = mapped_column(TallyId, autoincrement=False)
    __mapper_args__ = identity(id)
    # No foreign keys: the rows are derived, and a trigger need not pay for checking them.
    scheme_id: Mapped[uuid.UUID]
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    # When the vouchers were issued, in Asia/Shanghai: the month (YYYY-MM) on ``scheme`` rows,
    # which the breakdown by month reads; only the year (YYYY) on the others, which are sliced
    # by year at most: a month would multiply their rows by twelve for nothing.
    issued_in: Mapped[str] = mapped_column(sa.String(7))
    dimension: Mapped[str] = mapped_column(sa.String(16))
    holder_region: Mapped[str | None] = mapped_column(RegionCode)
    target_group: Mapped[str | None] = mapped_column(sa.String(30))
    institution_id: Mapped[uuid.UUID | None]
    event_month: Mapped[str | None] = mapped_column(sa.String(7))
    issued: Mapped[int] = mapped_column(sa.BigInteger)
    used: Mapped[int] = mapped_column(sa.BigInteger)
    completed: Mapped[int] = mapped_column(sa.BigInteger)
    certified: Mapped[int] = mapped_column(sa.BigInteger)
    settled: Mapped[int] = mapped_column(sa.BigInteger)
    expired: Mapped[int] = mapped_column(sa.BigInteger)
    revoked: Mapped[int] = mapped_column(sa.BigInteger)
    face_value_fen: Mapped[int] = mapped_column(Fen)
    redeemable_fen: Mapped[int] = mapped_column(Fen)
    settled_fen: Mapped[int] = mapped_column(Fen)
    paid_fen: Mapped[int] = mapped_column(Fen)


class LedgerTally(Base):
    """Signed sums of the ledger's postings per region, account and journal kind, added by a
    trigger with every posting (see ``VoucherTally``)."""

    __tablename__ = "ledger_tallies"
    __table_args__ = (province_key("id"), sa.Index(None, "region_code"))

    id: Mapped[int] = mapped_column(TallyId, autoincrement=False)
    __mapper_args__ = identity(id)
    region_code: Mapped[str] = mapped_column(RegionCode)
    province_code: Mapped[str] = mapped_column(RegionCode)
    account: Mapped[str] = mapped_column(sa.String(20))
    kind: Mapped[str] = mapped_column(sa.String(20))
    amount_fen: Mapped[int] = mapped_column(Fen)
    positive_fen: Mapped[int] = mapped_column(Fen)
