"""The one place where failures become a single line on stderr and an exit code.

Every command runs inside ``ReportingGroup.invoke``, so no command catches errors itself:

* a ``DomainError`` prints ``error: <message> [<code>]`` and exits 1;
* a ``CredentialError`` (a voucher code failed offline verification) prints
  ``invalid: <reason> [<code>]`` and exits 3;
* the database being unreachable or locked, and files that cannot be read or written, print
  one ``error:`` line and exit 1;
* usage errors stay Typer's own and exit 2.

Anything else is a bug and keeps its traceback, without local variables (they may hold
personal data).
"""

from __future__ import annotations

import errno
from typing import Any, NoReturn

import typer
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup

from skillvoucher.domain.errors import CredentialError, DomainError

EXIT_FAILED = 1
"""A domain error, an unusable database or file, or rows/lines that were rejected."""
EXIT_CREDENTIAL_INVALID = 3
"""2 is Typer's, for usage errors."""


def _fail(prefix: str, message: str, code: str, exit_code: int) -> NoReturn:
    # Plain echo, not Rich: one physical line whatever the width, and no markup parsing of
    # messages that contain brackets.
    one_line = " ".join(message.split())
    typer.echo(f"{prefix}: {one_line} [{code}]", err=True)
    raise typer.Exit(exit_code)


class ReportingGroup(TyperGroup):
    """The root command group: turns expected failures of any subcommand into one line."""

    # ``Any``: newer Typer versions vendor Click, so the Context class lives in a different
    # module depending on the version; the parent's annotation is the only one that fits both.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CredentialError as error:
            _fail("invalid", error.message, error.code, EXIT_CREDENTIAL_INVALID)
        except DomainError as error:
            _fail("error", error.message, error.code, EXIT_FAILED)
        except OperationalError as error:
            # Only the driver's own first line: the full text carries the SQL and its
            # parameters, which may be personal data.
            lines = str(error.orig).strip().splitlines() or [type(error.orig).__name__]
            _fail(
                "error",
                f"the database cannot be used: {lines[0]}",
                "database_unavailable",
                EXIT_FAILED,
            )
        except OSError as error:
            if error.errno == errno.EPIPE:
                raise  # the reader went away (`| head`): Typer exits quietly
            where = f"{error.filename}: " if error.filename else ""
            _fail("error", f"{where}{error.strerror or error}", "file_error", EXIT_FAILED)
