"""Signed-in browsers for page tests (TestClient with the portal cookies), and small readers of
the HTML the pages answer with."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient

from principals import CITY, PASSWORD, staff_account
from skillvoucher.api.auth import CSRF_COOKIE, SESSION_COOKIE
from skillvoucher.application.context import AppContext
from skillvoucher.application.sign_in import start_worker_session
from skillvoucher.domain.access import Role

ENGLISH = {"Accept-Language": "en"}


def sign_in_staff_page(
    client: TestClient,
    ctx: AppContext,
    role: Role,
    *,
    region_code: str | None = CITY,
    institution_id: uuid.UUID | None = None,
    employer_credit_code: str | None = None,
) -> str:
    """Signs a new staff member in through the sign-in form; returns their CSRF token."""
    username = staff_account(
        ctx,
        role,
        region_code=region_code,
        institution_id=institution_id,
        employer_credit_code=employer_credit_code,
    )
    answer = client.post(
        "/sign-in",
        data={"username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client)


def sign_in_worker_page(client: TestClient, ctx: AppContext, person_id: uuid.UUID) -> str:
    """Gives the client the cookies the e-SSC callback sets; returns the CSRF token."""
    issued = start_worker_session(ctx, person_id)
    client.cookies.set(SESSION_COOKIE, issued.token)
    client.cookies.set(CSRF_COOKIE, issued.csrf_token)
    return issued.csrf_token


def csrf_of(client: TestClient) -> str:
    token = client.cookies.get(CSRF_COOKIE)
    assert token, "no CSRF cookie: not signed in"
    return token


def text_of(html: str) -> str:
    """The page's visible text, roughly: tags dropped and spaces collapsed."""
    without_scripts = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", without_scripts).split())
