"""Settings and the application context for one command, opened and closed around it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError

from skillvoucher.application.context import AppContext
from skillvoucher.config import Settings
from skillvoucher.credentials.keys import KeyStore
from skillvoucher.domain.errors import InvalidInput
from skillvoucher.persistence import migrate


class SettingsInvalid(InvalidInput):
    code = "invalid_settings"


def load_settings() -> Settings:
    """Settings from the ``SKILLVOUCHER_*`` environment, or one clear line saying what is wrong."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"SKILLVOUCHER_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        raise SettingsInvalid(f"the settings are invalid: {problems}") from None


@contextmanager
def open_app(*, check_schema: bool = True) -> Iterator[AppContext]:
    """The application context, refusing a database whose schema is behind (unless told not to).

    Only ``db upgrade`` and ``db status`` pass ``check_schema=False``.
    """
    settings = load_settings()
    try:
        ctx = AppContext.from_settings(settings)
    except ArgumentError as error:
        # Not the URL itself: it may carry a password.
        raise SettingsInvalid(f"SKILLVOUCHER_DATABASE_URL is not usable: {error}") from None
    try:
        if check_schema:
            migrate.require_current(ctx.engine)
        yield ctx
    finally:
        ctx.close()


def open_key_store() -> KeyStore:
    """The signing-key store alone, for commands that need no database (keys, offline verify)."""
    return KeyStore(load_settings().resolved_key_dir)
