"""`python -m svckit.devrun run|status|stop`."""

import sys

from svckit.devrun.cli import main

if __name__ == "__main__":
    sys.exit(main())
