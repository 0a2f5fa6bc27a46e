"""The whole landscape for end-to-end and fault tests: a real Tryton, the Salesforce sandbox, Crossdock between."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from crossdock.bootstrap import Runtime, bootstrap
from crossdock.config import load_settings
from crossdock.demo.actors import CrmUser
from crossdock.demo.landscape import Landscape
from crossdock.sandbox.tryton import tryton_bin_dir

API = "/services/data/v62.0"


@contextmanager
def running_landscape(workdir: Path, **options: Any) -> Iterator[Landscape]:
    """Tryton and the Salesforce sandbox under `workdir` (`options` go to `Landscape`), stopped afterwards; the
    test is skipped where Tryton is not installed."""
    try:
        tryton_bin_dir()
    except RuntimeError as exc:
        pytest.skip(f"no Tryton here: {exc}")
    world = Landscape(workdir, **options)
    world.start()
    try:
        yield world
    finally:
        world.stop()


@asynccontextmanager
async def crossdock_on(config_path: Path, **options: Any) -> AsyncIterator[Runtime]:
    """Crossdock wired by a crossdock.yaml (`options` go to `bootstrap`), closed afterwards."""
    wired = await bootstrap(load_settings(config_path), **options)
    try:
        yield wired
    finally:
        await wired.close()


@pytest.fixture
def landscape(tmp_path: Path) -> Iterator[Landscape]:
    """Tryton and the Salesforce sandbox, started fresh for one test."""
    with running_landscape(tmp_path) as world:
        yield world


@pytest.fixture
async def runtime(landscape: Landscape) -> AsyncIterator[Runtime]:
    """Crossdock wired to the landscape by its crossdock.yaml."""
    async with crossdock_on(landscape.config_path) as wired:
        yield wired


@pytest.fixture
async def sales_user(landscape: Landscape) -> AsyncIterator[CrmUser]:
    """A sales rep working in the CRM."""
    user = CrmUser(landscape)
    try:
        yield user
    finally:
        await user.close()


async def create_accounts(user: CrmUser, count: int, prefix: str = "Acct") -> list[str]:
    """Accounts created in the CRM 200 at a time, as a data import would."""
    return await user.create_many(
        "Account",
        [
            {
                "Name": f"{prefix} {n:05d} Supply",
                "AccountNumber": f"C-{n:05d}",
                "BillingStreet": f"{n} Commerce Pkwy",
                "BillingCity": "Columbus",
                "BillingState": "OH",
                "BillingPostalCode": "43215",
                "BillingCountry": "US",
                "CurrencyIsoCode": "USD",
            }
            for n in range(count)
        ],
    )
