"""The browser tests' world: a seeded day, `crossdock serve` on a loopback port, two console users, and Debian's
Chromium driven by Playwright (never a downloaded browser). Each test saves a screenshot in
$CROSSDOCK_TEST_ARTIFACTS/browser/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.browser.day import Day, seed, start_serve, stop, wait_until_up

CHROMIUM = Path("/usr/bin/chromium")
PASSWORDS = {"ana": "ana-works-the-queues", "bo": "bo-approves-replays"}
ROLES = {"ana": ["operator"], "bo": ["approver", "operator"]}


def artifacts() -> Path:
    folder = Path(os.environ.get("CROSSDOCK_TEST_ARTIFACTS", "test-artifacts")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    """The seeded day with `crossdock serve` running on it."""
    from crossdock.cli import app

    workdir = tmp_path_factory.mktemp("console-day")
    seeded = seed(workdir)
    runner = CliRunner()
    for name, password in PASSWORDS.items():
        roles = [part for role in ROLES[name] for part in ("--role", role)]
        result = runner.invoke(
            app,
            ["--config", str(seeded.config), "console", "users", "add", name, *roles, "--password-stdin"],
            input=f"{password}\n",
        )
        assert result.exit_code == 0, result.output
    log = artifacts() / "serve.log"
    process = start_serve(seeded.config, log)
    try:
        wait_until_up(seeded.url, process, log)
        yield seeded
    finally:
        stop(process)


# Module, not session: while open, sync Playwright runs an event loop on the test thread, and every asyncio test
# after it in the same session would fail ("cannot be called from a running event loop").
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed: `make system-deps` (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def page(day: Day, browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no cookies) per test; its last view is saved as `<test name>.png`."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    opened.screenshot(path=str(artifacts() / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page: Any, day: Day, name: str, path: str = "/console/") -> None:
    """Open a console page and sign in on the form it redirects to."""
    page.goto(f"{day.url}{path}")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
