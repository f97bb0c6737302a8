"""Domain errors: facts about the world that a caller can act on.

Each error has a stable machine ``code`` (the API and the CLI show it; translations key on it)
and an English message. Callers never see a bare ``ValueError`` for bad input.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected failure. ``code`` is stable across releases."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    code = "invalid_input"


class InvalidResidentId(InvalidInput):
    code = "invalid_resident_id"


class InvalidCreditCode(InvalidInput):
    code = "invalid_credit_code"


class InvalidMobile(InvalidInput):
    code = "invalid_mobile"


class InvalidRegionCode(InvalidInput):
    code = "invalid_region_code"


class InvalidScheme(InvalidInput):
    code = "invalid_scheme"


class PayloadTooLarge(InvalidInput):
    """A request body or file beyond the size this service accepts."""

    code = "payload_too_large"


class NotFound(DomainError):
    code = "not_found"


class AlreadyExists(DomainError):
    code = "already_exists"


class NotEligible(DomainError):
    code = "not_eligible"


class QuotaExhausted(DomainError):
    code = "quota_exhausted"


class InsufficientFunds(DomainError):
    code = "insufficient_funds"


class IllegalTransition(DomainError):
    code = "illegal_transition"


class NoticeNotOver(IllegalTransition):
    """A settlement batch is paid only after its public notice (objection period) ended."""

    code = "notice_not_over"


class InstitutionSuspended(IllegalTransition):
    """An administrator suspended the institution: its unpaid settlement waits."""

    code = "institution_suspended"


class VoucherExpired(DomainError):
    code = "voucher_expired"


class VoucherNotUsable(DomainError):
    code = "voucher_not_usable"


class ConsentInvalid(DomainError):
    code = "consent_invalid"


class AlreadyEnrolled(DomainError):
    code = "already_enrolled"


class CourseNotUsable(DomainError):
    code = "course_not_usable"


class SchemeNotActive(DomainError):
    code = "scheme_not_active"


class CredentialError(DomainError):
    """A voucher code failed offline verification."""

    code = "credential_invalid"


class MalformedCredential(CredentialError):
    code = "credential_malformed"


class UnknownSigningKey(CredentialError):
    code = "credential_unknown_key"


class BadSignature(CredentialError):
    code = "credential_bad_signature"


class CredentialExpired(CredentialError):
    code = "credential_expired"


class CredentialNotYetValid(CredentialError):
    code = "credential_not_yet_valid"


class DisputeOpen(IllegalTransition):
    """A holder's dispute or an objection is open: the money it concerns waits for its
    resolution."""

    code = "dispute_open"
