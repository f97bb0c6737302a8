"""The ``Idempotency-Key`` layer: every mutating request may carry one, and a retry with the
same key gets the first answer back (header ``Idempotent-Replayed: true``) without the work
being done twice.

A pure ASGI middleware, so that it sees the exact bytes of the request and of the answer.
Keys belong to the caller (a worker, a staff member, an API key): two callers never see each
other's answers. Requests without a credential (sign-in, public verification) are passed through
unkept: there is nobody to keep an answer for.
"""

from __future__ import annotations

import hashlib

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skillvoucher.api.auth import SAFE_METHODS, SESSION_COOKIE
from skillvoucher.api.problems import problem, status_of
from skillvoucher.application.api_keys import API_KEY_PREFIX, resolve_api_key
from skillvoucher.application.context import AppContext
from skillvoucher.application.idempotency import (
    Proceed,
    StoredAnswer,
    begin,
    check_key,
    finish,
)
from skillvoucher.application.sign_in import resolve_session
from skillvoucher.domain.access import NotAuthenticated
from skillvoucher.domain.errors import DomainError

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"


def _caller_label(ctx: AppContext, headers: Headers, cookies: dict[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    try:
        if scheme.lower() == "bearer" and token:
            if token.startswith(API_KEY_PREFIX):
                return resolve_api_key(ctx, token).label
            return resolve_session(ctx, token).principal.label
        if SESSION_COOKIE in cookies:
            return resolve_session(ctx, cookies[SESSION_COOKIE]).principal.label
    except NotAuthenticated:
        return None  # the route itself answers 401
    return None


def _request_digest(scope: Scope, headers: Headers, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (
        scope["method"].encode(),
        scope["path"].encode(),
        scope.get("query_string", b""),
        headers.get("content-type", "").encode(),
        body,
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        ctx: AppContext = scope["app"].state.context
        try:
            check_key(key)
            caller = await run_in_threadpool(_caller_label, ctx, headers, dict(request.cookies))
        except DomainError as error:
            await problem(request, status_of(error), error.code, error.message)(
                scope, receive, send
            )
            return
        if caller is None:
            await self.app(scope, receive, send)
            return

        try:
            body = await _read_body(receive)
            outcome = await run_in_threadpool(
                begin, ctx, caller, key, _request_digest(scope, headers, body)
            )
        except DomainError as error:
            await problem(request, status_of(error), error.code, error.message)(
                scope, receive, send
            )
            return
        if isinstance(outcome, StoredAnswer):
            await _replay(outcome, send)
            return
        await self._run_and_keep(ctx, outcome, scope, body, send)

    async def _run_and_keep(
        self, ctx: AppContext, proceed: Proceed, scope: Scope, body: bytes, send: Send
    ) -> None:
        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        start: Message | None = None
        chunks: list[bytes] = []

        async def keeping_send(message: Message) -> None:
            nonlocal start
            # Held back until the answer is kept: a client that retries the moment it has the
            # answer must find it stored, not still "in flight".
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            content_type = Headers(raw=start.get("headers", [])).get("content-type")
            answer = StoredAnswer(start["status"], b"".join(chunks), content_type)
            await run_in_threadpool(finish, ctx, proceed, answer)
            await send(start)
            await send({"type": "http.response.body", "body": answer.body, "more_body": False})

        try:
            await self.app(scope, replay_receive, keeping_send)
        except BaseException:
            # Forgotten on an exception (answered 500 further out), so that a retry does the work.
            await run_in_threadpool(finish, ctx, proceed, StoredAnswer(500, b"", None))
            raise


async def _replay(answer: StoredAnswer, send: Send) -> None:
    headers = [(REPLAYED_HEADER.lower().encode(), b"true")]
    if answer.content_type:
        headers.append((b"content-type", answer.content_type.encode()))
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})
