"""NATS connection with reconnect and drain, and the request client every caller uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import nats
import orjson
from contracts import headers as h
from contracts.errors import ApiError, ErrorCode
from contracts.natsperms import service_inbox
from contracts.subjects import InvalidSubjectToken
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import BaseModel, ValidationError

from . import tracing
from .errors import RemoteError, Unavailable
from .logging import get_logger
from .settings import ServiceSettings

log = get_logger(__name__)
M = TypeVar("M", bound=BaseModel)


async def connect(settings: ServiceSettings, name: str | None = None) -> Client:
    """Connect to NATS, reconnecting forever; the caller drains on shutdown."""

    async def on_error(err: Exception) -> None:
        log.warning("nats.error", error=str(err))

    async def on_disconnect() -> None:
        log.warning("nats.disconnected")

    async def on_reconnect() -> None:
        log.info("nats.reconnected")

    opts: dict[str, Any] = {
        "servers": [u.strip() for u in settings.nats_url.split(",")],
        "name": name or f"{settings.service_name}:{settings.instance_id}",
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "connect_timeout": 3,
        "error_cb": on_error,
        "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect,
        # replies and pull deliveries under this service's own prefix, the only inbox its
        # NATS user may read (contracts.natsperms.service_inbox)
        "inbox_prefix": _inbox(settings.service_name),
    }
    if settings.nats_creds_file:
        opts["user_credentials"] = str(settings.nats_creds_file)
    elif settings.nats_user:
        opts["user"] = settings.nats_user
        opts["password"] = settings.nats_password.get_secret_value() if settings.nats_password else ""
    return await nats.connect(**opts)


def _inbox(service: str) -> str:
    try:
        return service_inbox(service)
    except InvalidSubjectToken:  # a name no NATS user could have: the default inbox
        return "_INBOX"


def encode_body(payload: BaseModel | Mapping[str, Any] | bytes | None) -> bytes:
    """Serialise a request or reply body (pydantic models by alias, i.e. camelCase)."""
    if payload is None:
        return b"{}"
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, BaseModel):
        return payload.model_dump_json(by_alias=True).encode()
    return orjson.dumps(payload)


def error_from_reply(msg_headers: Mapping[str, str] | None, data: bytes) -> ApiError | None:
    """Return the error carried by a reply, or None when the reply is a success."""
    if not msg_headers or h.SERVICE_ERROR_CODE not in msg_headers:
        return None
    try:
        return ApiError.model_validate_json(data)
    except ValidationError:
        code = msg_headers.get(h.SERVICE_ERROR_CODE, "500")
        err = ErrorCode.INTERNAL_ERROR if code.startswith("5") else ErrorCode.VALIDATION_ERROR
        return ApiError.of(err, msg_headers.get(h.SERVICE_ERROR) or None)


async def request(
    nc: Client,
    subject: str,
    payload: BaseModel | Mapping[str, Any] | bytes | None = None,
    *,
    reply_model: type[M] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> Any:
    """Send a request and return the decoded reply; raise RemoteError or Unavailable."""
    hdrs = tracing.inject(dict(headers or {}))
    try:
        msg = await nc.request(subject, encode_body(payload), timeout=timeout, headers=hdrs)
    except NoRespondersError as exc:
        raise Unavailable(f"No instance of the service behind {subject} is running") from exc
    except NatsTimeout as exc:
        raise Unavailable(f"The service behind {subject} did not answer in {timeout:g}s") from exc
    err = error_from_reply(msg.headers, msg.data)
    if err is not None:
        raise RemoteError(err)
    if reply_model is not None:
        return reply_model.model_validate_json(msg.data)
    return orjson.loads(msg.data) if msg.data else None
