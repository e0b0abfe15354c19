"""`python -m gateway`: load settings, serve HTTP and WebSocket, drain on SIGTERM."""

from svckit.runner import run_service

from .app import build_app
from .settings import GatewaySettings


def main() -> None:
    """Run the gateway until SIGTERM/SIGINT."""
    run_service(GatewaySettings(), build_app)


if __name__ == "__main__":
    main()
