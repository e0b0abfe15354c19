"""The AsyncAPI document: generated from the event structs and committed up to date."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
from contracts import asyncapi, subjects
from contracts.events import marketdata

ROOT = Path(__file__).resolve().parents[3]


def test_committed_document_is_current() -> None:
    committed = (ROOT / asyncapi.DOC_PATH).read_text()
    assert committed == asyncapi.render(), (
        "docs/events/asyncapi.json is stale: run `uv run python -m contracts.asyncapi`")


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "asyncapi.json"
    stale.write_text("{}")
    assert asyncapi.main(["--out", str(stale), "--check"]) == 1
    assert asyncapi.main(["--out", str(stale)]) == 0
    assert asyncapi.main(["--out", str(stale), "--check"]) == 0


def test_every_reference_resolves() -> None:
    doc = json.loads(asyncapi.render())
    assert doc["asyncapi"] == "3.0.0"
    text = json.dumps(doc)
    for ref in {r.split('"')[0] for r in text.split('"$ref": "')[1:]}:
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]


def test_addresses_match_the_subject_builders() -> None:
    for c in asyncapi.channels():
        concrete = c.address
        for p in c.params:
            concrete = concrete.replace("{" + p + "}", "x1")
        assert concrete.count(".") == c.address.count(".")
        subjects.token("x1")
    chans = {c.key: c for c in asyncapi.channels()}
    assert chans["evt.order.filled"].address.replace("{userId}", "u1") == subjects.user_event(
        "u1", "order", "filled")
    assert chans["md.tick"].payload is marketdata.Tick


def test_secret_bearing_events_are_not_published_to_third_parties() -> None:
    payloads = {c.payload for c in asyncapi.channels()}
    assert not payloads & asyncapi.INTERNAL_EVENTS


def test_an_event_encoded_by_the_service_validates_against_its_schema_fields() -> None:
    doc = json.loads(asyncapi.render())
    schema = doc["components"]["schemas"]["Tick"]
    fields = set(msgspec.json.decode(msgspec.json.encode(schema))["properties"])
    assert {"eventId", "tsEvent", "tsInit", "version"} <= fields
