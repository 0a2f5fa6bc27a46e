"""SQL repositories behind the Store port, one module per record kind, sharing one transaction."""
