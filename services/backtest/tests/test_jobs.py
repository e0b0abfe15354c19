"""Job lifecycle: cancel, a worker killed mid-job, deployments moving a strategy live."""

from __future__ import annotations

import asyncio
import uuid

import msgspec
import pytest
from backtest.app import build_app
from backtest.testing import GatedHistory, discoverable, eventually, strategy_body
from contracts import backtest as C
from contracts import subjects
from contracts.events.backtest import DeploymentChanged

FROM, TO = "2020-10-01", "2025-09-30"


async def queue(alice) -> tuple[dict, dict]:
    # the app starts inside these tests: wait until it answers discovery, as a gateway would
    await discoverable(alice.nc)
    made = await alice.call(C.CREATE_STRATEGY, strategy_body())
    queued = await alice.call(C.CREATE_BACKTEST, {"strategyId": made["id"], "fromDate": FROM,
                                                  "toDate": TO})
    return made, queued


async def status_is(alice, bid: str, status: str) -> dict:
    async def check():
        b = await alice.call(C.GET_BACKTEST, {"id": bid})
        return b if b["status"] == status else None
    return await eventually(check, what=f"backtest {status}")


async def test_cancel_a_running_backtest(settings, client, events):
    gate = GatedHistory()
    async with build_app(settings, gate) as rt:
        alice = client("alice")
        made, queued = await queue(alice)
        await status_is(alice, queued["id"], "running")
        await eventually(lambda: gate.waiting == 1, what="worker inside the history fetch")
        cancelled = await alice.call(C.CANCEL_BACKTEST, {"id": queued["id"]})
        assert cancelled["status"] == "cancelled"
        assert (await alice.error(C.CANCEL_BACKTEST, {"id": queued["id"]})).error == "CONFLICT"
        gate.open.set()
        # the worker drops the job at its next step: the message is acked, nothing is stored
        await eventually(lambda: _pending(rt), what="job acknowledged")
        assert (await alice.call(C.GET_BACKTEST, {"id": queued["id"]}))["status"] == "cancelled"
        assert (await alice.error(C.BACKTEST_RESULTS, {"id": queued["id"]})).error == "CONFLICT"
        cancel_events = await eventually(lambda: events.of(".backtest.cancelled"), what="event")
        assert cancel_events[0]["backtestId"] == queued["id"]
        assert rt.services.worker.completed == 0
        assert (await alice.call(C.GET_STRATEGY, {"id": made["id"]}))["status"] == "draft"


async def _pending(rt) -> bool:
    info = await rt.js.consumer_info("JOBS", "backtest-workers")
    return info.num_ack_pending == 0 and info.num_pending == 0


async def test_a_worker_killed_mid_job_leaves_it_to_be_retried(settings, client, events, history):
    gate = GatedHistory(history)
    async with build_app(settings, gate) as rt:
        alice = client("alice")
        _, queued = await queue(alice)
        await eventually(lambda: gate.waiting == 1, what="worker inside the history fetch")
        rt.services.worker_task.cancel()  # the crash: no ack, no NAK, no result
        await asyncio.gather(rt.services.worker_task, return_exceptions=True)
        dead = await alice.call(C.GET_BACKTEST, {"id": queued["id"]})
        assert dead["status"] == "running" and dead["attempts"] == 1
        gate.open.set()
        rt.services.start_worker()  # a replacement worker gets the job after the ack wait
        done = await status_is(alice, queued["id"], "completed")
        assert done["attempts"] == 2
        res = await alice.call(C.BACKTEST_RESULTS, {"id": queued["id"], "pageSize": 1000})
        assert res["trades"]["total"] == res["metrics"]["totalTrades"] == len(res["trades"]["items"])
        assert [t["seq"] for t in res["trades"]["items"]] == list(range(1, res["trades"]["total"] + 1))
        await eventually(lambda: _pending(rt), what="job acknowledged")
        await eventually(lambda: events.of(".backtest.completed"), what="completed event")
        assert len(events.of(".backtest.completed")) == 1
        assert rt.services.worker.completed == 1


async def test_deployments_move_a_strategy_live_and_back(app, client, nc, events):
    alice = client("alice")
    made = await alice.call(C.CREATE_STRATEGY, strategy_body())
    js = nc.jetstream()

    async def deployment(name: str, dep: str) -> None:
        event = DeploymentChanged(event_id=str(uuid.uuid4()), deployment_id=dep,
                                  strategy_id=made["id"], user_id="alice",
                                  strategy_version_id=made["versionId"])
        await js.publish(subjects.user_event("alice", "deployment", name), msgspec.json.encode(event))

    async def status() -> str:
        return (await alice.call(C.GET_STRATEGY, {"id": made["id"]}))["status"]

    await deployment("started", "d1")
    await eventually(lambda: _is(status, "live"), what="live")
    await deployment("started", "d2")
    await deployment("stopped", "d1")
    assert (await alice.error(C.DELETE_STRATEGY, {"id": made["id"]})).error == "CONFLICT"
    await deployment("halted", "d2")
    await eventually(lambda: _is(status, "draft"), what="back to draft")
    await eventually(lambda: len(events.of(".strategy.status_changed")) == 2, what="events")
    changes = [(e["oldStatus"], e["newStatus"]) for e in events.of(".strategy.status_changed")]
    assert changes == [("draft", "live"), ("live", "draft")]
    foreign = DeploymentChanged(event_id=str(uuid.uuid4()), deployment_id="d3",
                                strategy_id=made["id"], user_id="mallory")
    await js.publish(subjects.user_event("mallory", "deployment", "started"),
                     msgspec.json.encode(foreign))
    await deployment("paused", "d1")
    gone = await alice.call(C.DELETE_STRATEGY, {"id": made["id"]})
    assert gone["archived"] is True, "deployments pin the strategy: archived, not deleted"


async def _is(probe, value: str) -> bool:
    return await probe() == value


async def test_in_progress_acks_keep_a_long_job_from_redelivery(settings, client, events):
    settings = settings.model_copy(update={"job_ack_wait_s": 1.0, "job_heartbeat_s": 0.2})
    gate = GatedHistory()
    async with build_app(settings, gate) as rt:
        alice = client("alice")
        _, queued = await queue(alice)
        await eventually(lambda: gate.waiting == 1, what="worker inside the history fetch")
        # three ack waits pass with the job held: a second delivery would enter the gate again
        with pytest.raises(AssertionError):
            await eventually(lambda: gate.waiting > 1, timeout=3.0, what="a redelivery")
        gate.open.set()
        done = await status_is(alice, queued["id"], "completed")
        assert done["attempts"] == 1 and rt.services.worker.completed == 1


async def test_a_job_whose_worker_died_on_its_last_delivery_is_failed(settings, client, events):
    settings = settings.model_copy(update={"stale_job_s": 2.0})
    gate = GatedHistory()
    async with build_app(settings, gate) as rt:
        alice = client("alice")
        _, queued = await queue(alice)
        await eventually(lambda: gate.waiting == 1, what="worker inside the history fetch")
        assert await rt.services.worker.reap() == 0, "a job with a live heartbeat is left alone"
        rt.services.worker_task.cancel()  # dies; suppose no delivery is left to retry it
        await asyncio.gather(rt.services.worker_task, return_exceptions=True)
        await eventually(rt.services.worker.reap, what="the silent job reaped")
        failed = await alice.call(C.GET_BACKTEST, {"id": queued["id"]})
        assert failed["status"] == "failed" and "no retry is left" in failed["error"]
        await eventually(lambda: events.of(".backtest.failed"), what="failed event")
