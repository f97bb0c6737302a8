"""Schemathesis against the app's own OpenAPI schema: no 5xx, no response outside the schema.

Bounded (a few dozen examples per operation) so that it fits in CI on two cores. Schemathesis
reads the schema when the module is collected, so the app here runs on its own SQLite
database made at import time (the other API tests cover PostgreSQL).

Every case is sent twice: anonymously (the sign-in wall must hold without a 5xx) and as a
province administrator, who may reach nearly every operation's real work.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from builders import Clock, import_course, import_institution, make_context
from principals import staff_headers
from skillvoucher.api.app import create_app
from skillvoucher.application.regions_import import load_builtin_regions
from skillvoucher.domain.access import Role
from skillvoucher.persistence import migrate

_DIRECTORY = Path(tempfile.mkdtemp(prefix="skillvoucher-fuzz-"))
_CONTEXT = make_context(f"sqlite:///{_DIRECTORY / 'fuzz.db'}", _DIRECTORY, Clock())
migrate.upgrade(_CONTEXT.engine)
load_builtin_regions(_CONTEXT)
import_course(_CONTEXT, import_institution(_CONTEXT))
_ADMIN = staff_headers(_CONTEXT, Role.PROVINCE_ADMIN, region_code="140000")

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_CONTEXT))


@pytest.fixture(scope="module", autouse=True)
def _close_the_database() -> Iterator[None]:
    yield
    _CONTEXT.close()


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors_and_responses_match_the_schema(case: schemathesis.Case[Any]) -> None:
    # Excluded: "schema-valid data must be accepted" (a cursor or voucher code can be
    # well-formed and still not one this service gave out: a 422 by design), and "ignored
    # auth", which takes the public catalogue's optional sign-in for a required one and our
    # real token for a generated one. Who may call what is the role-matrix test's business.
    excluded = [positive_data_acceptance, ignored_auth]
    case.call_and_validate(excluded_checks=excluded)
    if case.path.startswith("/api/v1/auth/"):
        return  # sign-in answers 401 by design, and sign-out would end the token's session
    case.headers.update(_ADMIN)
    answer = case.call_and_validate(excluded_checks=excluded)
    assert answer.status_code != 401  # the administrator's token was sent and held
