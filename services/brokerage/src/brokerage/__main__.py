"""`python -m brokerage [serve|migrate|rotate-keys]`."""

from __future__ import annotations

import asyncio
import sys

from svckit.runner import migrate_only, run_service

from .app import build_app, migrations
from .rotation import rotate_keys
from .settings import BrokerageSettings


def main(argv: list[str] | None = None) -> None:
    """Run the service, apply migrations, or rotate the credential keys."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "serve"
    settings = BrokerageSettings()
    if command == "serve":
        run_service(settings, build_app)
    elif command == "migrate":
        print("\n".join(asyncio.run(migrate_only(settings, migrations())) or ["up to date"]))
    elif command == "rotate-keys":
        print(f"re-wrapped {asyncio.run(rotate_keys(settings))} credential(s)")
    else:
        raise SystemExit(f"unknown command {command!r}; use serve, migrate or rotate-keys")


if __name__ == "__main__":
    main()
