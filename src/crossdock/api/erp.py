"""The ERP behind the process APIs (credit, availability, prices): its order desk, whose account a caller may ask
about, the customer's party in the ERP, and every way the ERP can fail answered as a 503 with Retry-After.

A caller that cannot be answered now is told when to come back; it is never kept waiting longer than
`ERP_TIMEOUT_S`, and not at all while the ERP's circuit is open (the sync flows, or other callers, found it down
moments ago). These calls count toward the circuit as the flows' calls do.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from crossdock.api.problems import ProblemError, forbidden, invalid
from crossdock.api.security.tokens import Principal
from crossdock.ports.api import ClientKind
from crossdock.ports.connector import ConnectorError
from crossdock.ports.orders import OrderDesk
from crossdock.ports.store import UnitOfWork
from crossdock.sync.resilience import OUTAGE_KINDS, CircuitBreaker, CircuitState, GuardedConnector

if TYPE_CHECKING:
    from crossdock.api.context import ApiContext

T = TypeVar("T")
logger = logging.getLogger(__name__)

ERP_TIMEOUT_S = 10.0  # an API caller is better served by a quick 503 (or a stale answer) than by a hung request
DEFAULT_RETRY_AFTER_S = 10.0
SERVICE_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "The ERP cannot answer now (or none is configured); retry after `Retry-After` seconds",
        "content": {"application/problem+json": {}},
        "headers": {"Retry-After": {"schema": {"type": "string"}}},
    }
}


class ErpUnavailableError(Exception):
    """The ERP did not answer: down, slow, refusing, or its circuit open. Retrying later may work."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s if retry_after_s and retry_after_s > 0 else DEFAULT_RETRY_AFTER_S

    def problem(self) -> ProblemError:
        """The 503 a caller gets: what happened and when to try again."""
        retry_after = str(max(1, math.ceil(self.retry_after_s)))
        return ProblemError(
            503,
            "erp-unavailable",
            "The ERP is not answering",
            f"{self} Try again in {retry_after} s.",
            headers={"Retry-After": retry_after},
        )


def order_desk(ctx: ApiContext) -> tuple[OrderDesk, str]:
    """The ERP's order desk and system name, or a 503 saying that this API has none configured."""
    if ctx.order_desk is None or ctx.erp_system is None:
        raise ProblemError(
            503,
            "erp-not-configured",
            "No ERP configured",
            "this Crossdock has no ERP to ask: add an `orders:` section naming the erp system to crossdock.yaml "
            "and restart the API",
        )
    return ctx.order_desk, ctx.erp_system


def account_for(principal: Principal, customer_id: str | None) -> str:
    """The customer the caller asks about: a partner asks about its own account only (object-level check)."""
    if principal.kind is ClientKind.PARTNER:
        if customer_id is not None and customer_id != principal.partner_id:
            raise forbidden("a partner may ask about its own account only; leave customer_id out")
        assert principal.partner_id is not None  # a partner token always names its partner
        return principal.partner_id
    if customer_id is None:
        raise invalid("customer_id is required: name the customer's canonical id")
    return customer_id


async def erp_party(ctx: ApiContext, customer_id: str, erp_system: str) -> str:
    """The customer's id in the ERP, by cross-reference; 404 when the customer has not reached the ERP."""

    def find(uow: UnitOfWork) -> str | None:
        ref = uow.xrefs.find_local("customer", customer_id, erp_system)
        return None if ref is None else ref.local_id

    local_id = await ctx.read(find)
    if local_id is None:
        raise ProblemError(
            404,
            "not-found",
            "Not found",
            f"customer {customer_id} is not known to the ERP ({erp_system}); if it was created recently, the "
            "customer flow may not have delivered it yet: try again later (a POST with a new Idempotency-Key), or ask "
            "the operator to trace it",
        )
    return local_id


def _breaker(ctx: ApiContext, system: str) -> CircuitBreaker | None:
    connector = ctx.connectors.get(system)
    return connector.breaker if isinstance(connector, GuardedConnector) else None


def _circuit_wait_s(breaker: CircuitBreaker) -> float | None:
    """Seconds until the system may be called, read without disturbing the breaker (no probe is taken): while its
    circuit is open, or while it asked to be left alone (`Retry-After`)."""
    now = breaker.clock()
    if breaker.state is CircuitState.OPEN:
        remaining = breaker.opened_at + breaker.cooldown_s - now
        if remaining > 0:
            return remaining
    held = breaker.held_until - now
    return held if held > 0 else None


async def ask_erp(ctx: ApiContext, system: str, what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run one ERP call with a deadline; any failure of the ERP becomes `ErpUnavailableError`.

    The call counts toward the system's circuit as the sync flows' calls do: callers asking a dead ERP open it
    (and the flows' deliveries then wait instead of failing one by one), and an answer closes it again.
    """
    breaker = _breaker(ctx, system)
    if breaker is not None and (wait := _circuit_wait_s(breaker)) is not None:
        reason = "is down (its circuit is open)" if breaker.state is CircuitState.OPEN else "asked us to wait"
        raise ErpUnavailableError(f"{system} {reason} and cannot {what}.", wait)
    try:
        async with asyncio.timeout(ERP_TIMEOUT_S):
            result = await call()
    except ConnectorError as error:
        logger.warning("%s could not %s: %s", system, what, error)
        if breaker is not None and error.kind in OUTAGE_KINDS:
            breaker.failed(error.retry_after_s)
        raise ErpUnavailableError(f"{system} could not {what}: {error}.", error.retry_after_s) from None
    except TimeoutError:
        logger.warning("%s did not %s within %s s", system, what, ERP_TIMEOUT_S)
        if breaker is not None:
            breaker.failed()
        raise ErpUnavailableError(f"{system} did not {what} within {ERP_TIMEOUT_S:g} s.") from None
    except (httpx.HTTPError, OSError) as error:
        # Connectors classify their failures as ConnectorError; a raw transport error means one slipped through.
        logger.warning("%s could not %s: %s: %s", system, what, type(error).__name__, error)
        if breaker is not None:
            breaker.failed()
        raise ErpUnavailableError(f"{system} could not {what} ({type(error).__name__}).") from None
    if breaker is not None:
        breaker.succeeded()
    return result


def settled(outcome: T | BaseException) -> T:
    """The result of an ERP call gathered with `return_exceptions=True`; an outage as its 503, other errors as is."""
    if isinstance(outcome, ErpUnavailableError):
        raise outcome.problem()
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
