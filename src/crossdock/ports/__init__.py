"""Ports: the small interfaces the core needs. Adapters live in `log/`, `store/` and `connectors/`."""
