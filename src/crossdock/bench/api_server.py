"""The server side of `crossdock bench api`, run in a child process: the real API on a fresh SQLite store and log
(synchronous=FULL: a 202 means the order is on disk), or a bare FastAPI endpoint for the baseline.

`python -m crossdock.bench.api_server real <workdir> <port>` prints one JSON line with the tokens the load
generator uses, then serves until killed; `... bare <workdir> <port>` serves `POST /bare` only.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.responses import Response

from crossdock.cli.common import tune_gc_for_serving

SAMPLING_RATIO = 0.01


def bare_app() -> FastAPI:
    """One POST route answering 202 with a small JSON body: what FastAPI costs with nothing behind it."""
    app = FastAPI()

    @app.post("/bare", status_code=202)
    async def bare() -> Response:
        return Response(b'{"status":"submitted"}', status_code=202, media_type="application/json")

    return app


async def _real(workdir: Path, port: int) -> None:
    from crossdock.api.app import create_app
    from crossdock.api.clients import create_client
    from crossdock.api.security.scopes import Scope
    from crossdock.bootstrap import bootstrap
    from crossdock.cli.intake_process import start_order_intake
    from crossdock.config import Settings
    from crossdock.ports.api import ClientKind

    settings = Settings(
        database_url=f"sqlite:///{workdir / 'store.db'}",
        event_log="sqlite",
        event_log_url=str(workdir / "log.db"),
        api={"port": port},
        # Traced as a busy API is: 1 request in 100 recorded, the rest carry an unsampled trace id (the default, 1.0,
        # records every request, which costs an order request about as much again; the JSON says which was run).
        observability={"sampling_ratio": SAMPLING_RATIO},
    )
    runtime = await bootstrap(settings)
    # As `crossdock serve` runs it: orders stored by the intake process beside the API (api.order_intake).
    context = runtime.api_context(order_intake=start_order_intake(runtime))
    tokens = []
    for n in range(4):
        client_id = f"bench-partner-{n}"
        create_client(
            runtime.store,
            name=client_id,
            kind=ClientKind.PARTNER,
            scopes=[Scope.ORDERS_WRITE, Scope.ORDERS_READ],
            now=context.clock(),
            partner_id=f"cus-bench-{n}",
            client_id=client_id,
            rate_plan="bench",
        )
        issued = context.issuer.issue(
            client_id=client_id,
            kind=ClientKind.PARTNER,
            scopes=[Scope.ORDERS_WRITE, Scope.ORDERS_READ],
            partner_id=f"cus-bench-{n}",
            ttl_s=3600,
        )
        tokens.append(issued.access_token)
    print(json.dumps({"tokens": tokens}), flush=True)
    config = uvicorn.Config(create_app(context), host="127.0.0.1", port=port, log_level="error", access_log=False)
    tune_gc_for_serving()  # as `crossdock serve` does
    try:
        await uvicorn.Server(config).serve()
    finally:
        context.close()


def main() -> None:
    """Serve the real or the bare app on 127.0.0.1:<port>."""
    kind, workdir, port = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    if kind == "bare":
        print(json.dumps({"tokens": []}), flush=True)
        app = bare_app()
        tune_gc_for_serving()  # the baseline gets what the real API gets
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)
    else:
        run_fast(_real(workdir, port))


def run_fast(main: Coroutine[Any, Any, None]) -> None:
    """On uvloop when installed, as uvicorn runs the bare app and `crossdock serve` runs the real one."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


if __name__ == "__main__":
    main()
