"""Test support: the pytest plugin lives in `svckit.testing.plugin`."""

from svckit.infra.pgadmin import create_service_role, dsn_with, run_sync

__all__ = ["create_service_role", "dsn_with", "run_sync"]
