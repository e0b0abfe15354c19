"""Paper trading: the broker interface filled against the platform's live ticks."""
