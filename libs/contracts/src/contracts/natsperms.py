"""NATS users and permissions generated from the contracts (ARCHITECTURE.md §5).

Each service gets one user that may publish only to the subjects it owns (its streams, its
audit subjects, user events) and the request subjects of the services it calls, and may
subscribe only to its own request subjects, micro discovery, the subjects it consumes and
its reply inbox. JetStream API access is limited to the streams it declares or consumes.

A third party gets one identity per credential: it may create exactly one durable consumer
(named after the credential) on EVENTS filtered to `evt.<its userId>.>`, pull from it and
ack it, with replies on its own inbox prefix, and nothing else.

`render_config` turns both into a nats-server configuration; `python -m contracts.natsperms`
prints it. The event-credential API (`/api/user/event-credentials`) models live here too.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

from pydantic import Field

from . import streams, subjects
from .api import ApiModel
from .backtest import EXPORT_BUCKET
from .marketdata import HISTORY_BUCKET
from .types import UtcDateTime

# --- per-service permissions ---------------------------------------------------------

SERVICES = ("auth", "brokerage", "marketdata", "execution", "backtest", "notify", "gateway")
JS_API = "$JS.API"
EVENT_CREDENTIALS_CHANGED = "natsauth.changed"
"""Auth publishes here after a credential create/revoke so the sidecar re-renders at once."""


@dataclass(frozen=True)
class ServiceIO:
    """What one service does on NATS, from which its permissions follow."""

    name: str
    calls: tuple[str, ...] = ()  # services whose request subjects it calls
    publishes: tuple[str, ...] = ()  # subjects it publishes (core or JetStream)
    declares: tuple[str, ...] = ()  # streams it creates/updates
    consumes: tuple[str, ...] = ()  # streams it attaches consumers to
    listens: tuple[str, ...] = ()  # core subscriptions besides its own requests
    buckets: tuple[str, ...] = ()  # JetStream object stores it writes or reads


def _own_events() -> str:
    return subjects.user_events_all()


SERVICE_IO: dict[str, ServiceIO] = {
    io.name: io
    for io in (
        ServiceIO(
            "auth", publishes=(_own_events(), subjects.mail_requests_all(), "audit.auth.>",
                               EVENT_CREDENTIALS_CHANGED),
            declares=("EVENTS", "MAIL", "AUDIT"), consumes=("AUDIT",),
        ),
        ServiceIO(
            "brokerage", publishes=(_own_events(), "audit.brokerage.>"),
            declares=("ORDERS", "EVENTS"), consumes=("ORDERS",), listens=(subjects.ticks_all(),),
        ),
        ServiceIO(
            "marketdata",
            publishes=(*streams.MD_TICKS.subjects, *streams.MD_BARS.subjects,
                       *streams.MD_STATUS.subjects, "audit.marketdata.>"),
            declares=("MD_TICKS", "MD_BARS", "MD_STATUS"), buckets=(HISTORY_BUCKET,),
        ),
        ServiceIO(
            "execution", calls=("backtest", "brokerage", "marketdata"),
            publishes=(subjects.order_intents_all(), _own_events(), "audit.execution.>"),
            declares=("ORDERS", "EVENTS"), consumes=("EVENTS", "MD_BARS"),
            listens=(subjects.ticks_all(), "md.feed.>"),
        ),
        ServiceIO(
            "backtest", calls=("marketdata",),
            publishes=(*streams.JOBS.subjects, _own_events(), "audit.backtest.>"),
            declares=("JOBS", "EVENTS"), consumes=("JOBS", "EVENTS"),
            buckets=(EXPORT_BUCKET, HISTORY_BUCKET),
        ),
        ServiceIO(
            "notify", calls=("auth",), publishes=(_own_events(), "audit.notify.>"),
            declares=("EVENTS", "MAIL"), consumes=("EVENTS", "MAIL"),
        ),
        ServiceIO(
            "gateway", calls=tuple(s for s in SERVICES if s != "gateway"),
            publishes=("audit.gateway.>", "$SRV.>"), declares=("EVENTS", "AUDIT"),
            listens=(_own_events(), subjects.ticks_all()), buckets=(EXPORT_BUCKET,),
        ),
    )
}


@dataclass(frozen=True)
class Permissions:
    """One NATS user's publish and subscribe allow-lists."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool = False

    def as_config(self) -> dict[str, object]:
        """Return the `permissions` block of a nats-server user."""
        block: dict[str, object] = {
            "publish": {"allow": list(self.publish)},
            "subscribe": {"allow": list(self.subscribe)},
        }
        if self.allow_responses:
            block["allow_responses"] = True
        return block


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def service_permissions(io: ServiceIO, inbox: str = "_INBOX",
                        reply_to: tuple[str, ...] = ()) -> Permissions:
    """Derive the allow-lists of one service from what it does on NATS.

    `reply_to`: the inbox prefixes of the services that call this one. Its replies go
    there by an explicit grant, not only by `allow_responses`: nats-server forgets which
    replies it allows when it reloads its configuration (the auth sidecar reloads on every
    event-credential change), and a request in flight across a reload lost its reply
    (seen as a 503 from the gateway, "Publish Violation" on `_INBOX.gateway...`).
    """
    pub = [subjects.svc_all(c) for c in io.calls] + list(io.publishes)
    pub += [f"{prefix}.>" for prefix in reply_to]
    pub += [f"{JS_API}.INFO"]
    for name in io.declares:
        pub += [f"{JS_API}.STREAM.{op}.{name}" for op in ("CREATE", "UPDATE", "INFO")]
    for name in io.consumes:
        # CREATE/INFO/DELETE <stream>.<consumer>[.<filter>], MSG.NEXT and DURABLE.CREATE
        # reading a stream it consumes by sequence or last-by-subject (execution looks up
        # an instrument's last bar) grants nothing it could not read through a consumer
        pub += [f"{JS_API}.STREAM.INFO.{name}", f"{JS_API}.STREAM.MSG.GET.{name}",
                f"{JS_API}.DIRECT.GET.{name}", f"{JS_API}.DIRECT.GET.{name}.>",
                f"{JS_API}.CONSUMER.*.{name}",
                f"{JS_API}.CONSUMER.*.{name}.>", f"{JS_API}.CONSUMER.*.*.{name}.>",
                f"$JS.ACK.{name}.>", f"$JS.FC.{name}.>"]
    for bucket in io.buckets:
        # an object store is stream OBJ_<bucket> over $O.<bucket>.>, read by direct gets
        # and ordered consumers
        obj = f"OBJ_{bucket}"
        pub += [f"$O.{bucket}.>", f"{JS_API}.STREAM.*.{obj}", f"{JS_API}.STREAM.MSG.GET.{obj}",
                f"{JS_API}.DIRECT.GET.{obj}", f"{JS_API}.DIRECT.GET.{obj}.>",
                f"{JS_API}.CONSUMER.*.{obj}", f"{JS_API}.CONSUMER.*.{obj}.>",
                f"{JS_API}.CONSUMER.*.*.{obj}.>", f"$JS.FC.{obj}.>",
                f"{JS_API}.STREAM.NAMES"]  # get() looks its stream up by subject
    sub = [subjects.svc_all(io.name), "$SRV.*", f"$SRV.*.{io.name}", f"$SRV.*.{io.name}.>",
           f"{inbox}.>", *io.listens]
    return Permissions(_dedupe(pub), _dedupe(sub), allow_responses=True)


