"""Tryton buttons and wizards as the order desk presses them: expected warnings acknowledged, wizards run by state.

A button that stops at a UserWarning is acknowledged here only when the warning is one the order desk expects and
means to pass (named by the warning's suffix, such as `invoice_taxes`): the client's `acknowledge_warnings` setting
may be off, and an unexpected warning must still fail the call as data quality for a person to look at.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from types import TracebackType
from typing import Any

from crossdock.connectors.tryton.client import TrytonClient, TrytonError


async def press(
    client: TrytonClient, model: str, button: str, ids: Sequence[int], *, expected_warnings: Collection[str] = ()
) -> None:
    """Press `button` on records `ids`; a UserWarning whose name ends with one of `expected_warnings` is passed."""
    if not ids:
        return
    # Tryton raises one warning per record and call (each acknowledgement is consumed by the repeated call), so
    # several records may need several rounds; a warning that comes back beyond that is not being passed.
    for _ in range(len(ids) * max(len(expected_warnings), 1) + 1):
        try:
            await client.execute(model, button, list(ids))
            return
        except TrytonError as exc:
            key = exc.fault.warning_key if exc.fault is not None else None
            if key is None or key.rsplit(".", 1)[-1] not in expected_warnings:
                raise
        await client.create("res.user.warning", [{"user": client.uid, "name": key, "always": False}])
    await client.execute(model, button, list(ids))


class Wizard:
    """One session of a Tryton wizard on records of `model`: `execute` a state with the forms filled so far."""

    def __init__(self, client: TrytonClient, name: str, model: str, ids: Sequence[int]) -> None:
        self._client = client
        self._name = name
        self._context = {"active_model": model, "active_id": ids[0] if ids else None, "active_ids": list(ids)}
        self._session: int | None = None
        self.start = ""

    async def __aenter__(self) -> Wizard:
        self._session, self.start, _ = await self._client.call(f"wizard.{self._name}.create", context=self._context)
        return self

    async def execute(self, state: str, forms: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """Run `state` with `forms` (view state → field values); the next view (`view`) or the actions it answers."""
        result = await self._client.call(
            f"wizard.{self._name}.execute", self._session, dict(forms or {}), state, context=self._context
        )
        return dict(result) if isinstance(result, Mapping) else {}

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._client.call(f"wizard.{self._name}.delete", self._session, context=self._context)


def view_defaults(result: Mapping[str, Any]) -> dict[str, Any]:
    """The default values of the view a wizard step answered with (empty when it answered none)."""
    view = result.get("view")
    if not isinstance(view, Mapping):
        return {}
    defaults = view.get("defaults")
    return dict(defaults) if isinstance(defaults, Mapping) else {}


def view_state(result: Mapping[str, Any]) -> str | None:
    """The state whose view a wizard step answered with, or None when it ended."""
    view = result.get("view")
    return str(view["state"]) if isinstance(view, Mapping) and view.get("state") else None
