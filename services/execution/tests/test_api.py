"""Deployments over NATS: validation, lifecycle, and one user never sees another's."""

from __future__ import annotations

from contracts import execution as ex

from .conftest import call, until
from .fakes import strategy


async def _deploy(nc, fakes, user="u1", account="a1", **kw):
    fakes.strategies[(user, "s1")] = strategy(user)
    fakes.add_account(user, account)
    body = {"strategyId": "s1", "accountId": account, **kw}
    return await call(nc, ex.CREATE_DEPLOYMENT, body, user)


async def test_deploy_then_pause_resume_stop(app, nc, fakes):
    status, dep = await _deploy(nc, fakes)
    assert status == 200, dep
    assert dep["status"] == "active" and dep["product"] == "INTRADAY"
    await until(lambda: dep["id"] in app.engine.runners, what="the engine to pick it up")
    for subject, want in ((ex.PAUSE_DEPLOYMENT, "paused"), (ex.RESUME_DEPLOYMENT, "active"),
                          (ex.STOP_DEPLOYMENT, "stopped")):
        status, got = await call(nc, subject, {"id": dep["id"]}, "u1")
        assert (status, got["status"]) == (200, want)
    await until(lambda: dep["id"] not in app.engine.runners, what="the runner to stop")
    status, page = await call(nc, ex.LIST_DEPLOYMENTS, {}, "u1")
    assert page["total"] == 1 and page["items"][0]["status"] == "stopped"
    status, logs = await call(nc, ex.DEPLOYMENT_LOGS, {"id": dep["id"]}, "u1")
    assert status == 200 and logs["items"][0]["action"] == "warm_up"


async def test_validation_names_every_problem(app, nc, fakes):
    fakes.strategies[("u1", "s1")] = strategy("u1", product_type="delivery", direction="short",
                                              entry_rule="close > smaa(3)")
    fakes.add_account("u1", "live", broker="dhan", status="reauth_required")
    status, err = await call(nc, ex.CREATE_DEPLOYMENT,
                             {"strategyId": "s1", "accountId": "live", "maxQuantity": 1,
                              "quantity": 5}, "u1")
    assert status == 400
    fields = {d["field"] for d in err["details"]}
    assert {"entryRule", "accountId", "riskAcknowledged", "strategyId", "maxQuantity"} <= fields
    status, err = await call(nc, ex.CREATE_DEPLOYMENT, {"strategyId": "nope", "accountId": "x"}, "u1")
    assert status == 400 and {d["field"] for d in err["details"]} == {"strategyId", "accountId"}


async def test_unverified_and_anonymous_are_refused(app, nc, fakes):
    fakes.strategies[("u1", "s1")] = strategy("u1")
    fakes.add_account("u1", "a1")
    body = {"strategyId": "s1", "accountId": "a1"}
    assert (await call(nc, ex.CREATE_DEPLOYMENT, body, "u1", verified=False))[0] == 403
    assert (await call(nc, ex.CREATE_DEPLOYMENT, body, None))[0] == 401


async def test_one_user_cannot_read_or_control_anothers(app, nc, fakes):
    status, dep = await _deploy(nc, fakes, user="alice")
    assert status == 200
    for subject in (ex.GET_DEPLOYMENT, ex.PAUSE_DEPLOYMENT, ex.RESUME_DEPLOYMENT,
                    ex.STOP_DEPLOYMENT, ex.DEPLOYMENT_LOGS):
        status, err = await call(nc, subject, {"id": dep["id"]}, "mallory")
        assert status == 404, (subject, err)
    status, page = await call(nc, ex.LIST_DEPLOYMENTS, {}, "mallory")
    assert page["total"] == 0
    status, page = await call(nc, ex.LIST_TRADES, {"deploymentId": dep["id"]}, "mallory")
    assert status == 404
    status, _ = await call(nc, ex.KILL_SWITCH, {}, "mallory")
    status, got = await call(nc, ex.GET_DEPLOYMENT, {"id": dep["id"]}, "alice")
    assert got["status"] == "active"


async def test_second_deploy_of_same_strategy_on_same_account_conflicts(app, nc, fakes):
    assert (await _deploy(nc, fakes))[0] == 200
    status, err = await _deploy(nc, fakes)
    assert status == 409
