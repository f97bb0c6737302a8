"""`skillvoucher serve` starts a real server on the embedded database (loopback only)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-c", "from skillvoucher.cli.main import main; main()"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "SKILLVOUCHER_DATA_DIR": str(data_dir)}
    env.pop("SKILLVOUCHER_DATABASE_URL", None)
    return env


@contextmanager
def serving(env: dict[str, str], *options: str, wait_seconds: float) -> Iterator[str]:
    """A running `skillvoucher serve`, as its base URL, stopped afterwards."""
    port = free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), *options],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, "the server stopped"
                assert time.monotonic() < deadline, f"not up in {wait_seconds} s"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.load(answer)


def post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def test_serve_answers_health_and_openapi(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
    with serving(env, "--no-demo", wait_seconds=30) as base:
        health = get_json(f"{base}/healthz")
        schema = get_json(f"{base}/openapi.json")
    assert health == {"status": "ok", "database": "sqlite"}
    assert schema["info"]["title"] == "skillvoucher"


README = Path(__file__).parents[2] / "README.md"


def readme_walkthrough(base: str, walkthrough: Path) -> str:
    """The README's curl walkthrough, pointed at this server and this data folder."""
    text = README.read_text("utf-8")
    block = text.split("**A walkthrough with curl**", 1)[1].split("```bash\n", 1)[1]
    script = block.split("\n```", 1)[0]
    first, rest = script.split("\n", 1)
    assert first.startswith("API="), first
    return f"set -euo pipefail\nAPI={base}; W={walkthrough}\n{rest}"


def test_serve_on_an_empty_database_loads_the_demo_and_its_walkthrough(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with serving(env, wait_seconds=240) as base:
        walkthrough = json.loads((tmp_path / "demo" / "walkthrough.json").read_text("utf-8"))
        password = walkthrough["passwords"]["demo-taiyuan-admin"]
        session = post_json(
            f"{base}/api/v1/auth/sign-in",
            {"username": "demo-taiyuan-admin", "password": password},
        )
        me = get_json(f"{base}/api/v1/auth/me", {"Authorization": f"Bearer {session['token']}"})
        key = walkthrough["institution_api_key"]
        partner = get_json(f"{base}/api/v1/auth/me", {"Authorization": f"Bearer {key}"})
        # The README's walkthrough, as written, works against it (curl and jq as in the README).
        script = readme_walkthrough(base, tmp_path / "demo" / "walkthrough.json")
        walked = subprocess.run(
            ["bash", "-c", script],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert walked.returncode == 0, walked.stderr
        for step in ("worker.signed_in", "voucher.enrolled", "voucher.attended"):
            assert step in walked.stdout, walked.stdout
        assert "settlement.batch_approved" in walked.stdout
        # …and a newcomer can click through every portal with the accounts the sign-in page lists.
        opened = click_through_portals(base, walkthrough)
    assert set(opened) == {*PORTAL_PAGES, "worker"}
    assert (me["role"], me["region_prefix"]) == ("city_admin", "1401")
    assert (partner["kind"], partner["role"]) == ("partner", "institution_staff")
    assert oct((tmp_path / "demo" / "walkthrough.json").stat().st_mode & 0o777) == "0o600"


PORTAL_PAGES = {
    "demo-institution": [
        "/institution",
        "/institution/rosters",
        "/institution/attendance",
        "/institution/completions",
        "/institution/settlement",
    ],
    "demo-enterprise": ["/enterprise", "/enterprise/request", "/enterprise/training"],
    "demo-taiyuan-admin": [
        "/admin",
        "/admin/schemes",
        "/admin/schemes/new",
        "/admin/institutions",
        "/admin/issuance",
        "/admin/funds",
        "/admin/settlement",
        "/admin/risk",
        "/admin/audit",
        "/dashboard",
    ],
    "demo-shanxi-admin": ["/admin", "/admin/settlement", "/dashboard"],
    "demo-auditor": ["/admin", "/admin/audit", "/dashboard"],
    "demo-statistician": ["/dashboard"],
}
WORKER_PAGES = ["/worker", "/worker/courses", "/worker/training", "/worker/notices"]


def _browser(jar: CookieJar | None = None) -> urllib.request.OpenerDirector:
    """A cookie-keeping client that asks for HTML, as a browser does."""
    cookies = urllib.request.HTTPCookieProcessor(jar if jar is not None else CookieJar())
    opener = urllib.request.build_opener(cookies)
    opener.addheaders = [("Accept", "text/html"), ("Accept-Language", "zh-CN")]
    return opener


def _page(
    opener: urllib.request.OpenerDirector, url: str, form: dict[str, str] | None = None
) -> str:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    with opener.open(url, data=data, timeout=20) as answer:
        assert answer.status == 200, url
        page: str = answer.read().decode("utf-8")
    return page


def click_through_portals(base: str, walkthrough: dict[str, Any]) -> dict[str, int]:
    """Signs in as each demo account listed on the sign-in page and opens its portal's pages;
    returns how many pages each opened."""
    sign_in = _page(_browser(), f"{base}/sign-in")
    opened: dict[str, int] = {}
    for username, paths in PORTAL_PAGES.items():
        assert username in sign_in, f"{username} is not listed on the sign-in page"
        browser = _browser()
        home = _page(
            browser,
            f"{base}/sign-in",
            {"username": username, "password": walkthrough["passwords"][username]},
        )
        assert "<h1" in home
        for path in paths:
            assert "<h1" in _page(browser, base + path), path
        opened[username] = len(paths)
    # The worker: through the e-SSC simulator, with the ID number in a form body only.
    jar = CookieJar()
    worker = _browser(jar)
    starter = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    try:
        starter.open(f"{base}/api/v1/auth/essc/sign-in", timeout=10)
        raise AssertionError("the e-SSC sign-in did not redirect")
    except urllib.error.HTTPError as redirect:
        authorize = redirect.headers["Location"]
    form = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    form.update(decision="allow", id_number=walkthrough["worker_id_number"])
    my_vouchers = _page(worker, f"{base}/essc-simulator/authorize", form)
    assert walkthrough["worker_id_number"] not in my_vouchers
    for path in WORKER_PAGES:
        assert "<h1" in _page(worker, base + path), path
    opened["worker"] = len(WORKER_PAGES)
    return opened


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
