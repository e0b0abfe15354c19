"""Subject builders: the only place a NATS subject is spelled (ARCHITECTURE.md §3).

Every variable part of a subject is a *token*; a token that would change the subject's
shape (a dot adds a level, `*`/`>` are wildcards, whitespace ends the subject) is refused
here, so no caller can build a subject that matches more or other than it means.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+$")


class InvalidSubjectToken(ValueError):
    """A value cannot be used as one token of a NATS subject."""


def token(value: object) -> str:
    """Return `value` as a subject token, refusing anything that breaks subject syntax."""
    text = str(value)
    if not _TOKEN.fullmatch(text):
        raise InvalidSubjectToken(
            f"{text!r} is not a valid subject token: use letters, digits, '_' or '-' "
            "(no dots, wildcards, spaces or empty values)"
        )
    return text


# --- command / query: svc.<service>.<resource>.<action> -----------------------------


def svc(service: str, resource: str, action: str) -> str:
    """Build a request/reply subject `svc.<service>.<resource>.<action>`."""
    return f"svc.{token(service)}.{token(resource)}.{token(action)}"


def svc_all(service: str) -> str:
    """Return the wildcard covering every request subject of one service."""
    return f"svc.{token(service)}.>"


# --- market data -------------------------------------------------------------------


def tick(segment: str, security_id: str | int) -> str:
    """Build the tick subject of one instrument."""
    return f"md.tick.{token(segment)}.{token(security_id)}"


def ticks_all() -> str:
    """Return the wildcard covering every tick."""
    return "md.tick.>"


def bar(interval: str, segment: str, security_id: str | int) -> str:
    """Build the closed-bar subject of one instrument and interval."""
    return f"md.bar.{token(interval)}.{token(segment)}.{token(security_id)}"


def bars_all() -> str:
    """Return the wildcard covering every bar."""
    return "md.bar.>"


def bar_correction(interval: str, segment: str, security_id: str | int) -> str:
    """Build the subject of an explicit correction to an already published bar."""
    return f"md.barfix.{token(interval)}.{token(segment)}.{token(security_id)}"


def feed_status(event: str) -> str:
    """Build a feed-health subject such as `md.feed.stale`."""
    return f"md.feed.{token(event)}"


# --- orders --------------------------------------------------------------------------


def order_intent(account_id: str) -> str:
    """Build the order-intent subject of one linked account."""
    return f"ord.intent.{token(account_id)}"


def order_intents_all() -> str:
    """Return the wildcard covering every order intent."""
    return "ord.intent.>"


# --- user events -------------------------------------------------------------------


def user_event(user_id: str, domain: str, event: str) -> str:
    """Build `evt.<userId>.<domain>.<event>`."""
    return f"evt.{token(user_id)}.{token(domain)}.{token(event)}"


def user_events(user_id: str) -> str:
    """Return the wildcard covering every event of one user."""
    return f"evt.{token(user_id)}.>"


def user_events_all() -> str:
    """Return the wildcard covering every user's events."""
    return "evt.>"


def user_events_of_domain(domain: str) -> str:
    """Return the wildcard covering one domain's events of every user."""
    return f"evt.*.{token(domain)}.>"


# --- private mail requests -----------------------------------------------------------


def mail_request(user_id: str, domain: str, event: str) -> str:
    """Build `mail.<userId>.<domain>.<event>`: a message to mail the user that carries a
    secret (a verification or reset link). Never on `evt.`, which browsers and third
    parties read; only notify consumes these."""
    return f"mail.{token(user_id)}.{token(domain)}.{token(event)}"


def mail_requests_all() -> str:
    """Return the wildcard covering every mail request."""
    return "mail.>"


# --- jobs and audit ----------------------------------------------------------------


def job(kind: str) -> str:
    """Build a work-queue job subject such as `job.backtest`."""
    return f"job.{token(kind)}"


def audit(service: str, action: str) -> str:
    """Build an audit subject `audit.<service>.<action>`."""
    return f"audit.{token(service)}.{token(action)}"


def audit_all() -> str:
    """Return the wildcard covering every audit event."""
    return "audit.>"
