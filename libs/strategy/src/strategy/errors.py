"""Rule errors with 1-based positions, for editors and for API responses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleErrorInfo:
    """One problem in a rule: where it is (1-based line/column, end column exclusive) and what."""

    line: int
    col: int
    end_col: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, col {self.col}: {self.message}"

    def to_dict(self) -> dict[str, int | str]:
        """Return a JSON-ready dict (the shape the validate endpoint returns)."""
        return {"line": self.line, "col": self.col, "endCol": self.end_col, "message": self.message}


class RuleError(Exception):
    """Root of every error this package raises about a rule."""


class RuleSyntaxError(RuleError):
    """A rule that cannot be parsed or fails its checks; `.errors` lists every problem found."""

    def __init__(self, errors: list[RuleErrorInfo]):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


class RuleStateError(RuleError):
    """A snapshot that does not belong to the evaluator it is restored into."""


class BarOrderError(RuleError):
    """A bar fed to an incremental evaluator that is not later than the previous bar."""
