"""The Dhan v2 adapter (STYLE.md 9): client (wire), parsing (pure), errors, execution."""
