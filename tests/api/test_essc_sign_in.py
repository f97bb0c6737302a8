"""Worker sign-in with the e-SSC through HTTP: the relying party (Authlib) against the built-in
simulator, in-process under TestClient and over real sockets under `skillvoucher serve`."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey
from typer.testing import CliRunner

from builders import Clock, import_people, make_context, person
from principals import bearer
from skillvoucher.api.app import create_app
from skillvoucher.api.auth import SESSION_COOKIE
from skillvoucher.api.essc.provider import EsscNotConfigured, SimulatorRefused
from skillvoucher.api.essc.simulator import Simulator
from skillvoucher.api.essc.simulator_page import BANNER
from skillvoucher.application.context import AppContext
from skillvoucher.cli.main import app as cli_app
from skillvoucher.domain.people import CardStatus

SIGN_IN = "/api/v1/auth/essc/sign-in"
CALLBACK = "/api/v1/auth/essc/callback"
AUTHORIZE = "/essc-simulator/authorize"
TOKEN = "/essc-simulator/token"
PROBLEM = "application/problem+json"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def registered(
    ctx: AppContext, card_status: CardStatus = CardStatus.ACTIVE
) -> tuple[str, uuid.UUID]:
    """A new registry entry: (resident ID number, person id)."""
    someone = person(card_status=card_status)
    import_people(ctx, [someone])
    with ctx.unit_of_work() as uow:
        found = uow.people.by_digest(ctx.digest(someone.resident_id))
        assert found is not None
        return someone.resident_id, found.id


def unregistered_number() -> str:
    return person().resident_id


def consent_form(client: TestClient) -> dict[str, str]:
    """Start at the relying party and land on the simulator's page; its hidden fields."""
    page = client.get(SIGN_IN)
    assert page.status_code == 200, page.text
    assert page.url.path == AUTHORIZE
    assert BANNER in page.text
    return {name: unescape(value) for name, value in _HIDDEN.findall(page.text)}


def agree(client: TestClient, id_number: str, **options: Any) -> httpx2.Response:
    form = {**consent_form(client), "id_number": id_number, "name": "王芳", "decision": "allow"}
    return client.post(AUTHORIZE, data=form, **options)


def simulator_of(client: TestClient) -> Simulator:
    simulator: Simulator = client.app.state.essc_simulator  # type: ignore[attr-defined]
    return simulator


