"""Recursive-descent (Pratt) parser: tokens -> untyped syntax tree; `check` then types it.

Precedence, loosest first: `or` < `and` < `not` < comparisons and `crosses` (not chainable)
< `+ -` < `* /` < unary `-` < calls, names, numbers, parentheses.
"""

from __future__ import annotations

from dataclasses import dataclass

from strategy.ast import Span
from strategy.errors import RuleErrorInfo, RuleSyntaxError
from strategy.lexer import Tok, Token, tokenize

COMPARISONS = (">", ">=", "<", "<=", "==", "!=")
_INFIX_BP = {"or": 10, "and": 20, "crosses": 40, "+": 50, "-": 50, "*": 60, "/": 60}
_INFIX_BP.update({op: 40 for op in COMPARISONS})
_NOT_BP = 30
_NEG_BP = 70


@dataclass(frozen=True, slots=True)
class PNum:
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class PTime:
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class PName:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class PCall:
    name: str
    args: tuple[PNode, ...]
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class PUnary:
    op: str  # "-" or "not"
    operand: PNode
    span: Span
    op_span: Span


@dataclass(frozen=True, slots=True)
class PBinary:
    op: str  # arithmetic, comparison, and/or, "crosses above" / "crosses below"
    left: PNode
    right: PNode
    span: Span
    op_span: Span


PNode = PNum | PTime | PName | PCall | PUnary | PBinary


def tok_span(tok: Token) -> Span:
    return Span(tok.line, tok.col, tok.line, tok.end_col)


def join(a: Span, b: Span) -> Span:
    return Span(a.line, a.col, b.end_line, b.end_col)


def error_at(span: Span, message: str) -> RuleErrorInfo:
    """Build an error for a span; a span running over several lines ends at its first line."""
    end = span.end_col if span.end_line == span.line else span.col + 1
    return RuleErrorInfo(span.line, span.col, end, message)


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind is not Tok.EOF:
            self.pos += 1
        return tok

    def fail(self, tok: Token, message: str) -> RuleSyntaxError:
        return RuleSyntaxError([error_at(tok_span(tok), message)])

    def parse_rule(self) -> PNode:
        if self.peek().kind is Tok.EOF:
            raise self.fail(
                self.peek(), "empty rule: expected a condition such as close > sma(close, 20)"
            )
        node = self.expr(0)
        tok = self.peek()
        if tok.kind is not Tok.EOF:
            hint = "; did you forget 'and' or 'or'?" if tok.kind in (Tok.IDENT, Tok.NUMBER) else ""
            if tok.kind is Tok.RPAREN:
                raise self.fail(tok, "unmatched ')'")
            raise self.fail(tok, f"expected an operator or end of rule, got {tok.describe()}{hint}")
        return node

    def infix_op(self) -> str | None:
        tok = self.peek()
        if tok.kind is Tok.OP or (tok.kind is Tok.IDENT and tok.text in ("and", "or", "crosses")):
            return tok.text
        return None

    def expr(self, min_bp: int) -> PNode:
        left = self.prefix()
        chained = False  # the last operator applied at this level was a comparison
        while True:
            op = self.infix_op()
            if op is None or _INFIX_BP[op] <= min_bp:
                return left
            op_tok = self.advance()
            op_span = tok_span(op_tok)
            bp = _INFIX_BP[op]
            if bp == 40 and chained:
                raise self.fail(
                    op_tok, f"comparisons cannot be chained; join them with 'and' before '{op}'"
                )
            if op == "crosses":
                dir_tok = self.peek()
                if dir_tok.kind is not Tok.IDENT or dir_tok.text not in ("above", "below"):
                    raise self.fail(
                        dir_tok,
                        f"expected 'above' or 'below' after 'crosses', got {dir_tok.describe()}",
                    )
                self.advance()
                op = f"crosses {dir_tok.text}"
                op_span = join(op_span, tok_span(dir_tok))
            right = self.expr(bp)
            left = PBinary(op, left, right, join(left.span, right.span), op_span)
            chained = bp == 40

    def prefix(self) -> PNode:
        tok = self.advance()
        span = tok_span(tok)
        if tok.kind is Tok.NUMBER:
            return PNum(tok.text, span)
        if tok.kind is Tok.TIME:
            return PTime(tok.text, span)
        if tok.kind is Tok.OP and tok.text == "-":
            operand = self.expr(_NEG_BP)
            return PUnary("-", operand, join(span, operand.span), span)
        if tok.kind is Tok.LPAREN:
            inner = self.expr(0)
            close = self.advance()
            if close.kind is not Tok.RPAREN:
                raise self.fail(
                    close,
                    f"expected ')' to close the '(' at line {tok.line}, col {tok.col}, got {close.describe()}",
                )
            return _respan(inner, join(span, tok_span(close)))
        if tok.kind is Tok.IDENT:
            if tok.text == "not":
                operand = self.expr(_NOT_BP)
                return PUnary("not", operand, join(span, operand.span), span)
            if tok.text in ("and", "or", "crosses", "above", "below"):
                raise self.fail(tok, f"expected a value before '{tok.text}'")
            if self.peek().kind is Tok.LPAREN:
                return self.call(tok)
            return PName(tok.text, span)
        raise self.fail(tok, f"expected a number, series, indicator or '(', got {tok.describe()}")

    def call(self, name_tok: Token) -> PCall:
        self.advance()  # '('
        args: list[PNode] = []
        if self.peek().kind is not Tok.RPAREN:
            while True:
                args.append(self.expr(0))
                sep = self.advance()
                if sep.kind is Tok.RPAREN:
                    break
                if sep.kind is not Tok.COMMA:
                    raise self.fail(
                        sep,
                        f"expected ',' or ')' in the arguments of {name_tok.text}, got {sep.describe()}",
                    )
        else:
            sep = self.advance()
        name_span = tok_span(name_tok)
        return PCall(name_tok.text, tuple(args), join(name_span, tok_span(sep)), name_span)


def _respan(node: PNode, span: Span) -> PNode:
    """Give a parenthesised node the span of its parentheses (errors then point at them)."""
    kwargs = {f: getattr(node, f) for f in node.__dataclass_fields__}
    kwargs["span"] = span
    return type(node)(**kwargs)


def parse_syntax(text: str) -> PNode:
    """Parse rule text into an untyped syntax tree; raise RuleSyntaxError on the first problem."""
    return _Parser(tokenize(text)).parse_rule()
