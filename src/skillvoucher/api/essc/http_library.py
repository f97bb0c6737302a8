"""The HTTP library under Authlib's client: httpx2 when installed, else httpx (Authlib 1.9
prefers httpx2 and falls back to httpx). Transports handed to the client and the errors caught
from it must come from that same library."""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]
    AsyncOAuth2Client,
)


@cache
def authlib_http() -> ModuleType:
    base = next(c for c in AsyncOAuth2Client.__mro__ if c.__name__ == "AsyncClient")
    return importlib.import_module(base.__module__.partition(".")[0])


def provider_failures() -> tuple[type[Exception], ...]:
    """What a provider that cannot be reached, or that answers nonsense, makes Authlib raise:
    transport and HTTP status errors, unparsable JSON or keys, and metadata lacking endpoints."""
    http_error: type[Exception] = authlib_http().HTTPError
    return (http_error, ValueError, RuntimeError)
