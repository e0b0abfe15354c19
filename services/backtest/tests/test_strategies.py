"""Strategy CRUD over NATS: versions, rule errors with positions, filters, user isolation."""

from __future__ import annotations

from backtest.testing import RELIANCE, strategy_body
from contracts import backtest as C


async def test_create_get_and_edit_makes_versions(app, client):
    alice = client("alice")
    made = await alice.call(C.CREATE_STRATEGY, strategy_body())
    assert made["status"] == "draft" and made["version"] == 1 and made["latestVersion"] == 1
    assert made["instrument"] == RELIANCE and made["stopLossPct"] == "2.00"

    edited = await alice.call(C.UPDATE_STRATEGY, {"id": made["id"], "exitRule": "close < sma(close, 5)",
                                                  "targetPct": None})
    assert edited["version"] == 2 and edited["versionId"] != made["versionId"]
    assert edited["exitRule"] == "close < sma(close, 5)" and edited["targetPct"] is None
    assert edited["entryRule"] == made["entryRule"] and edited["name"] == made["name"]

    old = await alice.call(C.GET_STRATEGY, {"id": made["id"], "version": 1})
    assert old["versionId"] == made["versionId"] and old["exitRule"] == made["exitRule"]
    assert old["targetPct"] == "4.00" and old["latestVersion"] == 2
    current = await alice.call(C.GET_STRATEGY, {"id": made["id"]})
    assert current["versionId"] == edited["versionId"]

    same = await alice.call(C.UPDATE_STRATEGY, {"id": made["id"], "name": made["name"]})
    assert same["version"] == 2, "an edit that changes nothing makes no version"
    versions = await alice.call(C.LIST_VERSIONS, {"id": made["id"]})
    assert [v["version"] for v in versions["versions"]] == [2, 1]


async def test_rule_errors_name_line_and_column(app, client):
    alice = client("alice")
    err = await alice.error(C.CREATE_STRATEGY, strategy_body(entryRule="close > smaa(close, 20)"))
    assert err.error == "VALIDATION_ERROR"
    assert err.details[0].field == "entryRule"
    assert err.details[0].message.startswith("line 1, col 9:") and "smaa" in err.details[0].message

    check = await alice.call(C.VALIDATE_RULES, {"entryRule": "close > smaa(close, 20)",
                                                "exitRule": "close <\n  sma(close, 5) and"})
    assert check["valid"] is False
    (entry,) = check["entryRule"]["errors"]
    assert (entry["line"], entry["col"], entry["endCol"]) == (1, 9, 13)
    assert check["exitRule"]["errors"][0]["line"] == 2

    good = await alice.call(C.VALIDATE_RULES, {"entryRule": "rsi(14) < 30"})
    assert good["valid"] is True and good["entryRule"]["lookback"] >= 14 and good["exitRule"] is None

    made = await alice.call(C.CREATE_STRATEGY, strategy_body())
    err = await alice.error(C.UPDATE_STRATEGY, {"id": made["id"], "exitRule": "close crosses sma(5)"})
    assert err.error == "VALIDATION_ERROR" and err.details[0].field == "exitRule"
    assert (await alice.call(C.GET_STRATEGY, {"id": made["id"]}))["version"] == 1


async def test_list_filters_and_pages(app, client):
    alice = client("alice")
    for i in range(5):
        await alice.call(C.CREATE_STRATEGY, strategy_body(name=f"Reliance {i}"))
    tcs = {"segment": "NSE_EQ", "securityId": "11536", "symbol": "TCS"}
    await alice.call(C.CREATE_STRATEGY, strategy_body(name="Momentum TCS", instrument=tcs,
                                                      description="breakout"))
    page = await alice.call(C.LIST_STRATEGIES, {"page": 1, "pageSize": 4})
    assert page["total"] == 6 and len(page["items"]) == 4
    page2 = await alice.call(C.LIST_STRATEGIES, {"page": 2, "pageSize": 4})
    assert len(page2["items"]) == 2
    assert {s["id"] for s in page["items"]}.isdisjoint(s["id"] for s in page2["items"])
    only_tcs = await alice.call(C.LIST_STRATEGIES, {"symbol": "tcs"})
    assert [s["name"] for s in only_tcs["items"]] == ["Momentum TCS"]
    by_id = await alice.call(C.LIST_STRATEGIES, {"segment": "NSE_EQ", "securityId": "2885"})
    assert by_id["total"] == 5
    found = await alice.call(C.LIST_STRATEGIES, {"search": "BREAKOUT"})
    assert found["total"] == 1
    assert (await alice.call(C.LIST_STRATEGIES, {"status": "backtested"}))["total"] == 0
    assert (await alice.call(C.LIST_STRATEGIES, {"status": "draft"}))["total"] == 6


async def test_another_users_strategy_is_not_found(app, client):
    alice, bob = client("alice"), client("bob")
    made = await alice.call(C.CREATE_STRATEGY, strategy_body())
    for subject, body in ((C.GET_STRATEGY, {"id": made["id"]}),
                          (C.UPDATE_STRATEGY, {"id": made["id"], "name": "mine now"}),
                          (C.DELETE_STRATEGY, {"id": made["id"]}),
                          (C.CLONE_STRATEGY, {"id": made["id"]}),
                          (C.LIST_VERSIONS, {"id": made["id"]}),
                          (C.CREATE_BACKTEST, {"strategyId": made["id"], "fromDate": "2024-01-01",
                                               "toDate": "2024-12-31"})):
        assert (await bob.error(subject, body)).error == "NOT_FOUND", subject
    assert (await bob.call(C.LIST_STRATEGIES))["total"] == 0
    assert (await client(None).error(C.LIST_STRATEGIES)).error == "UNAUTHORIZED"
    assert (await alice.error(C.GET_STRATEGY, {"id": "not-a-uuid"})).error == "NOT_FOUND"
    assert (await alice.call(C.GET_STRATEGY, {"id": made["id"]}))["name"] == "SMA cross"


async def test_clone_and_delete(app, client):
    alice = client("alice")
    made = await alice.call(C.CREATE_STRATEGY, strategy_body())
    copy = await alice.call(C.CLONE_STRATEGY, {"id": made["id"]})
    assert copy["id"] != made["id"] and copy["name"] == "SMA cross (copy)"
    assert copy["status"] == "draft" and copy["version"] == 1 and copy["entryRule"] == made["entryRule"]
    gone = await alice.call(C.DELETE_STRATEGY, {"id": copy["id"]})
    assert gone == {"id": copy["id"], "deleted": True, "archived": False}
    assert (await alice.error(C.GET_STRATEGY, {"id": copy["id"]})).error == "NOT_FOUND"
