"""Notify service: turn user events into notifications and deliver them."""
