"""E-mail (SMTP, async) and SMS (generic HTTP provider) senders, with their templates."""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from string import Template
from typing import Any, Protocol

import aiosmtplib
import httpx
from jinja2 import Environment, StrictUndefined

from .settings import NotifySettings

_html = Environment(autoescape=True, undefined=StrictUndefined)
_text = Environment(autoescape=False, undefined=StrictUndefined)

TEXT_TEMPLATE = _text.from_string("""\
Hello{% if name %} {{ name }}{% endif %},

{{ title }}

{{ message }}
{% if count > 1 %}
(This happened {{ count }} times.)
{% endif %}{% if link %}
Open: {{ link }}
{% endif %}
-- 
AlgoTrade notifications. Change what you receive in Settings > Notifications.
""")

HTML_TEMPLATE = _html.from_string("""\
<!doctype html>
<html><body style="font-family: sans-serif; color: #1f2937">
<p>Hello{% if name %} {{ name }}{% endif %},</p>
<h2 style="margin: 0 0 8px">{{ title }}</h2>
<p>{{ message }}</p>
{% if count > 1 %}<p><em>This happened {{ count }} times.</em></p>{% endif %}
{% if link %}<p><a href="{{ link }}">Open in AlgoTrade</a></p>{% endif %}
<hr><p style="font-size: 12px; color: #6b7280">Change what you receive in Settings &gt;
Notifications.</p>
</body></html>
""")


def absolute_link(base_url: str, link: str | None) -> str | None:
    """Turn an SPA path into an absolute URL (absolute links pass through)."""
    if not link:
        return None
    if link.startswith(("http://", "https://")):
        return link
    return base_url.rstrip("/") + "/" + link.lstrip("/")


def render_email(s: NotifySettings, to: str, name: str, n: dict[str, Any],
                 delivery_id: str) -> EmailMessage:
    """Build the text + HTML mail of one notification."""
    ctx = {"name": name, "title": n["title"], "message": n["message"],
           "count": n.get("count", 1), "link": absolute_link(s.app_base_url, n.get("link"))}
    msg = EmailMessage()
    msg["From"] = s.mail_from
    msg["To"] = to
    count = n.get("count", 1)
    msg["Subject"] = n["title"] + (f" (x{count})" if count > 1 else "")
    msg["Date"] = formatdate(localtime=False)
    # the delivery id in the Message-ID lets a receiver drop a copy sent twice after a crash
    msg["Message-ID"] = make_msgid(idstring=delivery_id.replace("-", ""), domain="algotrade.local")
    msg["X-Algotrade-Type"] = n["type"]
    msg.set_content(TEXT_TEMPLATE.render(**ctx))
    msg.add_alternative(HTML_TEMPLATE.render(**ctx), subtype="html")
    return msg


class Mailer(Protocol):
    """Something that sends one e-mail message."""

    async def send(self, message: EmailMessage) -> None:
        """Send the message or raise."""
        ...


class SmtpMailer:
    """Send mail over SMTP with aiosmtplib (plain, STARTTLS or implicit TLS)."""

    def __init__(self, s: NotifySettings) -> None:
        self._s = s

    async def send(self, message: EmailMessage) -> None:
        """Open a connection, send, close (an outage fails this attempt only)."""
        s = self._s
        await aiosmtplib.send(
            message, hostname=s.smtp_host, port=s.smtp_port, timeout=s.smtp_timeout_s,
            use_tls=s.smtp_security == "tls", start_tls=s.smtp_security == "starttls",
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
        )


class SmsProvider(Protocol):
    """Something that sends one text message."""

    async def send(self, to: str, message: str) -> None:
        """Send the text or raise."""
        ...


class HttpSmsProvider:
    """A generic HTTP SMS gateway: POST a templated body with an auth header."""

    def __init__(self, s: NotifySettings) -> None:
        self._s = s
        self._http = httpx.AsyncClient(timeout=10.0)

    def body(self, to: str, message: str) -> str:
        """Render the request body, escaping values for a JSON template."""
        esc = (lambda v: json.dumps(v)[1:-1]) if "json" in self._s.sms_content_type else str
        return Template(self._s.sms_body_template).substitute(to=esc(to), message=esc(message))

    async def send(self, to: str, message: str) -> None:
        """POST the message; any non-2xx answer is a failure to retry."""
        if not self._s.sms_url:
            raise RuntimeError("SMS provider is not configured (NOTIFY_SMS_URL)")
        headers = {"Content-Type": self._s.sms_content_type}
        if self._s.sms_auth_header:
            headers["Authorization"] = self._s.sms_auth_header.get_secret_value()
        resp = await self._http.post(self._s.sms_url, content=self.body(to, message),
                                     headers=headers)
        resp.raise_for_status()

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()


def sms_text(n: dict[str, Any]) -> str:
    """Return the short text of a notification (SMS length)."""
    text = f"AlgoTrade: {n['title']}. {n['message']}"
    return text if len(text) <= 300 else text[:297] + "..."
