"""`skillvoucher audit verify`: exit 0 on an intact trail, 1 naming the first bad event."""

from __future__ import annotations

import sqlalchemy as sa
from cli_helpers import Workspace

from skillvoucher.persistence.tables import AuditEvent

pytest_plugins = ("cli_fixtures",)


def test_verify_passes_then_names_the_edited_event(scheme: Workspace) -> None:
    intact = scheme.run("audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert "audit trail intact" in intact.output

    engine = sa.create_engine(f"sqlite:///{scheme.directory / 'skillvoucher.db'}")
    with engine.begin() as connection:
        victim = connection.execute(
            sa.select(AuditEvent.id).where(AuditEvent.seq == 2)
        ).scalar_one()
        connection.execute(
            sa.update(AuditEvent).where(AuditEvent.id == victim).values(action="nothing.happened")
        )
    engine.dispose()

    broken = scheme.run("audit", "verify")
    assert broken.exit_code == 1
    assert str(victim) in broken.output
    assert "BROKEN" in broken.output