def assert_problem(answer: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["code"] == code
    return body


# --- The whole round trip ----------------------------------------------------------------------


def test_a_registered_worker_signs_in_through_the_simulator(
    client: TestClient, ctx: AppContext
) -> None:
    number, person_id = registered(ctx)
    form = consent_form(client)
    # State, nonce and a PKCE S256 challenge travel to the provider; no ID number does.
    assert {"state", "nonce", "code_challenge"} <= form.keys()
    assert (form["code_challenge_method"], form["scope"], form["client_id"]) == (
        "S256",
        "openid",
        "skillvoucher-dev",
    )

    answer = client.post(
        AUTHORIZE, data={**form, "id_number": number, "name": "王芳", "decision": "allow"}
    )

    assert answer.status_code == 200, answer.text
    assert answer.url.path == CALLBACK
    assert answer.headers["cache-control"] == "no-store"
    session = answer.json()
    assert session["role"] == "worker"
    assert set(session) == {"token", "csrf_token", "expires_at", "role"}
    me = client.get("/api/v1/auth/me", headers=bearer(session["token"])).json()
    assert (me["kind"], me["role"], me["label"]) == ("worker", "worker", f"worker:{person_id}")
    # The HttpOnly cookie signs the browser in too.
    assert "httponly" in answer.headers["set-cookie"].lower()
    assert client.cookies.get(SESSION_COOKIE) == session["token"]
    assert client.get("/api/v1/auth/me").json()["label"] == f"worker:{person_id}"
    # The number went only into the simulator's form body: no URL or Location carried it.
    for step in [*answer.history, answer]:
        assert number not in str(step.url)
        assert number not in step.headers.get("location", "")
    assert number not in answer.text
    with ctx.unit_of_work() as uow:
        actions = [event.action for event in uow.audit.for_entity("person", person_id)]
    assert "worker.signed_in" in actions


def test_no_id_number_reaches_the_logs(
    client: TestClient, ctx: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    number, _ = registered(ctx)
    stranger = unregistered_number()
    caplog.set_level(logging.DEBUG)

    assert agree(client, number).status_code == 200
    assert agree(client, stranger).status_code == 403

    assert caplog.records  # the HTTP client and the relying party did log
    for record in caplog.records:
        assert number not in record.getMessage()
        assert stranger not in record.getMessage()


def test_a_person_not_in_the_registry_is_refused(client: TestClient) -> None:
    number = unregistered_number()

    answer = agree(client, number)

    body = assert_problem(answer, 403, "card_holder_not_registered")
    assert number not in answer.text
    assert "token" not in body
    assert client.cookies.get(SESSION_COOKIE) is None


def test_an_inactive_card_is_refused(client: TestClient, ctx: AppContext) -> None:
    inactive = next(status for status in CardStatus if status is not CardStatus.ACTIVE)
    number, _ = registered(ctx, inactive)

    answer = agree(client, number)

    assert_problem(answer, 403, "access_denied")
    assert client.cookies.get(SESSION_COOKIE) is None


def test_refusing_consent_at_the_provider_is_a_401(client: TestClient) -> None:
    form = consent_form(client)

    answer = client.post(AUTHORIZE, data={**form, "id_number": "", "decision": "deny"})

    body = assert_problem(answer, 401, "essc_sign_in_failed")
    assert "access_denied" in body["detail"]


# --- State, codes and ID tokens that must not work ---------------------------------------------


def test_a_wrong_or_missing_state_is_refused(client: TestClient, ctx: AppContext) -> None:
    number, _ = registered(ctx)
    back = agree(client, number, follow_redirects=False)
    assert back.status_code == 303
    location = urlsplit(back.headers["location"])
    assert location.path == CALLBACK
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert set(query) == {"code", "state"}

    wrong = client.get(CALLBACK, params={**query, "state": "not-the-state"})
    missing = client.get(CALLBACK, params={"code": query["code"]})
    nothing = client.get(CALLBACK)

    for answer in (wrong, missing, nothing):
        assert_problem(answer, 401, "essc_sign_in_failed")


def test_a_code_cannot_be_replayed(client: TestClient, ctx: AppContext) -> None:
    number, _ = registered(ctx)
    back = agree(client, number, follow_redirects=False)
    callback = back.headers["location"]
    assert client.get(callback).status_code == 200

    again = client.get(callback)
    # A new sign-in's state with the old code: the state passes, the code does not.
    started = client.get(SIGN_IN, follow_redirects=False)
    new_state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    old_code = parse_qs(urlsplit(callback).query)["code"][0]
    smuggled = client.get(CALLBACK, params={"code": old_code, "state": new_state})

    assert_problem(again, 401, "essc_sign_in_failed")
    body = assert_problem(smuggled, 401, "essc_sign_in_failed")
    assert "invalid_grant" in body["detail"]


def _code_without_pkce(client: TestClient, number: str) -> tuple[str, dict[str, str]]:
    form = consent_form(client)
    del form["code_challenge"], form["code_challenge_method"]
    back = client.post(
        AUTHORIZE, data={**form, "id_number": number, "decision": "allow"}, follow_redirects=False
    )
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    return code, form


def test_the_token_endpoint_spends_a_code_once_and_checks_the_client(
    client: TestClient, ctx: AppContext
) -> None:
    simulator = simulator_of(client)
    number, _ = registered(ctx)
    code, form = _code_without_pkce(client, number)
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": form["redirect_uri"],
    }
    basic = base64.b64encode(f"{simulator.client_id}:{simulator.client_secret}".encode()).decode()
    wrong_secret = base64.b64encode(f"{simulator.client_id}:guess".encode()).decode()

    refused = client.post(TOKEN, data=exchange, headers={"Authorization": f"Basic {wrong_secret}"})
    code, form = _code_without_pkce(client, number)
    exchange["code"] = code
    first = client.post(TOKEN, data=exchange, headers={"Authorization": f"Basic {basic}"})
    second = client.post(TOKEN, data=exchange, headers={"Authorization": f"Basic {basic}"})

    assert (refused.status_code, refused.json()) == (401, {"error": "invalid_client"})
    assert first.status_code == 200, first.text
    claims = jwt.decode(first.json()["id_token"], simulator.key).claims
    assert claims["essc_id_number"] == number
    assert claims["aud"] == simulator.client_id
    assert claims["sub"] != ctx.digest(number)  # a pseudonym, not the registry's key
    assert (second.status_code, second.json()) == (400, {"error": "invalid_grant"})


def test_a_code_needs_its_pkce_verifier(client: TestClient, ctx: AppContext) -> None:
    simulator = simulator_of(client)
    number, _ = registered(ctx)
    back = agree(client, number, follow_redirects=False)
    location = urlsplit(back.headers["location"])
    code = parse_qs(location.query)["code"][0]

    answer = client.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"http://testserver{CALLBACK}",
            "client_id": simulator.client_id,
            "client_secret": simulator.client_secret,
            "code_verifier": "a" * 43,
        },
    )

    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_grant"})


