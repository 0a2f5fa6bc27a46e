"""Fault tests kill real worker processes; they share the durable NATS server fixture with the contract suite."""

from tests.contract.conftest import nats_url
from tests.support.landscape import landscape, runtime, sales_user

__all__ = ["landscape", "nats_url", "runtime", "sales_user"]
