"""`python -m auth` serves; `python -m auth migrate` migrates; `create-admin` makes an admin."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from svckit.logging import configure_logging
from svckit.runner import migrate_only, run_service

from .app import build_app, migrations
from .settings import AuthSettings


def _read_password(path: Path | None) -> str:
    if path is not None:
        return path.read_text().strip()
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            raise SystemExit("passwords differ")
        return first
    return sys.stdin.readline().strip()


async def _create_admin(settings: AuthSettings, email: str, name: str, password: str) -> None:
    from svckit.runner import Runtime

    from .admin import ensure_admin
    from .app import make_core

    async with Runtime(settings, database=True, redis=True, migrations=migrations(),
                       sim_clock=False) as rt:
        user, created = await ensure_admin(make_core(settings, rt), email, name, password)
    verb = "created" if created else "already existed; now an admin (password unchanged)"
    print(f"admin {user.email} ({user.id}) {verb}")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m auth", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="answer requests (the default)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    admin = sub.add_parser("create-admin", help="create (or promote) an administrator")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Administrator")
    admin.add_argument("--password-file", type=Path,
                       help="file holding the password (else prompted, or read from stdin)")
    args = parser.parse_args(argv)
    settings = AuthSettings()
    if args.command in (None, "serve"):
        run_service(settings, build_app)
    elif args.command == "migrate":
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        applied = asyncio.run(migrate_only(settings, migrations()))
        print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    else:
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        try:
            asyncio.run(_create_admin(settings, args.email, args.name,
                                      _read_password(args.password_file)))
        except ValueError as exc:
            raise SystemExit(str(exc)) from exc


if __name__ == "__main__":
    main()
