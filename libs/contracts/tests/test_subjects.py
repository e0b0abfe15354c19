import pytest
from contracts import streams, subjects
from contracts.subjects import InvalidSubjectToken


@pytest.mark.parametrize("bad", ["a.b", "*", ">", "a b", "", "tab\there", "x\n", "a*", "ü"])
def test_tokens_that_break_subject_syntax_are_refused(bad):
    with pytest.raises(InvalidSubjectToken):
        subjects.user_event(bad, "order", "filled")
    with pytest.raises(InvalidSubjectToken):
        subjects.tick("NSE_EQ", bad)


def test_builders_produce_the_documented_subjects():
    uid = "0b7c5d1e-3f1a-4a39-9d2c-111111111111"
    assert subjects.svc("auth", "session", "login") == "svc.auth.session.login"
    assert subjects.tick("NSE_EQ", 2885) == "md.tick.NSE_EQ.2885"
    assert subjects.bar("1m", "NSE_EQ", "2885") == "md.bar.1m.NSE_EQ.2885"
    assert subjects.order_intent("acc-1") == "ord.intent.acc-1"
    assert subjects.user_event(uid, "order", "filled") == f"evt.{uid}.order.filled"
    assert subjects.user_events(uid) == f"evt.{uid}.>"
    assert subjects.job("backtest") == "job.backtest"
    assert subjects.audit("gateway", "http") == "audit.gateway.http"


def test_every_subject_lands_in_exactly_one_stream():
    samples = [
        subjects.tick("NSE_EQ", 1),
        subjects.bar("5m", "NSE_EQ", 1),
        subjects.bar_correction("1m", "NSE_EQ", 1),
        subjects.feed_status("stale"),
        subjects.order_intent("a"),
        subjects.user_event("u", "auth", "new_login"),
        subjects.job("backtest"),
        subjects.audit("auth", "login"),
    ]
    for subject in samples:
        owners = [
            s for s in streams.ALL_STREAMS if any(streams._matches(p, subject) for p in s.subjects)
        ]
        assert len(owners) == 1, subject
    assert streams.stream_for(subjects.order_intent("a")).retention == streams.Retention.WORK_QUEUE


def test_streams_do_not_overlap_and_names_are_unique():
    names = [s.name for s in streams.ALL_STREAMS]
    assert len(names) == len(set(names))
    with pytest.raises(LookupError):
        streams.stream_for("nothing.here")
