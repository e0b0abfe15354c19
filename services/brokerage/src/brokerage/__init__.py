"""The brokerage service: linked accounts, broker adapters, orders exactly once, portfolio."""
