"""`python -m marketdata` serves until SIGTERM; `python -m marketdata migrate` only migrates."""

from __future__ import annotations

import argparse
import asyncio

from svckit import migrations as mig
from svckit.logging import configure_logging
from svckit.runner import migrate_only, run_service

from .app import build_app
from .settings import Settings


def main(argv: list[str] | None = None) -> None:
    """Run the chosen command (default: serve)."""
    parser = argparse.ArgumentParser(prog="python -m marketdata", description=__doc__)
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "migrate":
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        applied = asyncio.run(migrate_only(settings, mig.load("marketdata")))
        print(f"marketdata: {len(applied)} migration(s) applied")
        return
    run_service(settings, build_app)


if __name__ == "__main__":
    main()
