"""Linked broker accounts, portfolio and kill switch: models and request subjects.

Credentials travel only inside link/update requests (as `SecretStr`, so they never show up in
a repr or a log line) and no reply model has a field that could carry them.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from . import subjects
from .api import ApiModel, ApiReply
from .types import Id, Money, Price, UtcDateTime

SERVICE = "brokerage"

LIST_ACCOUNTS = subjects.svc(SERVICE, "account", "list")
GET_ACCOUNT = subjects.svc(SERVICE, "account", "get")
LINK_ACCOUNT = subjects.svc(SERVICE, "account", "link")
START_CONSENT = subjects.svc(SERVICE, "account", "consent_start")
COMPLETE_CONSENT = subjects.svc(SERVICE, "account", "consent_complete")
UPDATE_ACCOUNT = subjects.svc(SERVICE, "account", "update")
UNLINK_ACCOUNT = subjects.svc(SERVICE, "account", "unlink")
TEST_ACCOUNT = subjects.svc(SERVICE, "account", "test")
ACCOUNT_STATUS = subjects.svc(SERVICE, "account", "status")
PORTFOLIO_SUMMARY = subjects.svc(SERVICE, "portfolio", "summary")
PORTFOLIO_POSITIONS = subjects.svc(SERVICE, "portfolio", "positions")
PORTFOLIO_HOLDINGS = subjects.svc(SERVICE, "portfolio", "holdings")
PORTFOLIO_PNL = subjects.svc(SERVICE, "portfolio", "pnl")
PORTFOLIO_HISTORY = subjects.svc(SERVICE, "portfolio", "history")
KILL_SWITCH = subjects.svc(SERVICE, "killswitch", "set")


class Broker(StrEnum):
    """Where an account's orders go."""

    DHAN = "dhan"
    PAPER = "paper"


class AccountStatus(StrEnum):
    """Whether an account can trade."""

    PENDING_CONSENT = "pending_consent"
    ACTIVE = "active"
    REAUTH_REQUIRED = "reauth_required"
    DISCONNECTED = "disconnected"
    INACTIVE = "inactive"


class LinkAccount(ApiModel):
    """Link a Dhan account by client id + access token, or open a paper account."""

    broker: Broker
    label: str = Field(default="", max_length=80)
    dhan_client_id: str | None = Field(default=None, pattern=r"^[0-9]{4,20}$")
    access_token: SecretStr | None = Field(default=None, repr=False)
    starting_capital: Money | None = Field(default=None, gt=0, le=10_000_000_000)

    @model_validator(mode="after")
    def _fields_fit_broker(self) -> LinkAccount:
        if self.broker is Broker.DHAN and not (self.dhan_client_id and self.access_token):
            raise ValueError("dhanClientId and accessToken are required to link a Dhan account")
        if self.broker is Broker.PAPER and (self.dhan_client_id or self.access_token):
            raise ValueError("a paper account takes no Dhan credentials")
        return self


class StartConsent(ApiModel):
    """Begin Dhan's API key/secret consent flow (API.md §2.3)."""

    dhan_client_id: str = Field(pattern=r"^[0-9]{4,20}$")
    api_key: SecretStr = Field(repr=False)
    api_secret: SecretStr = Field(repr=False)
    label: str = Field(default="", max_length=80)
    account_id: Id | None = Field(default=None, description="Renew the token of this account")


class ConsentStarted(ApiReply):
    """Send the user's browser to `loginUrl`; Dhan redirects back with a `tokenId`."""

    account_id: str
    login_url: str


class CompleteConsent(ApiModel):
    """Finish the consent flow with the `tokenId` Dhan redirected with."""

    account_id: Id
    token_id: str = Field(min_length=1, max_length=200, repr=False)


class UpdateAccount(ApiModel):
    """Change an account's label or give it a fresh access token."""

    account_id: Id
    label: str | None = Field(default=None, max_length=80)
    access_token: SecretStr | None = Field(default=None, repr=False)
    is_active: bool | None = None


