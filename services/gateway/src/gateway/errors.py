"""Every HTTP error in the §6 shape, including the framework's own 404/405/422."""

from __future__ import annotations

from typing import Any

from contracts.errors import ApiError, ErrorCode, FieldError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from svckit.logging import get_logger
from svckit.micro import validation_details

log = get_logger(__name__)

_BY_STATUS = {
    400: ErrorCode.VALIDATION_ERROR,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


class HttpError(Exception):
    """Raise anywhere in a request to answer with this error."""

    def __init__(self, error: ApiError, headers: dict[str, str] | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.headers = headers or {}

    @classmethod
    def of(cls, code: ErrorCode, message: str | None = None,
           details: list[FieldError] | dict[str, Any] | None = None,
           headers: dict[str, str] | None = None) -> HttpError:
        """Build from an error code."""
        return cls(ApiError.of(code, message, details), headers)


def error_response(err: ApiError, headers: dict[str, str] | None = None,
                   status: int | None = None) -> Response:
    """Render an ApiError as a JSON response with its status."""
    hdrs = dict(headers or {})
    if err.error is ErrorCode.RATE_LIMITED and "Retry-After" not in hdrs:
        hdrs["Retry-After"] = str(retry_after(err))
    return JSONResponse(err.model_dump(mode="json", exclude_none=True),
                        status_code=status or err.code, headers=hdrs)


def retry_after(err: ApiError) -> int:
    """Return the seconds to wait that a RATE_LIMITED error carries (at least 1)."""
    if isinstance(err.details, dict):
        for key in ("retryAfter", "retry_after", "retryAfterS"):
            value = err.details.get(key)
            if isinstance(value, int | float) and value > 0:
                return max(1, int(value + 0.999))
    return 1


def validation_error(exc: ValidationError) -> HttpError:
    """Turn a pydantic error about the request into 400 VALIDATION_ERROR with field details."""
    return HttpError.of(ErrorCode.VALIDATION_ERROR, details=validation_details(exc))


def install(app: FastAPI) -> None:
    """Register the handlers that keep every error in the §6 shape."""

    @app.exception_handler(HttpError)
    async def _http_error(_req: Request, exc: HttpError) -> Response:
        return error_response(exc.error, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _framework(req: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            # No METHOD_NOT_ALLOWED code exists in §6; keep the honest status and say why.
            err = ApiError(error=ErrorCode.VALIDATION_ERROR, code=405,
                           message=f"Method {req.method} is not allowed on {req.url.path}")
            return error_response(err, dict(exc.headers or {}), status=405)
        code = _BY_STATUS.get(exc.status_code)
        if code is None:
            code = ErrorCode.INTERNAL_ERROR if exc.status_code >= 500 else ErrorCode.VALIDATION_ERROR
        message = None
        if exc.status_code == 404:
            message = f"No such endpoint: {req.method} {req.url.path}"
        return error_response(ApiError.of(code, message), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> Response:
        details = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
            details.append(FieldError(field=loc or "body",
                                      message=str(e.get("msg", "Invalid value"))))
        return error_response(ApiError.of(ErrorCode.VALIDATION_ERROR, details=details))

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> Response:
        log.exception("http.unhandled", path=req.url.path)
        return error_response(ApiError.of(ErrorCode.INTERNAL_ERROR))
