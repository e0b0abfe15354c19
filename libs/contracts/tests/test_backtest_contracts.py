"""Backtest contracts: subjects, camelCase wire, exact percentages, events and the job."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from contracts import backtest as C
from contracts import streams, subjects
from contracts.events import backtest as ev
from contracts.events import decode, encode, new_event_fields
from pydantic import ValidationError


def test_request_subjects_are_under_the_backtest_service_and_distinct():
    names = [r.subject for r in C.HTTP_ROUTES]
    assert all(s.startswith("svc.backtest.") and s.count(".") == 3 for s in names)
    assert len(set(names)) == len(C.HTTP_ROUTES) - 1  # export answers GET and POST
    assert streams.stream_for(C.JOB_SUBJECT) is streams.JOBS


def test_history_route_comes_before_the_backtest_id_route():
    paths = [r.path for r in C.HTTP_ROUTES if r.method == "GET"]
    assert paths.index("/api/backtests/history") < paths.index("/api/backtests/{id}")


def test_strategy_body_is_camel_case_with_decimal_percentages():
    body = C.CreateStrategy.model_validate({
        "name": "x", "instrument": {"segment": "NSE_EQ", "securityId": "2885", "symbol": "RELIANCE"},
        "timeframe": "1d", "entryRule": "close > sma(20)", "exitRule": "close < sma(20)",
        "stopLossPct": "2.5", "targetPct": 4})
    assert body.stop_loss_pct == Decimal("2.5")
    wire = body.model_dump(mode="json", by_alias=True)
    assert wire["stopLossPct"] == "2.5" and wire["productType"] == "delivery"
    with pytest.raises(ValidationError):
        C.CreateStrategy.model_validate({**wire, "timeframe": "2h"})
    with pytest.raises(ValidationError):
        C.CreateStrategy.model_validate({**wire, "stopLossPct": "100"})
    with pytest.raises(ValidationError):
        C.CreateStrategy.model_validate({**wire, "surprise": 1})


def test_backtest_request_checks_dates_and_splits_compare_ids():
    with pytest.raises(ValidationError):
        C.CreateBacktest(strategy_id="s", from_date=date(2024, 2, 1), to_date=date(2024, 1, 1))
    assert C.CompareQuery.model_validate({"backtestIds": "a, b,"}).backtest_ids == ["a", "b"]
    with pytest.raises(ValidationError):
        C.CompareQuery.model_validate({})


def test_events_round_trip_on_user_subjects():
    now = datetime(2025, 7, 23, 4, 0, tzinfo=UTC)
    e = ev.BacktestProgressed(**new_event_fields(now=now), backtest_id="b", user_id="u",
                              strategy_id="s", strategy_version_id="v", percent=40, stage="engine")
    raw = encode(e)
    assert b'"backtestId":"b"' in raw and b'"tsEvent"' in raw
    assert decode(raw, ev.BacktestProgressed) == e
    name = ev.BACKTEST_EVENT_NAMES[type(e)]
    assert subjects.user_event("u", ev.BACKTEST_DOMAIN, name) == "evt.u.backtest.progress"
    assert set(ev.BACKTEST_EVENT_NAMES.values()) == {"queued", "progress", "completed", "failed",
                                                     "cancelled"}


def test_job_and_deployment_events_ignore_unknown_fields():
    job = ev.BacktestJob(backtest_id="b", user_id="u", strategy_id="s", strategy_version_id="v",
                         segment="NSE_EQ", security_id="2885", symbol="RELIANCE", interval="1d",
                         from_date=date(2024, 1, 1), to_date=date(2024, 12, 31),
                         entry_rule="close > sma(20)", exit_rule="close < sma(20)")
    assert decode(encode(job), ev.BacktestJob) == job
    dep = decode(b'{"eventId":"e","deploymentId":"d","strategyId":"s","userId":"u","mode":"paper"}',
                 ev.DeploymentChanged)
    assert dep.strategy_version_id is None and dep.deployment_id == "d"
