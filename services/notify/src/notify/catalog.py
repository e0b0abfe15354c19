"""Pure mapping from user events (by `domain.event`) to notification drafts.

`CATALOG` is the table: subject suffix -> builder. A builder reads the event leniently (a
plain dict: unknown fields ignored, missing optional ones defaulted) and returns a `Draft`,
or None when this particular event is not worth telling (a cancelled order, say). Events
whose `domain.event` is not in the table are skipped by the consumer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contracts.notify import NotificationType as T

CRITICAL_TYPES = frozenset({T.KILL_SWITCH_ACTIVATED, T.REAUTH_REQUIRED})
"""Types that ignore quiet hours."""

ACCOUNT_MAIL_TYPES = frozenset({T.EMAIL_VERIFICATION, T.PASSWORD_RESET})
"""Types that always go by e-mail, whatever the preferences, and are never listed in-app."""


@dataclass(frozen=True)
class Draft:
    """A notification before it is stored: what to say, how loud, where it links."""

    type: T
    title: str
    message: str
    severity: str = "info"
    metadata: dict[str, Any] = field(default_factory=dict)
    link: str | None = None
    group_key: str = ""

    @property
    def critical(self) -> bool:
        """Return True when quiet hours must not hold this back."""
        return self.type in CRITICAL_TYPES


Builder = Callable[[dict[str, Any]], Draft | None]


def rupees(paise: Any) -> str:
    """Format integer paise as rupees (`₹1,234.50`)."""
    if paise is None:
        return "-"
    value = int(paise)
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 100)
    return f"{sign}₹{whole:,}.{frac:02d}"


def _pick(ev: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: ev[k] for k in keys if ev.get(k) is not None}


_ORDER_KEYS = ("orderId", "securityId", "exchangeSegment", "transactionType", "quantity",
               "filledQuantity", "averagePrice", "status", "reason", "deploymentId", "accountId")
_MARGIN_WORDS = ("margin", "insufficient", "funds")


def _order_label(ev: dict[str, Any]) -> str:
    return f"{ev.get('transactionType', '')} {ev.get('quantity', '')} × {ev.get('securityId', '?')}".strip()


def order_placed(ev: dict[str, Any]) -> Draft:
    """An order reached the broker."""
    return Draft(T.ORDER_PLACED, "Order placed", f"{_order_label(ev)} was placed.",
                 "info", _pick(ev, *_ORDER_KEYS), f"/orders/{ev.get('orderId', '')}",
                 group_key=str(ev.get("orderId", "")))


def order_filled(ev: dict[str, Any]) -> Draft:
    """An order traded in full."""
    price = rupees(ev.get("averagePrice"))
    return Draft(T.ORDER_FILLED, "Order filled", f"{_order_label(ev)} filled at {price}.",
                 "success", _pick(ev, *_ORDER_KEYS), f"/orders/{ev.get('orderId', '')}",
                 group_key=str(ev.get("orderId", "")))


def order_failed(ev: dict[str, Any]) -> Draft:
    """An order was refused or never sent; margin refusals become a margin warning."""
    reason = str(ev.get("reason") or "no reason given")
    if any(w in reason.lower() for w in _MARGIN_WORDS):
        return Draft(T.MARGIN_WARNING, "Insufficient margin",
                     f"{_order_label(ev)} was refused: {reason}", "warning",
                     _pick(ev, *_ORDER_KEYS), f"/orders/{ev.get('orderId', '')}",
                     group_key=str(ev.get("accountId", "")))
    # grouped by deployment (or account) and reason: a storm of one failure is one notification
    key = f"{ev.get('deploymentId') or ev.get('accountId', '')}:{reason}"
    return Draft(T.ORDER_FAILED, "Order failed", f"{_order_label(ev)} failed: {reason}",
                 "error", _pick(ev, *_ORDER_KEYS), f"/orders/{ev.get('orderId', '')}",
                 group_key=key)


def _deployment(kind: T, title: str, verb: str, severity: str) -> Builder:
    def build(ev: dict[str, Any]) -> Draft | None:
        reason = str(ev.get("reason") or "")
        if kind is T.STRATEGY_PAUSED and "kill" in reason.lower():
            return None  # the kill switch has its own notification
        dep = str(ev.get("deploymentId", ""))
        message = f"Deployment {dep[:8]} {verb}." + (f" Reason: {reason}" if reason else "")
        return Draft(kind, title, message, severity,
                     _pick(ev, "deploymentId", "strategyId", "accountId", "status", "reason"),
                     f"/deployments/{dep}", group_key=f"{dep}:{title}")
    return build


def entries_paused(ev: dict[str, Any]) -> Draft:
    """Entries are held: a stale feed is its own type, anything else a pause."""
    reason = str(ev.get("reason") or "")
    dep = str(ev.get("deploymentId", ""))
    meta = _pick(ev, "deploymentId", "strategyId", "accountId", "reason")
    if "stale" in reason.lower():
        return Draft(T.FEED_STALE, "Market data is stale",
                     f"New entries of deployment {dep[:8]} are on hold: {reason}.", "warning",
                     meta, f"/deployments/{dep}", group_key=dep)
    return Draft(T.STRATEGY_PAUSED, "New entries paused",
                 f"Deployment {dep[:8]} takes no new entries: {reason or 'limit reached'}.",
                 "warning", meta, f"/deployments/{dep}", group_key=f"{dep}:entries")


def signal_generated(ev: dict[str, Any]) -> Draft | None:
    """Stop-loss, target and kill-switch exits are worth a notification; other signals not."""
    action = ev.get("action")
    dep = str(ev.get("deploymentId", ""))
    meta = _pick(ev, "deploymentId", "strategyId", "securityId", "side", "quantity", "price",
                 "intentId", "action")
    at = f" at {rupees(ev['price'])}" if ev.get("price") is not None else ""
    if action == "stop_loss":
        return Draft(T.STOP_LOSS_TRIGGERED, "Stop-loss triggered",
                     f"Stop-loss hit on {ev.get('securityId', '?')}{at}; exiting.", "warning",
                     meta, f"/deployments/{dep}", group_key=str(ev.get("intentId", dep)))
    if action == "target":
        return Draft(T.PROFIT_TARGET_REACHED, "Profit target reached",
                     f"Target hit on {ev.get('securityId', '?')}{at}; exiting.", "success",
                     meta, f"/deployments/{dep}", group_key=str(ev.get("intentId", dep)))
    if action == "kill_switch":
        return kill_switch(ev)
    return None


def kill_switch(ev: dict[str, Any]) -> Draft:
    """The kill switch fired (one notification for every deployment it stopped)."""
    reason = str(ev.get("reason") or "")
    return Draft(T.KILL_SWITCH_ACTIVATED, "Kill switch activated",
                 "All deployments were stopped and positions are being closed."
                 + (f" Reason: {reason}" if reason else ""), "critical",
                 _pick(ev, "reason", "stoppedDeployments", "exitIntents", "cancelledOrders"),
                 "/deployments", group_key="kill_switch")


def signal_refused(ev: dict[str, Any]) -> Draft | None:
    """Only margin refusals are news; other risk refusals live in the deployment log."""
    reasons = [str(r) for r in ev.get("reasons") or []]
    if not any(w in r.lower() for r in reasons for w in _MARGIN_WORDS):
        return None
    dep = str(ev.get("deploymentId", ""))
    return Draft(T.MARGIN_WARNING, "Insufficient margin",
                 f"An order of deployment {dep[:8]} was held back: {'; '.join(reasons)}",
                 "warning", {**_pick(ev, "deploymentId", "securityId"), "reasons": reasons},
                 f"/deployments/{dep}", group_key=dep)


def _account(kind: T, title: str, text: str, severity: str) -> Builder:
    def build(ev: dict[str, Any]) -> Draft:
        reason = ev.get("reason")
        return Draft(kind, title, text + (f" ({reason})" if reason else ""), severity,
                     _pick(ev, "accountId", "broker", "status", "reason"),
                     "/settings/brokerages", group_key=str(ev.get("accountId", "")))
    return build


def backtest_completed(ev: dict[str, Any]) -> Draft:
    """Results are ready."""
    ret = ev.get("totalReturnPct")
    ret_text = f", return {ret:.2f}%" if isinstance(ret, int | float) else ""
    return Draft(T.BACKTEST_COMPLETED, "Backtest completed",
                 f"{ev.get('totalTrades', 0)} trades, net {rupees(ev.get('netProfitPaise', 0))}"
                 f"{ret_text}.", "success",
                 _pick(ev, "backtestId", "strategyId", "totalTrades", "netProfitPaise",
                       "totalReturnPct"),
                 f"/backtests/{ev.get('backtestId', '')}", group_key=str(ev.get("backtestId", "")))


def backtest_failed(ev: dict[str, Any]) -> Draft:
    """The backtest cannot complete."""
    return Draft(T.BACKTEST_FAILED, "Backtest failed", str(ev.get("reason") or "Unknown error"),
                 "error", _pick(ev, "backtestId", "strategyId", "reason"),
                 f"/backtests/{ev.get('backtestId', '')}", group_key=str(ev.get("backtestId", "")))


def new_login(ev: dict[str, Any]) -> Draft:
    """A new session started."""
    where = ev.get("ip") or "an unknown address"
    return Draft(T.NEW_LOGIN, "New sign-in", f"Your account was signed in from {where}"
                 + (f" ({ev['userAgent']})" if ev.get("userAgent") else "") + ".", "info",
                 _pick(ev, "ip", "userAgent"), "/settings/security",
                 group_key=str(ev.get("sessionId", "")))


def password_changed(ev: dict[str, Any]) -> Draft:
    """The password changed; other sessions were signed out."""
    return Draft(T.PASSWORD_CHANGED, "Password changed",
                 "Your password was changed and your other sessions were signed out. "
                 "If this was not you, reset your password now.", "warning",
                 _pick(ev, "via"), "/settings/security")


def email_verification(ev: dict[str, Any]) -> Draft:
    """The verification mail (its link carries a single-use token)."""
    return Draft(T.EMAIL_VERIFICATION, "Verify your e-mail address",
                 "Confirm this address to finish setting up your account.", "info",
                 {"expiresAt": ev.get("expiresAt")}, ev.get("verifyUrl"))


def password_reset(ev: dict[str, Any]) -> Draft:
    """The password-reset mail (its link carries a single-use token)."""
    return Draft(T.PASSWORD_RESET, "Reset your password",
                 "Someone asked to reset your password. If it was you, use the link; "
                 "otherwise ignore this mail.", "info",
                 {"expiresAt": ev.get("expiresAt")}, ev.get("resetUrl"))


CATALOG: dict[str, Builder] = {
    "deployment.started": _deployment(T.STRATEGY_DEPLOYED, "Strategy deployed", "started trading",
                                      "success"),
    "deployment.paused": _deployment(T.STRATEGY_PAUSED, "Strategy paused", "was paused", "info"),
    "deployment.stopped": _deployment(T.STRATEGY_PAUSED, "Strategy stopped", "was stopped", "info"),
    "deployment.halted": _deployment(T.STRATEGY_PAUSED, "Strategy halted", "was halted by the engine",
                                     "error"),
    "deployment.entries_paused": entries_paused,
    "signal.generated": signal_generated,
    "signal.refused": signal_refused,
    "killswitch.activated": kill_switch,
    "order.placed": order_placed,
    "order.filled": order_filled,
    "order.failed": order_failed,
    "order.rejected": order_failed,
    "order.stale": order_failed,
    "account.reauth_required": _account(T.REAUTH_REQUIRED, "Broker login needed",
                                        "Your broker session expired; log in to the broker again "
                                        "to keep trading.", "critical"),
    "account.connection_lost": _account(T.API_CONNECTION_LOST, "Broker connection lost",
                                        "The broker stopped answering; orders may be delayed.",
                                        "warning"),
    "account.margin_warning": _account(T.MARGIN_WARNING, "Margin running low",
                                       "Available margin is low on your account.", "warning"),
    "backtest.completed": backtest_completed,
    "backtest.failed": backtest_failed,
    "auth.new_login": new_login,
    "auth.password_changed": password_changed,
    "auth.email_verification_requested": email_verification,
    "auth.password_reset_requested": password_reset,
}


def draft_for(kind: str, event: dict[str, Any]) -> Draft | None:
    """Return the draft for an event of `domain.event` kind, or None to skip it."""
    builder = CATALOG.get(kind)
    return builder(event) if builder else None
