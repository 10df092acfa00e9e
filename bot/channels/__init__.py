"""Channels: how messages reach the service (inbound) and leave it (outbound)."""
