"""The durable NATS server launcher lives in the package (benchmarks use it too); tests import it from here."""

from crossdock.sandbox.nats_server import durable_nats_server, free_port, nats_server_binary, nats_server_process

__all__ = ["durable_nats_server", "free_port", "nats_server_binary", "nats_server_process"]
