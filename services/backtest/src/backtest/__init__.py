"""Strategies, backtest jobs, results and analytics (ARCHITECTURE.md §2 backtest)."""
