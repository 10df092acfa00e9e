"""Fixtures shared by the end-to-end modules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.e2e.server import ACCESS_TOKEN
from tests.fakes.graph_api import FakeGraphAPI


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake() -> AsyncIterator[FakeGraphAPI]:
    """One fake Graph API per module (for modules running on the module's event loop;
    modules that need a fresh fake per test define their own ``fake``)."""
    async with FakeGraphAPI(access_token=ACCESS_TOKEN) as api:
        yield api
