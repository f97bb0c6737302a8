"""Every domain error has an HTTP status and a title in both languages."""

from __future__ import annotations

import pytest

from skillvoucher.api.problems import TITLES, status_of
from skillvoucher.application.worker_identity import EsscUnavailable
from skillvoucher.credentials.keys import NoSigningKey
from skillvoucher.domain import errors
from skillvoucher.persistence.database import DatabaseUnavailable
from skillvoucher.persistence.migrate import DatabaseNotReady


def all_error_classes() -> list[type[errors.DomainError]]:
    found: list[type[errors.DomainError]] = []
    pending: list[type[errors.DomainError]] = [errors.DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize("error_class", all_error_classes(), ids=lambda c: c.__name__)
def test_every_domain_error_maps_to_a_client_error(error_class: type[errors.DomainError]) -> None:
    # Only these are not the client's doing: our database not ready or its connection lost,
    # the e-SSC unreachable.
    server_side = {DatabaseNotReady: 503, DatabaseUnavailable: 503, EsscUnavailable: 502}
    if error_class in server_side:
        assert status_of(error_class("x")) == server_side[error_class]
    else:
        assert status_of(error_class("x")) in range(400, 500)


def test_the_expected_errors_are_covered() -> None:
    # Errors defined outside domain/errors.py are still found by walking the subclasses.
    names = {c.__name__ for c in all_error_classes()}
    assert {NoSigningKey.__name__, DatabaseNotReady.__name__} <= names


def test_every_title_has_both_languages() -> None:
    for code, (zh, en) in TITLES.items():
        assert zh, code
        assert en, code
        assert zh != en, code


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.NotFound("x"), 404),
        (errors.QuotaExhausted("x"), 409),
        (errors.ConsentInvalid("x"), 403),
        (errors.BadSignature("x"), 422),
        (errors.InvalidResidentId("x"), 422),
    ],
)
def test_statuses_of_some_errors(error: errors.DomainError, status: int) -> None:
    assert status_of(error) == status
