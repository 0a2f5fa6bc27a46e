"""The governed HTTP API under /v1."""
