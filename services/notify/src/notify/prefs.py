"""Pure preference rules: default channels per type, the user's overrides, quiet hours (IST)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from contracts.notify import Channel as C
from contracts.notify import NotificationType as T
from svckit.clock import IST

from .catalog import ACCOUNT_MAIL_TYPES, CRITICAL_TYPES

_LOUD = {T.ORDER_FAILED, T.STOP_LOSS_TRIGGERED, T.PROFIT_TARGET_REACHED, T.MARGIN_WARNING,
         T.API_CONNECTION_LOST, T.REAUTH_REQUIRED, T.KILL_SWITCH_ACTIVATED, T.BACKTEST_FAILED,
         T.STRATEGY_DEPLOYED, T.NEW_LOGIN, T.PASSWORD_CHANGED, T.BACKTEST_COMPLETED, T.FEED_STALE}
"""Types that go by e-mail unless the user says otherwise (routine fills and placements do not)."""


def default_channels(kind: T) -> dict[C, bool]:
    """Return the channels a type goes to when the user has not chosen."""
    if kind in ACCOUNT_MAIL_TYPES:
        return {C.IN_APP: False, C.EMAIL: True, C.SMS: False, C.WEBHOOK: False}
    return {C.IN_APP: True, C.EMAIL: kind in _LOUD, C.SMS: kind in CRITICAL_TYPES,
            C.WEBHOOK: True}


@dataclass(frozen=True)
class UserPrefs:
    """One user's stored choices (only the switches they changed are in `overrides`)."""

    overrides: dict[str, dict[str, bool]] = field(default_factory=dict)
    quiet_enabled: bool = False
    quiet_start: str = "22:00"
    quiet_end: str = "07:00"
    phone: str | None = None


def channels_for(prefs: UserPrefs, kind: T) -> dict[C, bool]:
    """Return the effective channel switches of one type for one user."""
    out = default_channels(kind)
    if kind in ACCOUNT_MAIL_TYPES:
        return out  # account mails always go by e-mail only, whatever the user chose
    for name, on in (prefs.overrides.get(kind.value) or {}).items():
        try:
            out[C(name)] = bool(on)
        except ValueError:
            continue
    return out


def all_channels(prefs: UserPrefs) -> dict[T, dict[C, bool]]:
    """Return the effective switches of every type the user can change."""
    return {t: channels_for(prefs, t) for t in T if t not in ACCOUNT_MAIL_TYPES}


def merge_overrides(current: dict[str, dict[str, bool]],
                    changes: dict[Any, dict[str, bool | None]]) -> dict[str, dict[str, bool]]:
    """Apply switch changes (None = unchanged) to stored overrides."""
    out = {k: dict(v) for k, v in current.items()}
    for kind, switches in changes.items():
        key = T(kind).value
        for name, on in switches.items():
            if on is not None:
                out.setdefault(key, {})[C(name).value] = bool(on)
    return out


def _hhmm(text: str) -> time:
    hh, mm = text.split(":")
    return time(int(hh), int(mm))


def quiet_until(prefs: UserPrefs, now: datetime) -> datetime | None:
    """Return when the quiet window that contains `now` ends (UTC), or None if not quiet."""
    if not prefs.quiet_enabled:
        return None
    start, end = _hhmm(prefs.quiet_start), _hhmm(prefs.quiet_end)
    if start == end:
        return None
    local = now.astimezone(IST)
    t = local.time().replace(second=0, microsecond=0)
    overnight = start > end
    inside = (t >= start or t < end) if overnight else (start <= t < end)
    if not inside:
        return None
    end_day = local.date()
    if overnight and t >= start:
        end_day += timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=IST).astimezone(now.tzinfo)


def hold_until(prefs: UserPrefs, kind: T, channel: C, now: datetime) -> datetime | None:
    """Return when a delivery may go out, if quiet hours hold it back (never for critical)."""
    if kind in CRITICAL_TYPES or kind in ACCOUNT_MAIL_TYPES or channel is C.IN_APP:
        return None
    return quiet_until(prefs, now)
