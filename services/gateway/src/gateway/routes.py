"""THE route table: every HTTP endpoint the gateway serves, one line each.

A row names the method and path, the NATS subject it forwards to, the request model (built
from path parameters + query + JSON body) and reply model (both feed the OpenAPI document),
who may call it, its rate-limit class, its success status and whether it is audited. One
generic forwarder (`forward.py`) serves every row; a new service adds rows here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from contracts import auth as A
from contracts import backtest as BT
from contracts import brokerage as B
from contracts import execution as X
from contracts import marketdata as M
from contracts import natsperms as NP
from contracts import notify as NT
from contracts import orders as O
from contracts.api import Empty, Ok, Page
from pydantic import BaseModel

from .models import LoginReply, RefreshBody, SessionTokens


class Access(StrEnum):
    """Who may call a route."""

    NONE = "none"  # anyone; a valid token, if sent, is still passed on
    USER = "user"  # a signed-in user (JWT or API key)
    VERIFIED = "verified"  # a signed-in user whose e-mail is verified
    ADMIN = "admin"  # an administrator


class Limit(StrEnum):
    """Which rate-limit bucket a call counts against."""

    AUTH_IP = "auth-ip"  # per client IP (sign-in and account recovery)
    USER = "user"  # per signed-in user


class Cookie(StrEnum):
    """How a route handles the refresh-token cookie."""

    NONE = "none"
    ISSUE = "issue"  # the reply carries a refresh token: move it into the cookie
    ROTATE = "rotate"  # read the refresh token from the cookie, then ISSUE the new one
    CLEAR = "clear"  # read the refresh token from the cookie if there, then clear it


@dataclass(frozen=True)
class Route:
    """One HTTP endpoint forwarded to one NATS subject."""

    method: str
    path: str
    subject: str
    request: type[BaseModel]
    response: type | None
    access: Access
    summary: str
    tag: str
    status: int = 200
    limit: Limit | None = None
    audit: bool | None = None
    cookie: Cookie = Cookie.NONE
    body_doc: type[BaseModel] | None = None  # documented body when it differs from `request`
    file: bool = False  # the reply is a file (contracts.backtest.ExportFile), sent as bytes
    path_params: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.limit is None:
            is_auth = self.path.startswith("/api/auth/")
            object.__setattr__(self, "limit", Limit.AUTH_IP if is_auth else Limit.USER)
        if self.audit is None:
            object.__setattr__(self, "audit", self.method != "GET")
        object.__setattr__(self, "path_params", tuple(re.findall(r"{(\w+)}", self.path)))

    @property
    def name(self) -> str:
        """Return a stable operation id such as `post_api_auth_login`."""
        slug = re.sub(r"[^a-z0-9]+", "_", self.path.lower()).strip("_")
        return f"{self.method.lower()}_{slug}"


N, U, V, ADM = Access.NONE, Access.USER, Access.VERIFIED, Access.ADMIN
AUTH, USER, ADMIN = "auth", "user", "admin"
BRK, ORD, PF, MKT, NTF = "brokerage", "orders", "portfolio", "market", "notifications"
STR, BKT, ANL, DEP = "strategies", "backtests", "analytics", "deployments"

ROUTES: tuple[Route, ...] = (
    # --- auth -----------------------------------------------------------------------
    Route("POST", "/api/auth/register", A.REGISTER, A.Register, A.User, N, "Create an account", AUTH, status=201),
    Route("POST", "/api/auth/login", A.LOGIN, A.Login, LoginReply, N, "Sign in", AUTH, cookie=Cookie.ISSUE),
    Route("POST", "/api/auth/login/2fa", A.LOGIN_2FA, A.Login2fa, LoginReply, N, "Finish a sign-in with a second factor", AUTH, cookie=Cookie.ISSUE),
    Route("POST", "/api/auth/refresh", A.REFRESH, A.Refresh, SessionTokens, N, "Rotate the refresh token (cookie) for a new access token", AUTH, cookie=Cookie.ROTATE, body_doc=RefreshBody),
    Route("POST", "/api/auth/logout", A.LOGOUT, A.Logout, Ok, N, "End this session", AUTH, cookie=Cookie.CLEAR, body_doc=RefreshBody),
    Route("POST", "/api/auth/verify-email", A.VERIFY_EMAIL, A.VerifyEmail, A.Message, N, "Verify the e-mail address with the mailed token", AUTH),
    Route("POST", "/api/auth/resend-verification", A.RESEND_VERIFICATION, Empty, A.Message, U, "Send the verification mail again", AUTH),
    Route("POST", "/api/auth/forgot-password", A.FORGOT_PASSWORD, A.ForgotPassword, A.Message, N, "Mail a password-reset link", AUTH),
    Route("POST", "/api/auth/reset-password", A.RESET_PASSWORD, A.ResetPassword, A.Message, N, "Set a new password with the mailed token", AUTH),
    Route("POST", "/api/auth/enable-2fa", A.ENABLE_2FA, Empty, A.TwoFactorSetup, U, "Start 2FA setup (returns the TOTP secret)", AUTH),
    Route("POST", "/api/auth/verify-2fa", A.VERIFY_2FA, A.Verify2fa, A.RecoveryCodes, U, "Confirm 2FA setup with a code", AUTH),
    Route("POST", "/api/auth/disable-2fa", A.DISABLE_2FA, A.Disable2fa, A.Message, U, "Turn 2FA off", AUTH),
    # --- user -----------------------------------------------------------------------
    Route("GET", "/api/user/profile", A.GET_PROFILE, Empty, A.User, U, "Get my profile", USER),
    Route("PUT", "/api/user/profile", A.UPDATE_PROFILE, A.UpdateProfile, A.User, U, "Update my profile", USER),
    Route("PUT", "/api/user/password", A.CHANGE_PASSWORD, A.ChangePassword, A.Message, U, "Change my password (signs out other sessions)", USER),
    Route("GET", "/api/user/preferences", A.GET_PREFERENCES, Empty, A.Preferences, U, "Get my preferences", USER),
    Route("PUT", "/api/user/preferences", A.UPDATE_PREFERENCES, A.Preferences, A.Preferences, U, "Update my preferences", USER),
    Route("GET", "/api/user/api-keys", A.LIST_API_KEYS, Empty, list[A.ApiKeyInfo], U, "List my API keys", USER),
    Route("POST", "/api/user/api-keys", A.CREATE_API_KEY, A.CreateApiKey, A.ApiKeyCreated, U, "Create an API key (shown once)", USER, status=201),
    Route("DELETE", "/api/user/api-keys/{keyId}", A.REVOKE_API_KEY, A.RevokeApiKey, Ok, U, "Revoke an API key", USER),
    Route("GET", "/api/user/event-credentials", NP.LIST_EVENT_CREDENTIALS, Empty, list[NP.EventCredential], V, "List my event-feed credentials (never their passwords)", USER),
    Route("POST", "/api/user/event-credentials", NP.CREATE_EVENT_CREDENTIAL, NP.CreateEventCredential, NP.EventCredentialSecret, V, "Create NATS credentials for my own event feed (password shown once)", USER, status=201),
    Route("DELETE", "/api/user/event-credentials/{id}", NP.REVOKE_EVENT_CREDENTIAL, NP.RevokeEventCredential, Ok, V, "Revoke an event-feed credential (its connections are dropped)", USER),
    # --- admin ----------------------------------------------------------------------
    Route("GET", "/api/admin/users", A.ADMIN_LIST_USERS, A.AdminListUsers, Page[A.User], ADM, "List and search users", ADMIN),
    Route("PUT", "/api/admin/users/{userId}/status", A.ADMIN_SET_STATUS, A.AdminSetStatus, A.User, ADM, "Suspend or reactivate a user", ADMIN),
    Route("GET", "/api/admin/logs", A.ADMIN_AUDIT_LOG, A.AuditQuery, Page[A.AuditEntry], ADM, "Query the audit log", ADMIN),
    # --- brokerage accounts ---------------------------------------------------------
    Route("GET", "/api/brokerages", B.LIST_ACCOUNTS, Empty, B.AccountList, U, "List my linked accounts", BRK),
    Route("POST", "/api/brokerages/link", B.LINK_ACCOUNT, B.LinkAccount, B.Account, V, "Link a Dhan account (client id + token) or a paper account", BRK, status=201),
    Route("POST", "/api/brokerages/consent", B.START_CONSENT, B.StartConsent, B.ConsentStarted, V, "Start Dhan's API-key consent flow", BRK),
    Route("POST", "/api/brokerages/{accountId}/consent/complete", B.COMPLETE_CONSENT, B.CompleteConsent, B.Account, V, "Finish the consent flow with Dhan's tokenId", BRK),
    Route("GET", "/api/brokerages/{accountId}", B.GET_ACCOUNT, B.AccountRef, B.Account, U, "Get a linked account", BRK),
    Route("PUT", "/api/brokerages/{accountId}", B.UPDATE_ACCOUNT, B.UpdateAccount, B.Account, V, "Update a linked account (label, new token, active)", BRK),
    Route("DELETE", "/api/brokerages/{accountId}", B.UNLINK_ACCOUNT, B.AccountRef, Ok, U, "Unlink an account", BRK),
    Route("POST", "/api/brokerages/{accountId}/test", B.TEST_ACCOUNT, B.AccountRef, B.ConnectionTest, U, "Test the connection (profile + funds)", BRK),
    Route("GET", "/api/brokerages/{accountId}/status", B.ACCOUNT_STATUS, B.AccountRef, B.AccountHealth, U, "Get an account's health", BRK),
    # --- orders and trades ----------------------------------------------------------
    Route("GET", "/api/orders", O.LIST_ORDERS, O.ListOrders, Page[O.Order], U, "List my orders", ORD),
    Route("POST", "/api/orders", O.PLACE_ORDER, O.PlaceOrder, O.Order, V, "Place a manual order", ORD, status=201),
    Route("GET", "/api/orders/{orderId}", O.GET_ORDER, O.OrderRef, O.Order, U, "Get an order", ORD),
    Route("PUT", "/api/orders/{orderId}", O.MODIFY_ORDER, O.ModifyOrder, O.Order, V, "Modify an open order", ORD),
    Route("PUT", "/api/orders/{orderId}/cancel", O.CANCEL_ORDER, O.OrderRef, O.Order, U, "Cancel an open order", ORD),
    Route("GET", "/api/fills", O.LIST_TRADES, O.ListTrades, Page[O.Trade], U, "List my broker fills (executions of orders)", ORD),
    Route("GET", "/api/fills/{tradeId}", O.GET_TRADE, O.FillRef, O.Trade, U, "Get a broker fill", ORD),
    # --- portfolio --------------------------------------------------------------------
    Route("GET", "/api/portfolio/summary", B.PORTFOLIO_SUMMARY, B.PortfolioQuery, B.PortfolioSummary, U, "Portfolio summary (value, funds, P&L)", PF),
    Route("GET", "/api/portfolio/positions", B.PORTFOLIO_POSITIONS, B.PortfolioQuery, B.PositionList, U, "Open positions", PF),
    Route("GET", "/api/portfolio/holdings", B.PORTFOLIO_HOLDINGS, B.PortfolioQuery, B.HoldingList, U, "Holdings", PF),
    Route("GET", "/api/portfolio/pnl", B.PORTFOLIO_PNL, B.PortfolioQuery, B.PnlBreakdown, U, "P&L breakdown", PF),
    Route("GET", "/api/portfolio/history", B.PORTFOLIO_HISTORY, B.HistoryQuery, B.PortfolioHistory, U, "Daily portfolio values", PF),
    Route("POST", "/api/brokerages/killswitch", B.KILL_SWITCH, B.SetKillSwitch, B.KillSwitchState, U, "Block or unblock orders on one or all accounts (broker level)", BRK),
    # --- market data ------------------------------------------------------------------
    Route("GET", "/api/market/instruments", M.SEARCH_INSTRUMENTS, M.SearchInstruments, M.InstrumentPage, U, "Search instruments (exact symbol, then prefix, then fuzzy)", MKT),
    Route("GET", "/api/market/quote/{symbol}", M.GET_QUOTE, M.GetQuote, M.Quote, U, "Latest quote of an instrument", MKT),
    Route("GET", "/api/market/historical", M.GET_HISTORY, M.GetHistory, M.History, U, "Candles of an instrument (interval, from, to)", MKT),
    Route("GET", "/api/market/status", M.MARKET_STATUS, M.MarketStatusQuery, M.MarketStatus, N, "Is the market open; feed health", MKT),
    # --- strategies ---------------------------------------------------------------------
    Route("GET", "/api/strategies", BT.LIST_STRATEGIES, BT.ListStrategies, Page[BT.Strategy], U, "List my strategies (status, instrument, search)", STR),
    Route("POST", "/api/strategies", BT.CREATE_STRATEGY, BT.CreateStrategy, BT.Strategy, U, "Create a strategy (draft, version 1)", STR, status=201),
    Route("POST", "/api/strategies/validate", BT.VALIDATE_RULES, BT.ValidateRules, BT.RulesValidation, U, "Check entry/exit rules; errors carry line and column", STR),
    Route("GET", "/api/strategies/{id}", BT.GET_STRATEGY, BT.GetStrategy, BT.Strategy, U, "Get a strategy (optionally an older version)", STR),
    Route("GET", "/api/strategies/{id}/versions", BT.LIST_VERSIONS, BT.StrategyRef, BT.StrategyVersions, U, "Version history of a strategy", STR),
    Route("PUT", "/api/strategies/{id}", BT.UPDATE_STRATEGY, BT.UpdateStrategy, BT.Strategy, U, "Edit a strategy (stores a new version)", STR),
    Route("DELETE", "/api/strategies/{id}", BT.DELETE_STRATEGY, BT.StrategyRef, BT.StrategyDeleted, U, "Delete (or archive, if referenced) a strategy", STR),
    Route("POST", "/api/strategies/{id}/clone", BT.CLONE_STRATEGY, BT.StrategyRef, BT.Strategy, U, "Clone a strategy", STR, status=201),
    # --- backtests ------------------------------------------------------------------------
    Route("POST", "/api/backtests", BT.CREATE_BACKTEST, BT.CreateBacktest, BT.Backtest, U, "Queue a backtest of a strategy version", BKT, status=202),
    Route("GET", "/api/backtests/history", BT.BACKTEST_HISTORY, BT.BacktestHistoryQuery, Page[BT.Backtest], U, "My past backtests", BKT),
    Route("GET", "/api/backtests/{id}", BT.GET_BACKTEST, BT.BacktestRef, BT.Backtest, U, "Status and progress of a backtest", BKT),
    Route("POST", "/api/backtests/{id}/cancel", BT.CANCEL_BACKTEST, BT.BacktestRef, BT.Backtest, U, "Cancel a queued or running backtest", BKT),
    Route("GET", "/api/backtests/{id}/results", BT.BACKTEST_RESULTS, BT.GetResults, BT.BacktestResults, U, "Metrics, equity curve and trades", BKT),
    Route("POST", "/api/backtests/{id}/export", BT.EXPORT_BACKTEST, BT.ExportBacktest, None, U, "Export trades or equity as CSV, or a PDF report", BKT, file=True),
    Route("GET", "/api/backtests/{id}/export", BT.EXPORT_BACKTEST, BT.ExportBacktest, None, U, "Download an export (format=csv|pdf, part=trades|equity)", BKT, file=True),
    # --- analytics ------------------------------------------------------------------------
    Route("GET", "/api/analytics/strategy/{id}", BT.STRATEGY_ANALYTICS, BT.AnalyticsQuery, BT.StrategyAnalytics, U, "Performance metrics of a strategy", ANL),
    Route("GET", "/api/analytics/compare", BT.COMPARE, BT.CompareQuery, BT.Comparison, U, "Compare backtests or strategies", ANL),
    Route("GET", "/api/analytics/drawdown/{id}", BT.DRAWDOWN, BT.AnalyticsQuery, BT.DrawdownAnalysis, U, "Drawdown analysis", ANL),
    Route("GET", "/api/analytics/distribution/{id}", BT.DISTRIBUTION, BT.AnalyticsQuery, BT.TradeDistribution, U, "Trade P&L distribution", ANL),
    Route("GET", "/api/analytics/heatmap/{id}", BT.HEATMAP, BT.AnalyticsQuery, BT.ReturnsHeatmap, U, "Returns heat map", ANL),
    # --- deployments and strategy trades ---------------------------------------------------
    Route("GET", "/api/deployments", X.LIST_DEPLOYMENTS, X.ListDeployments, X.DeploymentPage, U, "List my deployments with live stats", DEP),
    Route("POST", "/api/deployments", X.CREATE_DEPLOYMENT, X.CreateDeployment, X.Deployment, V, "Deploy a pinned strategy version to a linked account", DEP, status=201),
    Route("GET", "/api/deployments/{id}", X.GET_DEPLOYMENT, X.DeploymentRef, X.Deployment, U, "Get a deployment with live stats", DEP),
    Route("PUT", "/api/deployments/{id}/pause", X.PAUSE_DEPLOYMENT, X.DeploymentRef, X.Deployment, U, "Pause a deployment (no new entries)", DEP),
    Route("PUT", "/api/deployments/{id}/resume", X.RESUME_DEPLOYMENT, X.DeploymentRef, X.Deployment, V, "Resume a paused deployment", DEP),
    Route("DELETE", "/api/deployments/{id}", X.STOP_DEPLOYMENT, X.DeploymentRef, X.Deployment, U, "Stop a deployment", DEP),
    Route("GET", "/api/deployments/{id}/logs", X.DEPLOYMENT_LOGS, X.DeploymentLogsQuery, X.ExecutionLogPage, U, "Execution log: signals and refusals with reasons", DEP),
    Route("GET", "/api/trades", X.LIST_TRADES, X.ListStrategyTrades, X.StrategyTradePage, U, "My strategy trades (entry, exit, P&L, holding time)", DEP),
    Route("GET", "/api/trades/{id}", X.GET_TRADE, X.TradeRef, X.StrategyTrade, U, "Get a strategy trade", DEP),
    Route("POST", "/api/killswitch", X.KILL_SWITCH, X.ActivateKillSwitch, X.KillSwitchResult, U, "Kill switch: stop every deployment, cancel open orders, flatten", DEP),
    # --- notifications ----------------------------------------------------------------
    Route("GET", "/api/notifications", NT.LIST, NT.ListNotifications, NT.NotificationPage, U, "List my notifications (filters, pages)", NTF),
    Route("GET", "/api/notifications/unread-count", NT.UNREAD_COUNT, Empty, NT.UnreadCount, U, "Count my unread notifications", NTF),
    Route("PUT", "/api/notifications/read-all", NT.MARK_ALL_READ, Empty, NT.MarkedRead, U, "Mark all my notifications read", NTF),
    Route("GET", "/api/notifications/preferences", NT.GET_PREFERENCES, Empty, NT.Preferences, U, "My notification preferences", NTF),
    Route("PUT", "/api/notifications/preferences", NT.UPDATE_PREFERENCES, NT.UpdatePreferences, NT.Preferences, U, "Change my notification preferences", NTF),
    Route("GET", "/api/notifications/webhooks", NT.LIST_WEBHOOKS, Empty, NT.WebhookList, U, "List my webhooks", NTF),
    Route("POST", "/api/notifications/webhooks", NT.CREATE_WEBHOOK, NT.CreateWebhook, NT.Webhook, V, "Register a webhook (secret shown once)", NTF, status=201),
    Route("DELETE", "/api/notifications/webhooks/{id}", NT.DELETE_WEBHOOK, NT.WebhookRef, Ok, U, "Delete a webhook", NTF),
    Route("POST", "/api/notifications/webhooks/{id}/test", NT.TEST_WEBHOOK, NT.WebhookRef, NT.WebhookTestResult, U, "Send a signed test delivery", NTF),
    Route("PUT", "/api/notifications/{id}/read", NT.MARK_READ, NT.NotificationRef, NT.Notification, U, "Mark a notification read", NTF),
    Route("DELETE", "/api/notifications/{id}", NT.DELETE, NT.NotificationRef, Ok, U, "Delete a notification", NTF),
    Route("GET", "/api/admin/notifications/dead-letters", NT.ADMIN_DEAD_LETTERS, NT.ListDeadLetters, NT.DeadLetterPage, ADM, "Deliveries that gave up", ADMIN),
    Route("POST", "/api/admin/notifications/dead-letters/replay", NT.ADMIN_REPLAY, NT.ReplayDeadLetters, NT.Replayed, ADM, "Retry dead-lettered deliveries", ADMIN),
)
