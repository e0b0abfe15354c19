"""Everything checked before a deployment starts, each problem as a field error."""

from __future__ import annotations

from dataclasses import dataclass

from contracts import execution as ex
from contracts.backtest import Strategy
from contracts.brokerage import Account, AccountStatus, Broker
from contracts.errors import FieldError
from contracts.marketdata import Instrument
from strategy import RuleSyntaxError, parse
from svckit.errors import RemoteError, Unavailable

from .clients import Clients
from .errors import DeploymentRejected


@dataclass
class Checked:
    """The facts a valid deploy request resolved to."""

    strategy: Strategy
    account: Account
    instrument: Instrument
    product: str


def product_for(strategy_product: str, segment: str) -> str:
    """Map the strategy's product to the broker's (F&O carries forward as MARGIN)."""
    if strategy_product == "intraday":
        return "INTRADAY"
    return "MARGIN" if segment.endswith("FNO") else "CNC"


async def check(clients: Clients, user_id: str, req: ex.CreateDeployment) -> Checked:
    """Resolve and validate a deploy request; raise DeploymentRejected listing every problem."""
    errors: list[FieldError] = []

    def bad(field: str, message: str) -> None:
        errors.append(FieldError(field=field, message=message))

    strategy = account = instrument = None
    try:
        strategy = await clients.strategy(user_id, req.strategy_id, req.strategy_version)
    except RemoteError as exc:
        bad("strategyId", f"strategy not found ({exc.api_error.message})")
    try:
        account = await clients.account(user_id, req.account_id)
    except RemoteError:
        bad("accountId", "no linked account with this id")
    if strategy is None or account is None:
        raise DeploymentRejected("The deployment cannot start", errors)
    if strategy.status == "archived":
        bad("strategyId", "the strategy is archived")
    for field, text in (("entryRule", strategy.entry_rule), ("exitRule", strategy.exit_rule)):
        try:
            parse(text)
        except RuleSyntaxError as exc:
            bad(field, f"the strategy's rule is invalid: {exc}")
    if account.status is not AccountStatus.ACTIVE:
        bad("accountId", f"the account is {account.status.value}; it must be active")
    if account.kill_switch:
        bad("accountId", "the account's kill switch is on")
    if account.broker is Broker.DHAN:
        if not req.risk_acknowledged:
            bad("riskAcknowledged", "live trading needs the risk warning acknowledged")
        if account.status is AccountStatus.ACTIVE:
            try:
                test = await clients.test_account(user_id, req.account_id)
                if not test.ok:
                    bad("accountId", f"the broker refused the account's token: {test.message}")
            except (RemoteError, Unavailable) as exc:
                bad("accountId", f"the broker could not be reached: {exc}")
    seg, sid = strategy.instrument.segment, strategy.instrument.security_id
    try:
        instrument = await clients.instrument(seg, sid)
    except RemoteError:
        bad("strategyId", f"instrument {seg}/{sid} is not in the instrument master")
    except Unavailable:
        bad("strategyId", "market data is unavailable; the instrument cannot be checked")
    if seg == "IDX_I":
        bad("strategyId", "an index cannot be traded; deploy on a stock or a derivative")
    product = product_for(strategy.product_type, seg)
    if product == "CNC" and strategy.direction == "short":
        bad("strategyId", "a delivery (CNC) strategy cannot sell short; use intraday")
    lot = instrument.lot_size if instrument is not None else 1
    quantity = req.quantity or strategy.position_size
    if req.max_quantity is not None and quantity * lot > req.max_quantity:
        bad("maxQuantity", f"a position is {quantity * lot} units, above maxQuantity")
    if req.account_daily_loss_limit is not None and req.daily_loss_limit is not None \
            and req.daily_loss_limit > req.account_daily_loss_limit:
        bad("dailyLossLimit", "must not exceed accountDailyLossLimit")
    if errors or instrument is None:
        raise DeploymentRejected("The deployment cannot start", errors)
    return Checked(strategy, account, instrument, product)
