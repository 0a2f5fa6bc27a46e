"""Console users: added, listed and removed by `crossdock console users`, checked at sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from crossdock.console.audit import record
from crossdock.console.security import burn_time, hash_password, password_problem, verify_password
from crossdock.ports.console import ConsoleRole, ConsoleUser
from crossdock.ports.store import Store

_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


class ConsoleUserError(ValueError):
    """A user cannot be added or changed as asked; the message says what to do instead."""


def parse_roles(names: Iterable[str]) -> frozenset[ConsoleRole]:
    """Roles from their names; an unknown name is refused with the known ones."""
    roles = set()
    for name in names:
        try:
            roles.add(ConsoleRole(name.strip().lower()))
        except ValueError:
            known = ", ".join(role.value for role in ConsoleRole)
            raise ConsoleUserError(f"{name!r} is not a console role; use one or more of: {known}") from None
    if not roles:
        raise ConsoleUserError("give the user at least one role: operator, approver, or both")
    return frozenset(roles)


class ConsoleUsers:
    """The console's user directory on the store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(
        self,
        username: str,
        password: str,
        roles: frozenset[ConsoleRole],
        *,
        display_name: str | None = None,
        actor: str = "crossdock-cli",
        now: datetime | None = None,
    ) -> ConsoleUser:
        """Create a user; ConsoleUserError if the name is taken or the password too weak."""
        if not _USERNAME.match(username):
            raise ConsoleUserError(
                f"{username!r} is not a usable username: start with a letter, then 2-64 of a-z, 0-9, '.', '_', '-'"
            )
        problem = password_problem(password)
        if problem:
            raise ConsoleUserError(f"password refused: {problem}")
        user = ConsoleUser(username, hash_password(password), roles, display_name=display_name, created_at=now)
        with self._store.unit_of_work() as uow:
            if not uow.console.add_user(user):
                raise ConsoleUserError(
                    f"there is already a console user {username!r}; remove it first, or pick another"
                )
            record(uow, actor, "user.add", "user", username, roles=sorted(r.value for r in roles), at=now)
            uow.commit()
        return user

    def set_password(self, username: str, password: str, *, actor: str = "crossdock-cli") -> None:
        """Replace a user's password (their sessions stay valid until they sign out or expire)."""
        problem = password_problem(password)
        if problem:
            raise ConsoleUserError(f"password refused: {problem}")
        with self._store.unit_of_work() as uow:
            user = uow.console.get_user(username)
            if user is None:
                raise ConsoleUserError(f"there is no console user {username!r}; `crossdock console users list`")
            uow.console.update_user(
                ConsoleUser(username, hash_password(password), user.roles, user.display_name, user.created_at)
            )
            record(uow, actor, "user.password", "user", username)
            uow.commit()

    def list(self) -> list[ConsoleUser]:
        """Every user, by name."""
        with self._store.unit_of_work(read_only=True) as uow:
            return uow.console.list_users()

    def remove(self, username: str, *, actor: str = "crossdock-cli") -> bool:
        """Delete a user and end their sessions; False when there was none."""
        with self._store.unit_of_work() as uow:
            removed = uow.console.remove_user(username)
            if removed:
                record(uow, actor, "user.remove", "user", username)
                uow.commit()
        return removed

    def authenticate(self, username: str, password: str) -> ConsoleUser | None:
        """The user, if the password is theirs; an unknown name takes as long to refuse as a wrong password."""
        with self._store.unit_of_work(read_only=True) as uow:
            user = uow.console.get_user(username)
        if user is None:
            burn_time(password)
            return None
        return user if verify_password(password, user.password_hash) else None
