"""Who is this card holder: turning an identity the e-SSC vouched for into a worker session.

The e-SSC tells us a resident ID number; the registry knows people only by a keyed digest of
it. A well-vouched-for person who is not in the registry is refused (the registry, not the
card, decides who may hold vouchers), and nothing here ever repeats the number.
"""

from __future__ import annotations

from skillvoucher.application.context import AppContext
from skillvoucher.application.sign_in import IssuedSession, start_worker_session
from skillvoucher.domain.access import AccessDenied, NotAuthenticated
from skillvoucher.domain.errors import DomainError, InvalidResidentId
from skillvoucher.domain.identity import parse_resident_id


class EsscSignInFailed(NotAuthenticated):
    """The e-SSC round trip did not prove who the caller is (bad state, refused consent,
    a code used twice, an ID token that does not verify)."""

    code = "essc_sign_in_failed"


class EsscUnavailable(DomainError):
    """The e-SSC could not be reached or answered nonsense."""

    code = "essc_unavailable"


class CardHolderNotRegistered(AccessDenied):
    code = "card_holder_not_registered"


def sign_in_card_holder(ctx: AppContext, id_number: str) -> IssuedSession:
    """A worker session for the registry's person with ``id_number``, as vouched for by the
    e-SSC; CardHolderNotRegistered when the registry has no such person, AccessDenied when their
    card is not active."""
    try:
        resident = parse_resident_id(id_number, today=ctx.clock().date())
    except InvalidResidentId:
        # The reason may describe the number (its birth date); say only that it is unusable.
        raise EsscSignInFailed("the e-SSC vouched for an unusable ID number") from None
    with ctx.unit_of_work() as uow:
        person = uow.people.by_digest(ctx.digest(resident.number))
        person_id = None if person is None else person.id
    if person_id is None:
        raise CardHolderNotRegistered(
            "the card holder is not in the training-voucher registry; ask the local human "
            "resources and social security bureau"
        )
    return start_worker_session(ctx, person_id)
