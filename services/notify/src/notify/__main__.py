"""`python -m notify [serve|migrate]`."""

from __future__ import annotations

import asyncio
import sys

from svckit.runner import migrate_only, run_service

from .app import build_app, migrations
from .settings import NotifySettings


def main(argv: list[str] | None = None) -> None:
    """Run the service or apply its migrations."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "serve"
    settings = NotifySettings()
    if command == "serve":
        run_service(settings, build_app)
    elif command == "migrate":
        print("\n".join(asyncio.run(migrate_only(settings, migrations())) or ["up to date"]))
    else:
        raise SystemExit(f"unknown command {command!r}; use serve or migrate")


if __name__ == "__main__":
    main()
