"""The local mail sink stores what it receives and shows it, escaped, over HTTP."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import aiohttp
import aiosmtplib
from notify.mailsink import serve

from .conftest import eventually, free_port


async def test_mailsink_stores_and_serves_messages(tmp_path):
    smtp_port, http_port = free_port(), free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(tmp_path, "127.0.0.1", smtp_port, http_port, stop))

    async def up() -> bool:
        try:
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{http_port}/"):
                return True
        except aiohttp.ClientError:
            return False

    await eventually(up, what="the sink")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@x", "b@y", "<script>alert(1)</script>"
    msg.set_content("hello sink")
    await aiosmtplib.send(msg, hostname="127.0.0.1", port=smtp_port)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{http_port}/api/messages") as resp:
            items = await resp.json()
        async with http.get(f"http://127.0.0.1:{http_port}/") as resp:
            page = await resp.text()
        async with http.get(f"http://127.0.0.1:{http_port}/message/{items[0]['name']}") as resp:
            one = await resp.text()
        async with http.get(f"http://127.0.0.1:{http_port}/message/..%2Fetc") as resp:
            assert resp.status == 404
    assert items[0]["to"] == "b@y" and items[0]["text"].strip() == "hello sink"
    assert "<script>" not in page and "&lt;script&gt;" in page and "hello sink" in one
    assert len(list(tmp_path.glob("*.eml"))) == 1
    stop.set()
    await task