Forgery = Callable[[str, Simulator], str]


def _payload_of(id_token: str) -> dict[str, Any]:
    part = id_token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _someone_else(victim: str) -> Forgery:
    """The payload swapped for another registered person's, the provider's signature kept."""

    def forge(id_token: str, simulator: Simulator) -> str:
        header, _, signature = id_token.split(".")
        claims = {**_payload_of(id_token), "essc_id_number": victim}
        return f"{header}.{_b64(claims)}.{signature}"

    return forge


def _attackers_key(id_token: str, simulator: Simulator) -> str:
    """Signed by a key of the attacker's own under the provider's kid."""
    attacker = ECKey.generate_key("P-256", private=True)
    header = {"alg": "ES256", "kid": simulator.key.kid}
    return jwt.encode(header, _payload_of(id_token), attacker, algorithms=["ES256"])


def _resigned(**changes: Any) -> Forgery:
    """Signed with the provider's real key, but with claims that must not be accepted."""

    def forge(id_token: str, simulator: Simulator) -> str:
        header = {"alg": "ES256", "kid": simulator.key.kid}
        claims = {**_payload_of(id_token), **changes}
        return jwt.encode(header, claims, simulator.key, algorithms=["ES256"])

    return forge


def _unsigned(id_token: str, simulator: Simulator) -> str:
    return f"{_b64({'alg': 'none'})}.{_b64(_payload_of(id_token))}."


