"""Hand-written lexer: rule text -> tokens carrying 1-based line and column spans."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from strategy.errors import RuleErrorInfo, RuleSyntaxError


class Tok(Enum):
    NUMBER = "number"
    TIME = "time literal"
    IDENT = "name"
    OP = "operator"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    EOF = "end of rule"


_TWO_CHAR_OPS = (">=", "<=", "==", "!=")
_ONE_CHAR_OPS = "+-*/<>"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Tok
    text: str
    line: int
    col: int

    @property
    def end_col(self) -> int:
        return self.col + max(len(self.text), 1)

    def describe(self) -> str:
        """Name this token the way an error message should quote it."""
        if self.kind is Tok.EOF:
            return "end of rule"
        return f"'{self.text}'"


def _error(line: int, col: int, end_col: int, message: str) -> RuleSyntaxError:
    return RuleSyntaxError([RuleErrorInfo(line, col, end_col, message)])


def tokenize(text: str) -> list[Token]:
    """Split rule text into tokens; raise RuleSyntaxError at the first character that fits none."""
    tokens: list[Token] = []
    line, line_start, i, n = 1, 0, 0, len(text)
    while i < n:
        ch = text[i]
        col = i - line_start + 1
        if ch == "\n":
            line, line_start, i = line + 1, i + 1, i + 1
            continue
        if ch in " \t\r":
            i += 1
            continue
        if ch == "#":  # comment to end of line, handy in multi-line rules
            while i < n and text[i] != "\n":
                i += 1
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i
            while j < n and text[j].isdigit():
                j += 1
            if j < n and text[j] == ":" and j - i <= 2:
                k = j + 1
                while k < n and text[k].isdigit():
                    k += 1
                if k - j - 1 != 2:
                    raise _error(
                        line, col, k - line_start + 1, "expected a time of day as HH:MM, e.g. 09:30"
                    )
                tokens.append(Token(Tok.TIME, text[i:k], line, col))
                i = k
                continue
            if j < n and text[j] == ".":
                j += 1
                while j < n and text[j].isdigit():
                    j += 1
            if j < n and (text[j].isalpha() or text[j] == "_"):
                raise _error(
                    line,
                    col,
                    j - line_start + 2,
                    f"unexpected '{text[j]}' after number '{text[i:j]}'",
                )
            tokens.append(Token(Tok.NUMBER, text[i:j], line, col))
            i = j
            continue
        if ch.isalpha() or ch == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token(Tok.IDENT, text[i:j].lower(), line, col))
            i = j
            continue
        two = text[i : i + 2]
        if two in _TWO_CHAR_OPS:
            tokens.append(Token(Tok.OP, two, line, col))
            i += 2
            continue
        if ch in _ONE_CHAR_OPS:
            tokens.append(Token(Tok.OP, ch, line, col))
            i += 1
            continue
        simple = {"(": Tok.LPAREN, ")": Tok.RPAREN, ",": Tok.COMMA}
        if ch in simple:
            tokens.append(Token(simple[ch], ch, line, col))
            i += 1
            continue
        if ch == "=":
            raise _error(line, col, col + 1, "expected '==' to compare for equality, got '='")
        if ch == "&" or ch == "|":
            word = "and" if ch == "&" else "or"
            raise _error(line, col, col + 1, f"unexpected '{ch}'; write '{word}'")
        raise _error(line, col, col + 1, f"unexpected character '{ch}'")
    tokens.append(Token(Tok.EOF, "", line, i - line_start + 1))
    return tokens
