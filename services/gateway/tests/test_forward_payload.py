"""What the gateway forwards is what the user sent: secrets included, money exact."""

from decimal import Decimal

import orjson
from contracts.api import ApiModel
from contracts.brokerage import LinkAccount
from gateway.forward import wire_payload
from pydantic import SecretStr


def test_secret_fields_are_forwarded_unmasked():
    model = LinkAccount.model_validate(
        {"broker": "dhan", "dhanClientId": "1100000001", "accessToken": "eyJ-real-token"})
    assert orjson.loads(wire_payload(model))["accessToken"] == "eyJ-real-token"


def test_decimals_stay_exact_and_unset_fields_stay_out():
    class Req(ApiModel):
        price: Decimal
        note: str | None = None
        secret: SecretStr | None = None

    body = orjson.loads(wire_payload(Req.model_validate({"price": "2885.05"})))
    assert body == {"price": "2885.05"}
