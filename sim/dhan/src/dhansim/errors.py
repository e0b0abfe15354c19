"""Dhan error shapes: trading-API errors and data-API errors."""

from __future__ import annotations

GENERIC_INPUT = "Missing required fields, bad values for parameters etc."
BAD_AUTH = "Client ID or user generated access token is invalid or expired."
RATE_LIMIT = ("Too many requests on server from single user breaching rate limits. "
              "Try throttling API calls.")
BAD_ORDER = "Incorrect request for order and cannot be processed"


class ApiError(Exception):
    """A trading-API error rendered as {errorType, errorCode, errorMessage}."""

    def __init__(self, status: int, error_type: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.code, self.message = status, error_type, code, message

    def body(self) -> dict:
        """Return the JSON body Dhan sends."""
        return {"errorType": self.error_type, "errorCode": self.code,
                "errorMessage": self.message}


def bad_input(message: str = GENERIC_INPUT) -> ApiError:
    """Return a DH-905 error."""
    return ApiError(400, "Input_Exception", "DH-905", message)


def bad_auth() -> ApiError:
    """Return a DH-901 error."""
    return ApiError(401, "Invalid_Authentication", "DH-901", BAD_AUTH)


def rate_limited() -> ApiError:
    """Return a DH-904 error."""
    return ApiError(429, "Rate_Limit", "DH-904", RATE_LIMIT)


def order_error(message: str = BAD_ORDER, status: int = 400) -> ApiError:
    """Return a DH-906 error."""
    return ApiError(status, "Order_Error", "DH-906", message)


def internal_error() -> ApiError:
    """Return a DH-908 error."""
    return ApiError(500, "Internal_Server_Error", "DH-908", "Internal server error")


class DataError(Exception):
    """A data-API error rendered as {"status":"failed","data":{code:message}}."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> dict:
        """Return the JSON body Dhan sends."""
        return {"status": "failed", "data": {str(self.code): self.message}}