def service_inbox(service: str) -> str:
    """Return the inbox prefix a service connects with (`inbox_prefix=`): its replies and
    pull-consumer deliveries arrive under it, and only it may subscribe there, so no service
    reads another's replies (a login reply carries tokens)."""
    return f"_INBOX.{subjects.token(service)}"


def all_service_permissions() -> dict[str, Permissions]:
    """Return the permissions of every service, keyed by service (= NATS user) name."""
    return {name: service_permissions(
                io, inbox=service_inbox(name),
                reply_to=tuple(service_inbox(caller) for caller, other in SERVICE_IO.items()
                               if name in other.calls))
            for name, io in SERVICE_IO.items()}


# --- third-party event credentials ---------------------------------------------------

EVENT_CREDENTIAL_PREFIX = "ec_"


def new_credential_id() -> str:
    """Return a fresh credential id, usable as a NATS user, consumer name and token."""
    return EVENT_CREDENTIAL_PREFIX + secrets.token_hex(8)


def third_party_inbox(credential_id: str) -> str:
    """Return the inbox prefix a third party must connect with (`inbox_prefix=`)."""
    return f"_INBOX.{subjects.token(credential_id)}"


def third_party_permissions(user_id: str, credential_id: str) -> Permissions:
    """Allow one durable consumer on the user's own events and nothing else."""
    cid = subjects.token(credential_id)
    own = subjects.user_events(user_id)
    events = streams.EVENTS.name
    pub = (
        f"{JS_API}.CONSUMER.CREATE.{events}.{cid}.{own}",
        f"{JS_API}.CONSUMER.INFO.{events}.{cid}",
        f"{JS_API}.CONSUMER.DELETE.{events}.{cid}",
        f"{JS_API}.CONSUMER.MSG.NEXT.{events}.{cid}",
        f"$JS.ACK.{events}.{cid}.>",
    )
    return Permissions(pub, (own, f"{third_party_inbox(cid)}.>"))


