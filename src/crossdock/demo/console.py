"""The demo's console logins: an operator who works the queues and an approver who approves sensitive replays,
with passwords made up for this run and printed once at the end of `make demo`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from crossdock.console.users import ConsoleUsers
from crossdock.ports.console import ConsoleRole
from crossdock.ports.store import Store

DEMO_USERS = (
    ("operator", "Olivia Operator", frozenset({ConsoleRole.OPERATOR})),
    ("approver", "Arjun Approver", frozenset({ConsoleRole.APPROVER, ConsoleRole.OPERATOR})),
)


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """A console user made for the demo."""

    username: str
    password: str
    roles: str


def create_demo_logins(store: Store) -> list[DemoLogin]:
    """Add the demo's console users to a fresh demo store (it is made anew each run)."""
    users = ConsoleUsers(store)
    made = []
    for username, name, roles in DEMO_USERS:
        password = f"demo-{secrets.token_urlsafe(9)}"
        users.add(username, password, roles, display_name=name, actor="crossdock-demo")
        made.append(DemoLogin(username, password, ", ".join(sorted(role.value for role in roles))))
    return made
