"""A stand-in service for launcher tests: `python -m svckit.testing.fakesvc PREFIX`.

It serves GET <PREFIX>OPS_PORT/readyz until SIGTERM, writes its PREFIX-ed environment to
the file named by <PREFIX>DUMP (when set), starts a grandchild (so tests can prove whole
process groups are stopped), and exits with code 3 when /die is requested.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/die":
            print("dying now", flush=True)
            os._exit(3)
        self.send_response(200 if self.path == "/readyz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(prefix: str) -> None:
    """Serve until SIGTERM."""
    if os.environ.get(prefix + "DUMP"):
        with open(os.environ[prefix + "DUMP"], "w") as f:
            json.dump({k: v for k, v in os.environ.items() if k.startswith(prefix)}, f)
    grandchild = subprocess.Popen(["sleep", "300"])
    print(f"grandchild {grandchild.pid}", flush=True)
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ[prefix + "OPS_PORT"])), _Handler)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    print("fake is serving", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