@dataclass(frozen=True)
class NatsUser:
    """One user entry of the generated nats-server configuration."""

    user: str
    password: str  # plain or a bcrypt hash ("$2a$..."): nats-server accepts both
    permissions: Permissions | None = None  # None = unrestricted (ops/admin)

    def as_config(self) -> dict[str, object]:
        """Return the user entry as nats-server expects it."""
        entry: dict[str, object] = {"user": self.user, "password": self.password}
        if self.permissions is not None:
            entry["permissions"] = self.permissions.as_config()
        return entry


@dataclass(frozen=True)
class ThirdPartyGrant:
    """A live (not revoked) event credential as the NATS configuration needs it."""

    credential_id: str
    user_id: str
    password: str


@dataclass
class NatsAuthConfig:
    """Everything `render_config` needs: service passwords, grants and an ops user."""

    service_passwords: dict[str, str]
    grants: list[ThirdPartyGrant] = field(default_factory=list)
    admin_password: str | None = None

    def users(self) -> list[NatsUser]:
        """Return every user entry: services, third parties and the ops admin."""
        perms = all_service_permissions()
        out = [NatsUser(name, self.service_passwords[name], perms[name])
               for name in SERVICES if name in self.service_passwords]
        out += [NatsUser(g.credential_id, g.password,
                         third_party_permissions(g.user_id, g.credential_id))
                for g in self.grants]
        if self.admin_password:
            out.append(NatsUser("admin", self.admin_password))
        return out


def render_config(auth: NatsAuthConfig, *, extra: str = "") -> str:
    """Render a nats-server `authorization` block (JSON values are valid NATS config)."""
    users = ",\n    ".join(json.dumps(u.as_config()) for u in auth.users())
    return f"{extra}authorization {{\n  users = [\n    {users}\n  ]\n}}\n"


# --- /api/user/event-credentials ----------------------------------------------------

AUTH_SERVICE = "auth"
CREATE_EVENT_CREDENTIAL = subjects.svc(AUTH_SERVICE, "event_credential", "create")
LIST_EVENT_CREDENTIALS = subjects.svc(AUTH_SERVICE, "event_credential", "list")
REVOKE_EVENT_CREDENTIAL = subjects.svc(AUTH_SERVICE, "event_credential", "revoke")
# the NATS auth sidecar asks for every live grant, then renders and reloads (docs/ops)
EXPORT_EVENT_CREDENTIALS = subjects.svc(AUTH_SERVICE, "event_credential", "export")


class CreateEventCredential(ApiModel):
    """Create a NATS identity for the acting user's own event feed."""

    name: str = Field(min_length=1, max_length=100)


class RevokeEventCredential(ApiModel):
    """Revoke one of the acting user's event credentials."""

    id: str


class EventCredential(ApiModel):
    """An event credential as listed (never with its password)."""

    id: str
    name: str
    nats_user: str
    subject: str
    stream: str = streams.EVENTS.name
    durable: str
    inbox_prefix: str
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None = None


class EventCredentialSecret(EventCredential):
    """The one reply that carries the password: shown once, stored only hashed."""

    password: str
    nats_url: str


class EventCredentialGrant(ApiModel):
    """One live grant as the NATS auth sidecar receives it (password bcrypt-hashed)."""

    id: str
    user_id: str
    password_hash: str


def describe_credential(credential_id: str, user_id: str) -> dict[str, str]:
    """Return the subject, durable and inbox fields of a credential for its owner."""
    return {"nats_user": credential_id, "subject": subjects.user_events(user_id),
            "durable": credential_id, "inbox_prefix": third_party_inbox(credential_id)}


def main(argv: list[str] | None = None) -> None:
    """Print the permissions as JSON, or `render` a nats-server auth config from files.

    `render --passwords-dir D [--grants G.json] [--admin-password-file F]`: D holds one
    file per service named after it; G is a JSON list of EventCredentialGrant objects.
    """
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m contracts.natsperms")
    parser.add_argument("command", nargs="?", choices=("permissions", "render"),
                        default="permissions")
    parser.add_argument("--passwords-dir", type=Path)
    parser.add_argument("--grants", type=Path)
    parser.add_argument("--admin-password-file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "permissions":
        print(json.dumps({k: v.as_config() for k, v in all_service_permissions().items()},
                         indent=2))
        return
    if args.passwords_dir is None:
        parser.error("render needs --passwords-dir")
    passwords = {s: (args.passwords_dir / s).read_text().strip() for s in SERVICES
                 if (args.passwords_dir / s).is_file()}
    grants = [ThirdPartyGrant(g.id, g.user_id, g.password_hash) for g in (
        EventCredentialGrant.model_validate(x) for x in json.loads(args.grants.read_text())
    )] if args.grants else []
    admin = args.admin_password_file.read_text().strip() if args.admin_password_file else None
    print(render_config(NatsAuthConfig(passwords, grants, admin)), end="")


if __name__ == "__main__":
    main()
