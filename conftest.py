"""Repository-wide pytest setup: real NATS/Postgres/Redis fixtures for every test tree."""

import pytest

pytest_plugins = ["svckit.testing.plugin"]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last.

    Playwright's sync API keeps an event loop running in the main thread for as long as its
    session-scoped browser lives; pytest-asyncio cannot start another there, so any async
    test collected after the browser tests would fail to set up.
    """
    items.sort(key=lambda item: "tests/browser/" in item.nodeid)
