"""A local mail sink for `make run`: SMTP in, one .eml file per message, a small web page out.

`python -m notify.mailsink [--smtp-port 1025] [--http-port 8025] [--dir .run/mail]` accepts
every message on 127.0.0.1 (no auth, no relay) and shows them at http://127.0.0.1:8025
(newest first; `/message/<name>` shows one, `/raw/<name>` the source, `/api/messages` JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import re
import signal
import time
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

_NAME = re.compile(r"^[0-9]+-[0-9]+\.eml$")


class SinkHandler:
    """Store every accepted message as a file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._seq = 0

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        """Write the message to disk and accept it."""
        self._seq += 1
        name = f"{time.time_ns()}-{self._seq}.eml"
        tmp = self.directory / (name + ".tmp")
        data = envelope.original_content or b""
        tmp.write_bytes(data if isinstance(data, bytes) else data.encode())
        tmp.rename(self.directory / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def read_messages(directory: Path) -> list[dict[str, Any]]:
    """Return the stored messages, newest first, with their headers and text body."""
    out = []
    for path in sorted(directory.glob("*.eml"), reverse=True):
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        body = msg.get_body(preferencelist=("plain",))
        out.append({"name": path.name, "from": str(msg["From"] or ""), "to": str(msg["To"] or ""),
                    "subject": str(msg["Subject"] or ""), "date": str(msg["Date"] or ""),
                    "text": body.get_content() if body else "",
                    "html": _html_part(msg)})
    return out


_LINK_TOKEN = re.compile(r"/(verify-email|reset-password)\?token=([A-Za-z0-9_\-.~%]+)")


def link_token(messages: list[dict[str, Any]], to: str, kind: str) -> str | None:
    """Return the token of the newest mailed link of `kind` ("verify-email" or
    "reset-password") to the address `to`, from `read_messages`/`/api/messages` rows."""
    for m in messages:  # newest first
        if to.lower() not in m["to"].lower():
            continue
        for found_kind, token in _LINK_TOKEN.findall(m["text"]):
            if found_kind == kind:
                return token
    return None


def _html_part(msg: Any) -> str:
    part = msg.get_body(preferencelist=("html",))
    return part.get_content() if part else ""


def make_web_app(directory: Path) -> web.Application:
    """Return the aiohttp app that shows the stored messages."""
    async def index(_: web.Request) -> web.Response:
        rows = "".join(
            f"<tr><td>{html.escape(m['date'])}</td><td>{html.escape(m['to'])}</td>"
            f"<td><a href='/message/{m['name']}'>{html.escape(m['subject'])}</a></td></tr>"
            for m in read_messages(directory))
        page = ("<!doctype html><title>Mail sink</title><h1>Mail sink</h1>"
                f"<p>{html.escape(str(directory))}</p><table border=1 cellpadding=4>"
                f"<tr><th>Date</th><th>To</th><th>Subject</th></tr>{rows}</table>")
        return web.Response(text=page, content_type="text/html")

    def _one(request: web.Request) -> tuple[Path, dict[str, Any]]:
        name = request.match_info["name"]
        if not _NAME.match(name) or not (directory / name).is_file():
            raise web.HTTPNotFound()
        return directory / name, next(m for m in read_messages(directory) if m["name"] == name)

    async def message(request: web.Request) -> web.Response:
        _, m = _one(request)
        # the HTML part is shown in a sandboxed frame so a mail can run no script here
        frame = html.escape(m["html"], quote=True)
        page = (f"<!doctype html><title>{html.escape(m['subject'])}</title><p><a href='/'>all</a>"
                f" | <a href='/raw/{m['name']}'>source</a></p><h2>{html.escape(m['subject'])}</h2>"
                f"<p>From {html.escape(m['from'])} to {html.escape(m['to'])}</p>"
                f"<pre>{html.escape(m['text'])}</pre>"
                f"<iframe sandbox srcdoc=\"{frame}\" width=100% height=400></iframe>")
        return web.Response(text=page, content_type="text/html")

    async def raw(request: web.Request) -> web.Response:
        path, _ = _one(request)
        return web.Response(body=path.read_bytes(), content_type="text/plain")

    async def api(_: web.Request) -> web.Response:
        return web.json_response(read_messages(directory))

    app = web.Application()
    app.add_routes([web.get("/", index), web.get("/message/{name}", message),
                    web.get("/raw/{name}", raw), web.get("/api/messages", api)])
    return app


async def serve(directory: Path, host: str, smtp_port: int, http_port: int,
                stop: asyncio.Event) -> None:
    """Run the SMTP and HTTP servers until `stop` is set."""
    directory.mkdir(parents=True, exist_ok=True)
    handler = SinkHandler(directory)
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(handler, hostname="mailsink"), host, smtp_port)
    runner = web.AppRunner(make_web_app(directory))
    await runner.setup()
    await web.TCPSite(runner, host, http_port).start()
    print(f"mailsink: SMTP on {host}:{smtp_port}, messages at http://{host}:{http_port}"
          f" (stored in {directory})", flush=True)
    try:
        await stop.wait()
    finally:
        smtp.close()
        await smtp.wait_closed()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run the sink until SIGINT/SIGTERM."""
    p = argparse.ArgumentParser(prog="python -m notify.mailsink", description=__doc__)
    p.add_argument("--host", default=os.environ.get("MAILSINK_HOST", "127.0.0.1"))
    p.add_argument("--smtp-port", type=int, default=int(os.environ.get("MAILSINK_SMTP_PORT", "1025")))
    p.add_argument("--http-port", type=int, default=int(os.environ.get("MAILSINK_HTTP_PORT", "8025")))
    p.add_argument("--dir", type=Path, default=Path(os.environ.get("MAILSINK_DIR", ".run/mail")))
    args = p.parse_args(argv)

    async def run() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await serve(args.dir, args.host, args.smtp_port, args.http_port, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