FORGERIES: dict[str, Forgery] = {
    "attackers_key": _attackers_key,
    "alg_none": _unsigned,
    "other_audience": _resigned(aud="another-client"),
    "other_issuer": _resigned(iss="https://evil.example"),
    "wrong_nonce": _resigned(nonce="not-the-nonce"),
    "expired": _resigned(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
}


class ForgingTransport(httpx2.AsyncBaseTransport):
    """Stands between the relying party and the provider, rewriting the token answer."""

    def __init__(
        self, inner: httpx2.AsyncBaseTransport, forge: Forgery, simulator: Simulator
    ) -> None:
        self.inner, self.forge, self.simulator = inner, forge, simulator
        self.original: str | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        answer = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/token"):
            return answer
        body = json.loads(await answer.aread())
        self.original = body["id_token"]
        body["id_token"] = self.forge(body["id_token"], self.simulator)
        return httpx2.Response(200, json=body)


def _forge_with(client: TestClient, forgery: Forgery) -> ForgingTransport:
    client_kwargs = client.app.state.essc.client.client_kwargs  # type: ignore[attr-defined]
    forging = ForgingTransport(client_kwargs["transport"], forgery, simulator_of(client))
    client_kwargs["transport"] = forging
    return forging


def _refused_as_unverified(answer: httpx2.Response, client: TestClient) -> None:
    body = assert_problem(answer, 401, "essc_sign_in_failed")
    assert "does not verify" in body["detail"]
    assert client.cookies.get(SESSION_COOKIE) is None


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_id_token_is_refused(
    client: TestClient, ctx: AppContext, forgery: Forgery
) -> None:
    number, _ = registered(ctx)
    forging = _forge_with(client, forgery)

    answer = agree(client, number)

    assert forging.original is not None  # the exchange did happen
    _refused_as_unverified(answer, client)


def test_a_tampered_id_token_cannot_sign_in_someone_else(
    client: TestClient, ctx: AppContext
) -> None:
    attacker, _ = registered(ctx)
    victim, _ = registered(ctx)
    _forge_with(client, _someone_else(victim))

    answer = agree(client, attacker)

    _refused_as_unverified(answer, client)


# --- The simulator's pages ---------------------------------------------------------------------


def _authorize_params(client: TestClient, **changes: str) -> dict[str, str]:
    started = client.get(SIGN_IN, follow_redirects=False)
    assert started.status_code == 302
    params = {k: v[0] for k, v in parse_qs(urlsplit(started.headers["location"]).query).items()}
    return {**params, **changes}


def test_the_simulator_page_wears_its_banner_and_loads_nothing(client: TestClient) -> None:
    page = client.get(AUTHORIZE, params=_authorize_params(client))

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert BANNER in page.text
    assert 'class="banner"' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert not re.search(r"<(script|link|img|iframe)|\b(src|href)=", page.text)


@pytest.mark.parametrize(
    "changes",
    [{"client_id": "someone-else"}, {"redirect_uri": "https://evil.example/steal"}],
    ids=["unknown_client", "unregistered_redirect"],
)
def test_the_simulator_never_redirects_to_strangers(
    client: TestClient, changes: dict[str, str]
) -> None:
    page = client.get(
        AUTHORIZE, params=_authorize_params(client, **changes), follow_redirects=False
    )
    posted = client.post(
        AUTHORIZE,
        data={
            **_authorize_params(client, **changes),
            "id_number": unregistered_number(),
            "decision": "allow",
        },
        follow_redirects=False,
    )

    for answer in (page, posted):
        assert answer.status_code == 400
        assert "location" not in answer.headers
        assert BANNER in answer.text


def test_a_malformed_id_number_is_asked_again_without_echoing_it(client: TestClient) -> None:
    form = consent_form(client)
    number = unregistered_number()
    typo = number[:17] + ("0" if number[17] != "0" else "1")  # a wrong check character

    answer = client.post(AUTHORIZE, data={**form, "id_number": typo, "decision": "allow"})

    assert answer.status_code == 422
    assert answer.url.path == AUTHORIZE
    assert BANNER in answer.text
    assert typo not in answer.text
    assert typo[6:14] not in answer.text  # not even the birth-date digits


def test_the_discovery_document_and_keys(client: TestClient) -> None:
    discovery = client.get("/essc-simulator/.well-known/openid-configuration").json()
    keys = client.get(discovery["jwks_uri"]).json()

    assert discovery["issuer"] == "https://essc-simulator.invalid/essc-simulator"
    assert discovery["authorization_endpoint"] == f"http://testserver{AUTHORIZE}"
    assert "essc_id_number" in discovery["claims_supported"]
    assert [(k["kty"], k["alg"], "d" in k) for k in keys["keys"]] == [("EC", "ES256", False)]
    schema = client.get("/openapi.json").json()
    assert SIGN_IN in schema["paths"]
    assert CALLBACK in schema["paths"]
    assert not any(path.startswith("/essc-simulator") for path in schema["paths"])


def test_the_flow_secret_and_the_simulator_key_are_private_and_kept(
    client: TestClient, ctx: AppContext
) -> None:
    keys = ctx.settings.resolved_key_dir
    files = [keys / "session-secret.key", keys / "essc-simulator.key.pem"]
    before = [path.read_bytes() for path in files]

    create_app(ctx)  # a restart

    assert [path.stat().st_mode & 0o777 for path in files] == [0o600, 0o600]
    assert [path.read_bytes() for path in files] == before


# --- Production ------------------------------------------------------------------------------


def _in_production(ctx: AppContext, **settings: Any) -> AppContext:
    update = {"environment": "production", **settings}
    return replace(ctx, settings=ctx.settings.model_copy(update=update))


def test_production_refuses_the_simulator(ctx: AppContext) -> None:
    with pytest.raises(SimulatorRefused, match="SKILLVOUCHER_ESSC_ISSUER"):
        create_app(_in_production(ctx))
    with pytest.raises(EsscNotConfigured, match="SKILLVOUCHER_ESSC_CLIENT_ID"):
        create_app(_in_production(ctx, essc_issuer="https://essc.example"))


def test_production_with_a_real_issuer_has_no_simulator(ctx: AppContext, tmp_path: Path) -> None:
    # A closed port on loopback: the provider is unreachable without touching any network.
    from pydantic import SecretStr

    production = _in_production(
        ctx,
        essc_issuer="http://127.0.0.1:9",
        essc_client_id="skillvoucher",
        essc_client_secret=SecretStr("s3cret"),
    )
    with TestClient(create_app(production)) as client:
        assert client.get(AUTHORIZE).status_code == 404
        unreachable = client.get(SIGN_IN, follow_redirects=False)

    assert_problem(unreachable, 502, "essc_unavailable")


def test_serve_in_production_without_an_issuer_is_one_line(tmp_path: Path) -> None:
    env = {
        "SKILLVOUCHER_DATA_DIR": str(tmp_path),
        "SKILLVOUCHER_DATABASE_URL": None,
        "SKILLVOUCHER_KEY_DIR": None,
        "SKILLVOUCHER_ESSC_ISSUER": None,
    }
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"], env=env).exit_code == 0

    result = runner.invoke(
        cli_app, ["serve", "--port", "1"], env={**env, "SKILLVOUCHER_ENVIRONMENT": "production"}
    )

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: production refuses the built-in e-SSC simulator")
    assert lines[0].endswith("[simulator_refused]")


# --- Under a real server ---------------------------------------------------------------------

CLI = [sys.executable, "-c", "from skillvoucher.cli.main import main; main()"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_worker_signs_in_under_skillvoucher_serve(tmp_path: Path) -> None:
    """The in-process transport also works under uvicorn, on a port chosen at start."""
    env = {**os.environ, "SKILLVOUCHER_DATA_DIR": str(tmp_path)}
    for name in ("DATABASE_URL", "KEY_DIR", "ESSC_ISSUER", "ENVIRONMENT"):
        env.pop(f"SKILLVOUCHER_{name}", None)
    subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
    # The same database file and key directory the server will use.
    ctx = make_context(f"sqlite:///{tmp_path / 'skillvoucher.db'}", tmp_path, Clock())
    try:
        number, person_id = registered(ctx)
    finally:
        ctx.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*CLI, "serve", "--no-demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx2.Client(base_url=base, follow_redirects=True, timeout=10) as browser:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if browser.get("/healthz").status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not come up in 30 s"
                time.sleep(0.2)
            page = browser.get(SIGN_IN)
            assert (page.status_code, page.url.path) == (200, AUTHORIZE)
            form = {name: unescape(value) for name, value in _HIDDEN.findall(page.text)}
            assert form["redirect_uri"] == f"{base}{CALLBACK}"
            answer = browser.post(
                AUTHORIZE, data={**form, "id_number": number, "decision": "allow"}
            )
            assert answer.status_code == 200, answer.text
            assert answer.url.path == CALLBACK
            token = answer.json()["token"]
            me = browser.get("/api/v1/auth/me", headers=bearer(token)).json()
    finally:
        server.terminate()
        log = server.communicate(timeout=10)[0].decode()
    assert me["label"] == f"worker:{person_id}"
    assert f"{CALLBACK}?code=" in log  # the access log shows the callback, and no ID number
    assert number not in log
