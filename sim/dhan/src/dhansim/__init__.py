"""Wire-compatible simulator of the DhanHQ v2 trading API."""

__version__ = "0.1.0"
