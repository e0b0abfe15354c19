"""Repository-wide pytest setup: real NATS/Postgres/Redis fixtures for every test tree."""

pytest_plugins = ["svckit.testing.plugin"]
