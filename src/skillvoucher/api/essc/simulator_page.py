"""The e-SSC simulator's pages: self-contained HTML (no external assets), under a red banner
that no one can mistake for the real electronic social security card."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from fastapi.responses import HTMLResponse

BANNER = "e-SSC 模拟器 SIMULATOR — 仅供开发演示 not for production"

# Inline styles only, and nothing may be loaded from anywhere: the page works offline and a
# strict policy leaves no room for injected scripts.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

_STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f4f4f4}
.banner{background:#c00;color:#fff;font-weight:bold;padding:12px;text-align:center;font-size:18px}
main{max-width:420px;margin:32px auto;background:#fff;padding:24px;border-radius:8px}
label{display:block;margin-top:16px} input[type=text]{width:100%;padding:8px;font-size:16px}
.error{color:#c00} .actions{margin-top:24px;display:flex;gap:12px}
button{padding:8px 20px;font-size:16px}
"""


def _page(title: str, body: str, status: int) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f'<div class="banner" role="alert">{escape(BANNER)}</div>'
        f"<main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)


def sign_in_form(
    hidden: Mapping[str, str], *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    """The card holder's consent page; ``hidden`` carries the authorization request along."""
    fields = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        "<h1>电子社保卡登录 e-SSC sign-in</h1>"
        "<p>技能培训券系统请求确认您的身份。The training-voucher system asks who you are.</p>"
        f'{problem}<form method="post" action="authorize">{fields}'
        '<label>公民身份号码 Resident ID number<input type="text" name="id_number" '
        'required maxlength="30" autocomplete="off" inputmode="text"></label>'
        '<label>姓名 Name<input type="text" name="name" maxlength="50" autocomplete="off">'
        "</label>"
        '<div class="actions"><button type="submit" name="decision" value="allow">'
        "授权登录 Sign in</button>"
        '<button type="submit" name="decision" value="deny">拒绝 Deny</button></div>'
        "</form>"
    )
    return _page("e-SSC 模拟器", body, status)


def error_page(message: str, status: int = 400) -> HTMLResponse:
    """A request the simulator cannot send back anywhere (unknown client, unregistered
    redirect URI): answering it with a redirect would make the simulator an open redirector."""
    body = f'<h1>无法登录 Cannot sign in</h1><p class="error">{escape(message)}</p>'
    return _page("e-SSC 模拟器", body, status)
