"""An HTTP client for the app over the test's context (either database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from skillvoucher.api.app import create_app
from skillvoucher.application.context import AppContext


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(ctx)) as test_client:
        yield test_client
