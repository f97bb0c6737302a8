"""Request bodies have a ceiling: 1 MiB of JSON (a thousand attendance events fit in a fifth of
it), 20 MiB for a registry file upload. Larger requests answer 413 before the app reads them, so
a huge payload costs neither memory nor a 500."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skillvoucher.api.problems import PageErrors, problem, status_of
from skillvoucher.domain.errors import PayloadTooLarge

MAX_JSON_BYTES = 1 << 20
MAX_UPLOAD_BYTES = 20 << 20


def limit_for(headers: Headers) -> int:
    content_type = headers.get("content-type", "")
    return MAX_UPLOAD_BYTES if content_type.startswith("multipart/form-data") else MAX_JSON_BYTES


def _too_large(scope: Scope, limit: int) -> Response:
    """The 413 answer: an HTML page on the portals' paths (a browser's form post), else
    problem+json."""
    error = PayloadTooLarge(f"the request body may not exceed {limit:,} bytes")
    request = Request(scope)
    pages: PageErrors | None = getattr(request.app.state, "page_errors", None)
    page = None if pages is None else pages(request, status_of(error), error.code, error.message)
    return page or problem(request, status_of(error), error.code, error.message)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = limit_for(headers)
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, limit)(scope, receive, send)
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        # Sent without a length (chunked): read it here, up to the limit, then hand it on.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > limit:
                await _too_large(scope, limit)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
