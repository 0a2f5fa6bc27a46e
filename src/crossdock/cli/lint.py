"""`crossdock lint`: checks a configuration beyond what loading requires. Today: the governance catalogue, in which
every flow names its business and technical owners, its system of record, its SLA target, its criticality and
its escalation path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from crossdock.cli.common import console, errors, fail
from crossdock.config import ConfigError, Settings, load_settings
from crossdock.config.sections import GOVERNANCE_FIELDS
from crossdock.config.yaml_lines import _read_yaml

_EXAMPLES = {
    "business_owner": "business_owner: Head of Sales Operations",
    "technical_owner": "technical_owner: Integration team",
    "system_of_record": "system_of_record: <the system whose data wins>",
    "sla_target": "sla_target: 15m",
    "criticality": "criticality: high  (low, medium, high or critical)",
    "escalation_path": "escalation_path: [integration-oncall@yourcompany.example]",
}


def governance_problems(settings: Settings) -> list[str]:
    """One message per flow whose governance is incomplete, saying where the flow is and what to add."""
    lines = _read_yaml(settings.config_file)[1] if settings.config_file is not None else {}
    problems = []
    for index, flow in enumerate(settings.flows):
        missing = flow.governance.missing()
        if not missing:
            continue
        line = lines.get(("flows", index, "governance")) or lines.get(("flows", index))
        where = f"{settings.config_file}:{line}: " if settings.config_file is not None and line else ""
        additions = "; ".join(_EXAMPLES[name] for name in missing)
        problems.append(
            f"{where}flow {flow.name!r} has no {', '.join(missing)} in its governance. "
            f"Add under the flow's `governance:` {additions}"
        )
    return problems


def lint(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="crossdock.yaml to check (default: as for every command)")
    ] = None,
) -> None:
    """Check the configuration: every flow must declare its owners, system of record, SLA target, criticality and
    escalation path. Exits 1, listing what to add per flow, when one does not."""
    path = config or ((ctx.obj or {}).get("config") if ctx.obj else None)
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        fail(str(exc))
    problems = governance_problems(settings)
    for problem in problems:
        errors.print(f"[bold red]lint:[/] {escape(problem)}", highlight=False, markup=True)
    if problems:
        errors.print(f"{len(problems)} flow(s) need governance ({', '.join(GOVERNANCE_FIELDS)}).", highlight=False)
        raise typer.Exit(1)
    where = settings.config_file or "the defaults"
    console.print(f"{where}: {len(settings.flows)} flow(s), governance complete.", highlight=False)
