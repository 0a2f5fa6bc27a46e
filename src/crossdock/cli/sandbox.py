"""`crossdock sandbox`: local stand-ins for the systems a demo or a test needs (a real Tryton, a Salesforce sandbox)."""

from __future__ import annotations

import typer

from crossdock.cli.sandbox_salesforce import salesforce_app
from crossdock.cli.sandbox_tryton import tryton_app

sandbox_app = typer.Typer(
    help="Start and stop local stand-ins: a real Tryton ERP, a Salesforce sandbox.", no_args_is_help=True
)
sandbox_app.add_typer(tryton_app, name="tryton")
sandbox_app.add_typer(salesforce_app, name="salesforce")
