"""Order and trade records and their Dhan wire shapes (REST book and order-update socket)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dhansim.clock import IST
from dhansim.instruments import Instrument

OPEN_STATUSES = frozenset({"TRANSIT", "PENDING", "PART_TRADED"})
NO_TIME = "0001-01-01 00:00:00"
_PRODUCT_CODE = {"CNC": "C", "INTRADAY": "I", "MARGIN": "M", "MTF": "F", "CO": "V", "BO": "B"}
_TYPE_CODE = {"LIMIT": "LMT", "MARKET": "MKT", "STOP_LOSS": "SL", "STOP_LOSS_MARKET": "SLM"}
_SEGMENT_LETTER = {"NSE_EQ": "E", "BSE_EQ": "E", "NSE_FNO": "D", "BSE_FNO": "D",
                   "NSE_CURRENCY": "C", "BSE_CURRENCY": "C", "MCX_COMM": "M"}


def fmt_time(ts: datetime | None) -> str:
    """Format a time as Dhan's 'YYYY-MM-DD HH:MM:SS' IST string."""
    return ts.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S") if ts else NO_TIME


@dataclass
class Order:
    """One order in a client's book."""

    order_id: str
    client_id: str
    inst: Instrument
    correlation_id: str
    txn: str
    product: str
    order_type: str  # as shown in the book (MARKET is shown as its protected LIMIT)
    requested_type: str  # as sent by the client
    validity: str
    quantity: int
    disclosed: int
    price: float
    trigger: float
    amo: bool
    bo_profit: float
    bo_stop: float
    created: datetime
    status: str = "TRANSIT"
    updated: datetime | None = None
    exchange_time: datetime | None = None
    exchange_order_id: str = ""
    oms_code: str = "0"
    oms_desc: str = ""
    filled: int = 0
    avg_price: float = 0.0
    last_fill_price: float = 0.0
    triggered: bool = False
    modifications: int = 0
    last_seq: tuple | None = None
    leg_name: str = "NA"
    blocked: float = 0.0  # funds held back for the unfilled quantity
    trades: list = field(default_factory=list)

    @property
    def remaining(self) -> int:
        """Return the unfilled quantity."""
        return self.quantity - self.filled

    @property
    def is_open(self) -> bool:
        """Tell whether the order can still trade."""
        return self.status in OPEN_STATUSES

    def to_book(self) -> dict:
        """Render the order as GET /orders shows it."""
        inst = self.inst
        return {
            "dhanClientId": self.client_id, "orderId": self.order_id,
            "exchangeOrderId": self.exchange_order_id, "correlationId": self.correlation_id,
            "orderStatus": self.status, "transactionType": self.txn,
            "exchangeSegment": inst.segment, "productType": self.product,
            "orderType": self.order_type, "validity": self.validity,
            "tradingSymbol": inst.symbol, "securityId": inst.security_id,
            "quantity": self.quantity, "disclosedQuantity": self.disclosed,
            "price": self.price, "triggerPrice": self.trigger,
            "afterMarketOrder": self.amo, "boProfitValue": self.bo_profit,
            "boStopLossValue": self.bo_stop, "legName": self.leg_name,
            "createTime": fmt_time(self.created), "updateTime": fmt_time(self.updated),
            "exchangeTime": fmt_time(self.exchange_time),
            "drvExpiryDate": inst.expiry_date_text, "drvOptionType": inst.option_kind,
            "drvStrikePrice": inst.strike, "omsErrorCode": self.oms_code,
            "omsErrorDescription": self.oms_desc, "algoId": "0",
            "remainingQuantity": self.remaining, "averageTradedPrice": self.avg_price,
            "filledQty": self.filled,
        }

    def to_alert(self, ref_ltp: float) -> dict:
        """Render the order as an order-update socket frame."""
        inst = self.inst
        return {"Data": {
            "Exchange": inst.exchange, "Segment": _SEGMENT_LETTER.get(inst.segment, "E"),
            "Source": "P", "SecurityId": inst.security_id, "ClientId": self.client_id,
            "ExchOrderNo": self.exchange_order_id, "OrderNo": self.order_id,
            "Product": _PRODUCT_CODE.get(self.product, "I"),
            "TxnType": self.txn[0], "OrderType": _TYPE_CODE[self.order_type],
            "Validity": self.validity, "DiscQuantity": self.disclosed,
            "DiscQtyRem": self.disclosed, "RemainingQuantity": self.remaining,
            "Quantity": self.quantity, "TradedQty": self.filled, "Price": self.price,
            "TriggerPrice": self.trigger, "TradedPrice": self.last_fill_price,
            "AvgTradedPrice": self.avg_price, "AlgoOrdNo": None,
            "OffMktFlag": "1" if self.amo else "0",
            "OrderDateTime": fmt_time(self.created),
            "ExchOrderTime": fmt_time(self.exchange_time),
            "LastUpdatedTime": fmt_time(self.updated), "Remarks": "NR", "MktType": "NL",
            "ReasonDescription": self.oms_desc, "LegNo": 1, "Instrument": inst.instrument,
            "Symbol": inst.symbol, "ProductName": self.product, "Status": self.status,
            "LotSize": inst.lot_size, "StrikePrice": inst.strike or None,
            "ExpiryDate": fmt_time(inst.expiry) if inst.expiry else NO_TIME,
            "OptType": inst.option_type, "DisplayName": inst.display_name, "Isin": "NA",
            "Series": inst.series, "GoodTillDaysDate": self.created.astimezone(IST)
            .strftime("%Y-%m-%d"), "RefLtp": ref_ltp, "TickSize": inst.tick_size,
            "AlgoId": "0", "Multiplier": 1, "CorrelationId": self.correlation_id,
        }, "Type": "order_alert"}


@dataclass
class Trade:
    """One fill."""

    order: Order
    trade_id: str
    qty: int
    price: float
    at: datetime

    def to_book(self) -> dict:
        """Render the fill as GET /trades shows it."""
        o, inst = self.order, self.order.inst
        return {
            "dhanClientId": o.client_id, "orderId": o.order_id,
            "exchangeOrderId": o.exchange_order_id, "exchangeTradeId": self.trade_id,
            "transactionType": o.txn, "exchangeSegment": inst.segment,
            "productType": o.product, "orderType": o.order_type,
            "tradingSymbol": inst.symbol, "customSymbol": inst.display_name,
            "securityId": inst.security_id, "tradedQuantity": self.qty,
            "tradedPrice": self.price, "createTime": fmt_time(self.at),
            "updateTime": fmt_time(self.at), "exchangeTime": fmt_time(self.at),
            "drvExpiryDate": inst.expiry_date_text if inst.expiry else None,
            "drvOptionType": inst.option_kind if inst.is_option else None,
            "drvStrikePrice": inst.strike,
        }
