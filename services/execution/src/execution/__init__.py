"""The execution service: deployments, live rule evaluation, risk checks, order intents."""
