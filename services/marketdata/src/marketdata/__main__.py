"""`python -m marketdata`: load settings and serve until SIGTERM."""

from svckit.runner import run_service

from .app import build_app
from .settings import Settings


def main() -> None:
    """Run the marketdata service."""
    run_service(Settings(), build_app)


if __name__ == "__main__":
    main()
