"""Fault tests kill real worker processes; they share the durable NATS server fixture with the contract suite."""

from tests.contract.conftest import nats_url

__all__ = ["nats_url"]
