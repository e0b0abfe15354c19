"""The AsyncAPI 3.0 document of every public subject, generated from the event structs.

Public means what a third party may read: the user events `evt.<userId>.<domain>.<event>`
and the market data `md.tick.*` / `md.bar.*`. Schemas come from msgspec
(`schema_components`), so the document cannot drift from the code; CI compares the
committed `docs/events/asyncapi.json` with `python -m contracts.asyncapi --check`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from . import streams
from .events import auth, backtest, execution, marketdata, notify, orders

DOC_PATH = Path("docs/events/asyncapi.json")
REF = "#/components/schemas/{name}"


@dataclass(frozen=True)
class Channel:
    """One public subject pattern, the struct on it and what it means."""

    key: str
    address: str
    payload: type[msgspec.Struct]
    params: tuple[str, ...]
    stream: str


# Events whose payload carries a single-use secret (a link with a token) for the mail
# sender; they are not part of the public contract and are left out of the document.
INTERNAL_EVENTS: frozenset[type] = frozenset({auth.EmailVerificationRequested,
                                              auth.PasswordResetRequested})

_USER_EVENT_MAPS: tuple[tuple[str, dict[Any, str]], ...] = (
    (orders.ORDER_DOMAIN, orders.ORDER_EVENT_NAMES),
    (orders.ACCOUNT_DOMAIN, orders.ACCOUNT_EVENT_NAMES),
    (execution.SIGNAL_DOMAIN, {execution.SignalGenerated: "generated",
                               execution.SignalRefused: "refused"}),
    (execution.DEPLOYMENT_DOMAIN, execution.DEPLOYMENT_EVENT_NAMES),
    (execution.TRADE_DOMAIN, execution.TRADE_EVENT_NAMES),
    (backtest.BACKTEST_DOMAIN, backtest.BACKTEST_EVENT_NAMES),
    (backtest.STRATEGY_DOMAIN, backtest.STRATEGY_EVENT_NAMES),
    (notify.DOMAIN, notify.EVENT_NAMES),
    (auth.DOMAIN, auth.EVENT_NAMES),
)


def channels() -> list[Channel]:
    """Return every public channel: user events by domain and event, then market data."""
    out: list[Channel] = []
    for domain, names in _USER_EVENT_MAPS:
        for struct, event in names.items():
            if struct in INTERNAL_EVENTS:
                continue
            out.append(Channel(f"evt.{domain}.{event}", f"evt.{{userId}}.{domain}.{event}",
                               struct, ("userId",), streams.EVENTS.name))
    out.append(Channel("md.tick", "md.tick.{segment}.{securityId}", marketdata.Tick,
                       ("segment", "securityId"), streams.MD_TICKS.name))
    out.append(Channel("md.bar", "md.bar.{interval}.{segment}.{securityId}", marketdata.Bar,
                       ("interval", "segment", "securityId"), streams.MD_BARS.name))
    return sorted(out, key=lambda c: c.key)


_PARAMS = {
    "userId": "The user the event belongs to; a third-party identity may read only its own.",
    "segment": "Exchange segment, e.g. NSE_EQ, NSE_FNO.",
    "securityId": "Dhan security id of the instrument.",
    "interval": "Bar interval: " + ", ".join(marketdata.INTERVALS) + ".",
}


def _doc(struct: type) -> str:
    return (struct.__doc__ or struct.__name__).strip().splitlines()[0]


def build_document() -> dict[str, Any]:
    """Build the AsyncAPI 3.0 document as a plain dict (stable key order)."""
    chans = channels()
    structs = sorted({c.payload for c in chans}, key=lambda t: t.__name__)
    _, schemas = msgspec.json.schema_components(structs, ref_template=REF)
    doc_channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for c in chans:
        cid = c.key.replace(".", "_")
        name = c.payload.__name__
        messages[name] = {
            "name": name, "title": name, "summary": _doc(c.payload),
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/EventHeaders"},
            "payload": {"$ref": REF.format(name=name)},
        }
        doc_channels[cid] = {
            "address": c.address,
            "title": c.key,
            "description": f"{_doc(c.payload)} (JetStream stream `{c.stream}`).",
            "parameters": {p: {"description": _PARAMS[p]} for p in c.params},
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"receive_{cid}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{cid}"},
            "messages": [{"$ref": f"#/channels/{cid}/messages/{name}"}],
        }
    schemas["EventHeaders"] = {
        "type": "object",
        "properties": {
            "Nats-Msg-Id": {"type": "string", "description": "Deduplication id (the event id)."},
            "traceparent": {"type": "string", "description": "W3C trace context."},
        },
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "AlgoTrade events",
            "version": "1.0.0",
            "description": (
                "Events third parties can read over NATS JetStream. Payloads are JSON; "
                "every event has eventId, tsEvent, tsInit and version; new fields get "
                "defaults, so ignore fields you do not know. Create credentials at "
                "/api/user/event-credentials; see docs/events/README.md."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {"host": "nats.example.com:4222", "protocol": "nats",
                     "description": "Replace with your deployment's NATS address."},
        },
        "channels": doc_channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def render() -> str:
    """Return the document as the exact text committed to docs/events/asyncapi.json."""
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the document, or with --check fail when the committed file is stale."""
    parser = argparse.ArgumentParser(prog="python -m contracts.asyncapi")
    parser.add_argument("--out", type=Path, default=DOC_PATH)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run `python -m contracts.asyncapi`", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
