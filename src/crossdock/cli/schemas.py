"""`crossdock schemas`: the event schema registry (list, check compatibility, export)."""

from crossdock.cli_schemas import schemas_app

__all__ = ["schemas_app"]
