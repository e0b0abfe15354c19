"""Shared plumbing with no business meaning."""