class AccountRef(ApiModel):
    """Name one linked account."""

    account_id: Id


class Account(ApiReply):
    """A linked account; never carries a credential."""

    id: str
    broker: Broker
    label: str
    dhan_client_id: str | None = None
    status: AccountStatus
    starting_capital: Money | None = None
    has_api_key: bool = False
    token_expires_at: UtcDateTime | None = None
    last_synced_at: UtcDateTime | None = None
    kill_switch: bool = False
    created_at: UtcDateTime
    updated_at: UtcDateTime


class AccountList(ApiReply):
    """Every account of the acting user."""

    items: list[Account]


class ConnectionTest(ApiReply):
    """Outcome of a profile + funds round trip to the broker."""

    ok: bool
    status: AccountStatus
    message: str = ""
    active_segments: str | None = None
    token_validity: str | None = None
    available_balance: Money | None = None


class AccountHealth(ApiReply):
    """An account's trading health."""

    account_id: str
    status: AccountStatus
    circuit: Literal["closed", "open", "half_open"] = "closed"
    kill_switch: bool = False
    open_orders: int = 0
    unknown_orders: int = 0
    last_error: str | None = None
    last_synced_at: UtcDateTime | None = None


class PortfolioQuery(ApiModel):
    """Scope a portfolio query to one account, or all of the user's accounts."""

    account_id: Id | None = None


class HistoryQuery(ApiModel):
    """Daily portfolio values between two dates (inclusive)."""

    account_id: Id | None = None
    since: date | None = Field(default=None, alias="from")
    until: date | None = Field(default=None, alias="to")


class Position(ApiReply):
    """An open or closed-today position."""

    account_id: str
    security_id: str
    exchange_segment: str
    product_type: str
    trading_symbol: str = ""
    net_quantity: int
    buy_quantity: int = 0
    sell_quantity: int = 0
    average_price: Price | None = None
    last_price: Price | None = None
    realized_pnl: Money = Field(default=0)
    unrealized_pnl: Money = Field(default=0)


class Holding(ApiReply):
    """Settled delivery holdings."""

    account_id: str
    security_id: str
    exchange_segment: str = "NSE_EQ"
    trading_symbol: str = ""
    quantity: int
    average_price: Price
    last_price: Price | None = None
    value: Money | None = None
    unrealized_pnl: Money | None = None


class PositionList(ApiReply):
    """Positions of the scoped accounts."""

    items: list[Position]


class HoldingList(ApiReply):
    """Holdings of the scoped accounts."""

    items: list[Holding]


class PortfolioSummary(ApiReply):
    """Funds and P&L of the scoped accounts."""

    available_funds: Money
    used_margin: Money = Field(default=0)
    holdings_value: Money = Field(default=0)
    positions_count: int = 0
    realized_pnl: Money = Field(default=0)
    unrealized_pnl: Money = Field(default=0)
    total_pnl: Money = Field(default=0)
    charges: Money = Field(default=0)
    accounts: int = 0


class PnlLine(ApiReply):
    """P&L of one instrument."""

    account_id: str
    security_id: str
    exchange_segment: str
    realized_pnl: Money
    unrealized_pnl: Money
    charges: Money = Field(default=0)


class PnlBreakdown(ApiReply):
    """P&L per instrument plus totals."""

    items: list[PnlLine]
    realized_pnl: Money
    unrealized_pnl: Money
    charges: Money
    net_pnl: Money


class HistoryPoint(ApiReply):
    """Portfolio value at the end of one day."""

    date: date
    value: Money
    pnl: Money


class PortfolioHistory(ApiReply):
    """Daily values, oldest first."""

    items: list[HistoryPoint]


class SetKillSwitch(ApiModel):
    """Stop (or allow again) all trading on one account, or on all of the user's accounts."""

    account_id: Id | None = None
    activate: bool = True
    cancel_open_orders: bool = True


class KillSwitchState(ApiReply):
    """Kill-switch state per account after the change."""

    accounts: dict[str, bool]
    cancelled_orders: int = 0
