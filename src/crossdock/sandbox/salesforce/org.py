"""One sandbox org: its store, token authority, query engine, faults and call statistics, and how API calls write.

Routes get the org from `request.app.state.org` and the caller from the request's `CallContext`; writes go through
an `OrgTransaction`, which joins the enclosing composite request's unit of work when there is one, so that a
composite request with `allOrNone` commits or rolls back as one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from crossdock.sandbox.salesforce.auth import AuthConfig, Authority
from crossdock.sandbox.salesforce.cdc import ChangeEventBuilder
from crossdock.sandbox.salesforce.dml import Actor, Writer
from crossdock.sandbox.salesforce.faults import Fault, FaultInjector
from crossdock.sandbox.salesforce.query import QueryEngine
from crossdock.sandbox.salesforce.schema import Schema, default_schema
from crossdock.sandbox.salesforce.store import Store, Token, new_org_id, now_text
from crossdock.sandbox.salesforce.unit import Unit

_COMPOSITE_UNIT: ContextVar[Unit | None] = ContextVar("crossdock_salesforce_composite_unit", default=None)
API_VERSION_DEFAULT = "61.0"


@dataclass(frozen=True, slots=True)
class CallContext:
    """An authenticated API call: its version, session and the actor its changes are made by."""

    version: str
    session: Token
    actor: Actor


def change_origin(version: str, call_options: str | None) -> str:
    """`changeOrigin` of a REST change: the client comes from `Sforce-Call-Options: client=<name>`, if sent."""
    client = ""
    for option in (call_options or "").split(","):
        key, _, value = option.strip().partition("=")
        if key.strip().lower() == "client" and value.strip():
            client = value.strip()
    origin = f"com/salesforce/api/rest/{version}"
    return f"{origin};client={client}" if client else origin


class OrgTransaction:
    """The unit of work of one API call; nested inside a composite request it shares the composite's unit."""

    def __init__(self, org: Org, actor: Actor) -> None:
        outer = _COMPOSITE_UNIT.get()
        self.org = org
        self.actor = actor
        self.nested = outer is not None
        self.unit = outer if outer is not None else org.store.begin()
        self.start = self.unit.mark()
        self.writer = Writer(org.store, self.unit, actor, now_text(org.store))

    def commit(self) -> None:
        """Commit (a nested transaction leaves that to its composite request)."""
        if not self.nested:
            self.org.commit(self.unit, self.actor)

    def discard(self) -> None:
        """Drop everything this call staged."""
        self.unit.rollback(self.start)


class Org:
    """The sandbox org behind one app."""

    def __init__(
        self,
        database: Path,
        *,
        auth: AuthConfig,
        admin_token: str,
        daily_api_limit: int = 15000,
        clock: Callable[[], datetime] | None = None,
        faults: list[Fault] | None = None,
        fault_seed: int = 0,
        schema: Schema | None = None,
    ) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.store = Store(database, schema or default_schema(), self.clock)
        self.schema = self.store.schema
        self.admin_token = admin_token
        self.daily_api_limit = daily_api_limit
        self.org_id = self.store.meta_value("org_id", new_org_id)
        self.user_id = self.store.meta_value("user_id", lambda: self.store.allocate_id(self.schema.objects["User"]))
        self.standard_pricebook_id = self.store.meta_value(
            "standard_pricebook_id", lambda: self.store.allocate_id(self.schema.objects["Pricebook2"])
        )
        self._seed(auth.username)
        self.auth = Authority(self.store, auth, org_id=self.org_id, user_id=self.user_id)
        self.queries = QueryEngine(self.store, self.view)
        self.faults = FaultInjector(faults, seed=fault_seed)
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    def _seed(self, username: str) -> None:
        """The integration user and the standard price book exist from the org's first start, like in a real org."""
        if self.store.get(self.user_id) is not None:
            return
        now = now_text(self.store)
        system = {
            "IsDeleted": False,
            "CreatedDate": now,
            "CreatedById": self.user_id,
            "LastModifiedDate": now,
            "LastModifiedById": self.user_id,
            "SystemModstamp": now,
        }
        unit = self.store.begin()
        unit.put(
            "User",
            {
                "Id": self.user_id,
                **system,
                "Username": username,
                "FirstName": "Crossdock",
                "LastName": "Integration",
                "Name": "Crossdock Integration",
                "Email": username,
                "Alias": "xdock",
                "IsActive": True,
            },
            None,
        )
        unit.put(
            "Pricebook2",
            {
                "Id": self.standard_pricebook_id,
                **system,
                "Name": "Standard Price Book",
                "IsActive": True,
                "IsStandard": True,
                "Description": None,
            },
            None,
        )
        self.store.commit(unit, None)

    def view(self) -> Unit:
        """What reads see: the enclosing composite request's unit of work, else the committed records."""
        return _COMPOSITE_UNIT.get() or self.store.begin()

    def transaction(self, actor: Actor) -> OrgTransaction:
        """A unit of work for one API call."""
        return OrgTransaction(self, actor)

    def commit(self, unit: Unit, actor: Actor) -> None:
        """Commit a unit, recording its change events with the actor's change origin."""
        self.store.commit(unit, ChangeEventBuilder(self.schema, actor.user_id, actor.change_origin))

    @contextmanager
    def composite_unit(self) -> Iterator[Unit]:
        """Make the API calls inside a composite request share one unit of work (committed by the caller)."""
        unit = self.store.begin()
        token = _COMPOSITE_UNIT.set(unit)
        try:
            yield unit
        finally:
            _COMPOSITE_UNIT.reset(token)

    def api_usage(self) -> int:
        """API calls counted in the last 24 hours."""
        return self.store.usage(self.clock())

    def close(self) -> None:
        """Close the org's database."""
        self.store.close()
