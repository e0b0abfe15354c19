"""Broker adapters: one interface (`base.BrokerAdapter`), a Dhan and a paper implementation."""
