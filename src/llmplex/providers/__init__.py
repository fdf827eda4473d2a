"""Provider adapters: pure translation between the unified API and each provider's wire protocol.

Nothing in this package opens a connection, sleeps, reads the clock or the environment.
"""
