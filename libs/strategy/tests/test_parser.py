"""Parser and checker: accepted rules, canonical form, warm-up, and every error class."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategy import RuleSyntaxError, parse, to_text, validate
from strategy.ast import Cross, Indicator, Logic, Not, Series


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("sma(close,10) crosses above sma(close,30)", "sma(close,10) crosses above sma(close,30)"),
        ("sma(20) > ema(close, 20)", "sma(close,20) > ema(close,20)"),
        ("price > high(20)", "close > high(20)"),
        ("rsi < 30", "rsi(close,14) < 30"),
        ("macd > macd_signal", "macd(close,12,26,9) > macd_signal(close,12,26,9)"),
        ("close > bb_upper(close, 20, 2.5)", "close > bb_upper(close,20,2.5)"),
        ("close > vwap()", "close > vwap"),
        ("atr() > 1", "atr(14) > 1"),
        ("1 + 2 * 3 > 4 - 5 - 6", "1 + 2 * 3 > 4 - 5 - 6"),
        ("(1 + 2) * 3 > 4 - (5 - 6)", "(1 + 2) * 3 > 4 - (5 - 6)"),
        ("-close * 2 < -(open - 1)", "-close * 2 < -(open - 1)"),
        ("SMA(Close, 5) > Open", "sma(close,5) > open"),
        (
            "not close > open and volume > 0 or time >= 09:30",
            "not close > open and volume > 0 or time >= 09:30",
        ),
        ("close > open and (volume > 0 or open > 1)", "close > open and (volume > 0 or open > 1)"),
        ("prev(close, 1) < close", "prev(close,1) < close"),
        (
            "prev(close > open, 2) and low < lowest(low, 3)",
            "prev(close > open,2) and low < lowest(low,3)",
        ),
        ("ema(rsi(7), 5) > 50", "ema(rsi(close,7),5) > 50"),
    ],
)
def test_accepts_and_prints_canonical_form(text, canonical):
    rule = parse(text)
    assert to_text(rule.expr) == canonical
    assert to_text(parse(canonical).expr) == canonical  # canonical text re-parses to itself


def test_precedence_builds_the_expected_tree():
    e = parse("not close > open and close crosses above sma(5) or volume > 0").expr
    assert isinstance(e, Logic) and e.op == "or"
    assert isinstance(e.left, Logic) and e.left.op == "and"
    assert isinstance(e.left.left, Not)
    cross = e.left.right
    assert isinstance(cross, Cross) and cross.direction == "above"
    assert cross.right == Indicator("sma", Series("close"), (5.0,))


def test_multi_line_rule_with_comments():
    rule = parse(
        "# entry\nsma(close, 10) crosses above sma(close, 30)  # trend\n  and time >= 09:30\n"
    )
    assert to_text(rule.expr) == "sma(close,10) crosses above sma(close,30) and time >= 09:30"


@pytest.mark.parametrize(
    ("text", "lookback"),
    [
        ("close > open", 0),
        ("close > sma(20)", 19),
        ("sma(close,10) crosses above sma(close,30)", 30),
        ("close > ema(10)", 9),
        ("rsi(14) < 30", 14),
        ("atr(14) > 1", 14),
        ("macd > 0", 25),
        ("macd_signal > 0", 33),
        ("macd_hist(close, 5, 10, 3) > 0", 11),
        ("close > high(20)", 20),
        ("roc(10) > 1", 10),
        ("prev(sma(5), 3) > 1", 7),
        ("ema(rsi(14), 5) > 50", 18),
        ("close > vwap", 0),
        ("bb_upper > close", 19),
    ],
)
def test_lookback(text, lookback):
    assert parse(text).lookback == lookback


def _only_error(text):
    errors = validate(text)
    assert len(errors) == 1, errors
    with pytest.raises(RuleSyntaxError) as info:
        parse(text)
    assert info.value.errors == errors
    return errors[0]


@pytest.mark.parametrize(
    ("text", "line", "col", "end_col", "message"),
    [
        # unknown names, with suggestions
        ("close > smaa(20)", 1, 9, 13, "unknown indicator 'smaa' (did you mean 'sma'?)"),
        ("closee > 1", 1, 1, 7, "unknown name 'closee' (did you mean 'close'?)"),
        ("close > foo(3)", 1, 9, 12, "unknown indicator 'foo'"),
        ("zzz > 1", 1, 1, 4, "unknown name 'zzz'"),
        # arity and argument kinds
        ("close > sma(close)", 1, 9, 19, "sma needs a period, e.g. sma(close, 20)"),
        ("close > sma(close, 0)", 1, 20, 21, "period must be a positive integer, got 0"),
        ("close > sma(close, 2.5)", 1, 20, 23, "period must be a positive integer, got 2.5"),
        ("sma(close, 100001) > 1", 1, 12, 18, "period must be at most 100000, got 100001"),
        (
            "close > sma(close, open)",
            1,
            20,
            24,
            "period must be a positive integer literal such as 20",
        ),
        ("close > sma(close, 5, 6)", 1, 23, 24, "too many arguments for sma"),
        ("close > sma", 1, 9, 12, "sma needs arguments, e.g. sma(close, 20)"),
        (
            "close > atr(close, 14)",
            1,
            13,
            18,
            "atr takes no source series (it uses high, low and close)",
        ),
        (
            "close > sma(close > open, 5)",
            1,
            13,
            25,
            "the source of sma must be a number series, got a condition",
        ),
        (
            "sma(-5, 3) > 1",
            1,
            5,
            7,
            "the source of sma must use the bars (a series such as close), got a constant",
        ),
        (
            "close(5) > 1",
            1,
            1,
            6,
            "'close' takes no arguments (for an earlier value use prev(close, n))",
        ),
        ("prev(close) > 1", 1, 1, 12, "prev takes 2 arguments (value, bars back), got 1"),
        (
            "prev(close, -1) > 1",
            1,
            13,
            15,
            "bars back must be a positive integer literal such as 20",
        ),
        (
            "macd(close, 26, 12) > 0",
            1,
            1,
            20,
            "macd: the fast period (26) must be shorter than the slow period (12)",
        ),
        # type errors
        ("close > 5 and 3", 1, 15, 16, "expected a condition after 'and', got a number"),
        (
            "(close > 1) + 2 > 0",
            1,
            1,
            12,
            "'+' needs numbers on both sides, got a condition on the left",
        ),
        (
            "close > (open > 1)",
            1,
            9,
            19,
            "'>' needs numbers on both sides, got a condition on the right",
        ),
        ("not close", 1, 5, 10, "expected a condition after 'not', got a number"),
        ("-(close > 1)", 1, 2, 13, "unary '-' needs a number, got a condition"),
        (
            "time > 5",
            1,
            8,
            9,
            "time can only be compared with a time of day such as 09:30, got a number",
        ),
        ("time + 1 > 2", 1, 1, 5, "'+' needs numbers on both sides, got a time of day on the left"),
        (
            "close crosses above (open > 1)",
            1,
            21,
            31,
            "'crosses above' needs numbers on both sides",
        ),
        ("close + 1", 1, 1, 10, "a rule must be a condition (true or false), got a number"),
        ("time >= 25:00", 1, 9, 14, "invalid time of day '25:00'"),
        # syntax
        ("", 1, 1, 2, "empty rule"),
        ("close >", 1, 8, 9, "expected a number, series, indicator or '(', got end of rule"),
        (
            "close > open close",
            1,
            14,
            19,
            "expected an operator or end of rule, got 'close'; did you forget 'and' or 'or'?",
        ),
        (
            "(close > 1",
            1,
            11,
            12,
            "expected ')' to close the '(' at line 1, col 1, got end of rule",
        ),
        ("close > 1)", 1, 10, 11, "unmatched ')'"),
        ("close = 1", 1, 7, 8, "expected '==' to compare for equality, got '='"),
        ("close > 1 && open > 1", 1, 11, 12, "unexpected '&'; write 'and'"),
        ("close $ 1", 1, 7, 8, "unexpected character '$'"),
        ("1 < close < 2", 1, 11, 12, "comparisons cannot be chained; join them with 'and'"),
        (
            "close crosses open",
            1,
            15,
            19,
            "expected 'above' or 'below' after 'crosses', got 'open'",
        ),
        ("close > sma(close 5)", 1, 19, 20, "expected ',' or ')' in the arguments of sma, got '5'"),
        ("and close > 1", 1, 1, 4, "expected a value before 'and'"),
        ("time > 9:3", 1, 8, 11, "expected a time of day as HH:MM"),
        ("close > 5x", 1, 9, 11, "unexpected 'x' after number '5'"),
    ],
)
def test_error_positions_and_messages(text, line, col, end_col, message):
    err = _only_error(text)
    assert (err.line, err.col, err.end_col) == (line, col, end_col), str(err)
    assert message in err.message
    assert str(err).startswith(f"line {line}, col {col}: ")


def test_error_format_matches_the_editor_contract():
    err = _only_error("close > 0 and sma(close, 5) > smaa(20)")
    assert str(err) == "line 1, col 31: unknown indicator 'smaa' (did you mean 'sma'?)"
    assert err.to_dict() == {
        "line": 1,
        "col": 31,
        "endCol": 35,
        "message": "unknown indicator 'smaa' (did you mean 'sma'?)",
    }


def test_errors_on_later_lines_have_their_own_line_and_column():
    err = _only_error("close > open\n  and rsi(14) < 30\n  and emaa(close, 5) > 1")
    assert (err.line, err.col, err.end_col) == (3, 7, 11)
    err = _only_error("close > open and\n\n   (volume > 0")
    assert (err.line, err.col) == (3, 15)


def test_every_independent_error_is_reported():
    errors = validate("smaa(5) > 1 and 5 and closee > sma(close, 0)")
    assert [(e.col, e.message.split(" (")[0]) for e in errors] == [
        (1, "unknown indicator 'smaa'"),
        (17, "expected a condition after 'and', got a number"),
        (23, "unknown name 'closee'"),
        (43, "period must be a positive integer, got 0"),
    ]


def test_valid_rule_has_no_errors():
    assert validate("rsi(14) < 30 and close > vwap") == []
    assert validate(None)[0].message == "a rule must be text, got NoneType"


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet="abcdelmorstv ()+-*/<>=!,.:0123456789\n#_", max_size=40))
def test_validate_never_raises_on_partial_input(text):
    errors = validate(text)
    for e in errors:
        assert e.line >= 1 and e.col >= 1 and e.end_col > e.col


def test_deep_nesting_is_an_error_not_a_crash():
    errors = validate("(" * 5000 + "close > 1" + ")" * 5000)
    assert errors and "nested too deeply" in errors[0].message
