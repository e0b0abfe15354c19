"""Fault injection state: latency, forced 5xx/429, dropped responses, feed cuts."""

from __future__ import annotations

from dataclasses import dataclass

from dhansim import errors


@dataclass
class Faults:
    """What the simulator should break next; counters count down as faults fire."""

    latency_ms: int = 0
    fail_5xx: int = 0
    fail_429: int = 0
    drop_after_accept: int = 0
    status_5xx: int = 500

    def update(self, body: dict) -> None:
        """Apply a POST /sim/faults body (unknown keys are refused)."""
        mapping = {"latencyMs": "latency_ms", "fail5xx": "fail_5xx", "fail429": "fail_429",
                   "dropAfterAccept": "drop_after_accept", "status5xx": "status_5xx"}
        for key, value in body.items():
            if key in ("expireToken", "feedCut"):
                continue
            if key not in mapping or not isinstance(value, int) or value < 0:
                raise errors.bad_input(f"Invalid fault {key}")
            setattr(self, mapping[key], value)

    def take_5xx(self) -> bool:
        """Consume one forced server error."""
        if self.fail_5xx > 0:
            self.fail_5xx -= 1
            return True
        return False

    def take_429(self) -> bool:
        """Consume one forced rate-limit error."""
        if self.fail_429 > 0:
            self.fail_429 -= 1
            return True
        return False

    def take_drop(self) -> bool:
        """Consume one dropped order response."""
        if self.drop_after_accept > 0:
            self.drop_after_accept -= 1
            return True
        return False

    def to_json(self) -> dict:
        """Render the pending faults."""
        return {"latencyMs": self.latency_ms, "fail5xx": self.fail_5xx,
                "fail429": self.fail_429, "dropAfterAccept": self.drop_after_accept,
                "status5xx": self.status_5xx}
