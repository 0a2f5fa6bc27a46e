"""Rate plans as token buckets, their RateLimit headers, and the bounds on request bodies and JSON documents."""

from __future__ import annotations

import re
import threading
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossdock.api.limits import (
    DEFAULT_PLANS,
    MAX_BODY_BYTES,
    MAX_JSON_DEPTH,
    MAX_PAGE_SIZE,
    RateDecision,
    RatePlan,
    RequestTooComplexError,
    TokenBucketLimiter,
    check_json_shape,
    ratelimit_headers,
)
from tests.unit.api.conftest import FakeClock

PARTNER = DEFAULT_PLANS["partner"]  # 50/s, burst 100


@pytest.fixture
def clock() -> FakeClock:
    """A monotonic clock starting at zero, so the refill arithmetic below stays exact in binary floating point."""
    return FakeClock(0.0)


@pytest.fixture
def limiter(clock: FakeClock) -> TokenBucketLimiter:
    """A limiter on the fake clock."""
    return TokenBucketLimiter(clock=clock)


def drain(limiter: TokenBucketLimiter, key: str, plan: RatePlan) -> int:
    """Take until refused; return how many were allowed."""
    allowed = 0
    while limiter.take(key, plan).allowed:
        allowed += 1
    return allowed


# -- the bucket -----------------------------------------------------------------------------------------------------


def test_the_default_plans() -> None:
    assert (PARTNER.requests_per_second, PARTNER.burst) == (50, 100)
    internal = DEFAULT_PLANS["internal"]
    assert (internal.requests_per_second, internal.burst) == (2000, 4000)
    assert DEFAULT_PLANS["bench"].burst >= 1_000_000_000


def test_a_new_client_may_send_its_burst_at_once_and_no_more(limiter: TokenBucketLimiter) -> None:
    decisions = [limiter.take("cl_acme", PARTNER) for _ in range(101)]
    assert all(d.allowed for d in decisions[:100])
    assert [d.remaining for d in decisions[:3]] == [99, 98, 97]
    assert decisions[99].remaining == 0
    refused = decisions[100]
    assert refused == RateDecision(allowed=False, limit=100, remaining=0, reset_s=2.0, retry_after_s=0.02)


def test_the_bucket_refills_at_the_plan_rate(limiter: TokenBucketLimiter, clock: FakeClock) -> None:
    assert drain(limiter, "cl_acme", PARTNER) == 100
    clock.advance(0.5)
    assert drain(limiter, "cl_acme", PARTNER) == 25
    clock.advance(1 / 64)  # 0.78 of a request
    assert not limiter.take("cl_acme", PARTNER).allowed
    clock.advance(1 / 64)
    assert limiter.take("cl_acme", PARTNER).allowed


def test_the_bucket_never_holds_more_than_the_burst(limiter: TokenBucketLimiter, clock: FakeClock) -> None:
    limiter.take("cl_acme", PARTNER)
    clock.advance(3600)
    assert limiter.take("cl_acme", PARTNER).remaining == 99
    assert drain(limiter, "cl_acme", PARTNER) == 99


def test_a_refused_request_takes_nothing(limiter: TokenBucketLimiter, clock: FakeClock) -> None:
    drain(limiter, "cl_acme", PARTNER)
    for _ in range(1000):  # a client hammering while throttled does not push its recovery further out
        assert not limiter.take("cl_acme", PARTNER).allowed
    clock.advance(0.02)
    assert limiter.take("cl_acme", PARTNER).allowed


def test_retry_after_says_when_a_costly_request_would_fit(limiter: TokenBucketLimiter, clock: FakeClock) -> None:
    for _ in range(95):
        limiter.take("cl_acme", PARTNER)
    decision = limiter.take("cl_acme", PARTNER, cost=10)
    assert not decision.allowed
    assert decision.retry_after_s == pytest.approx(5 / 50)
    clock.advance(decision.retry_after_s)
    assert limiter.take("cl_acme", PARTNER, cost=10).allowed


def test_a_cost_outside_the_bucket_is_a_programming_error(limiter: TokenBucketLimiter) -> None:
    for cost in (0, -1, 101):
        with pytest.raises(ValueError, match="cost"):
            limiter.take("cl_acme", PARTNER, cost=cost)


def test_clients_have_their_own_buckets(limiter: TokenBucketLimiter) -> None:
    drain(limiter, "cl_acme", PARTNER)
    assert limiter.take("cl_bolt", PARTNER).remaining == 99


def test_a_clock_stepping_back_does_not_drain_the_bucket(limiter: TokenBucketLimiter, clock: FakeClock) -> None:
    for _ in range(50):
        limiter.take("cl_acme", PARTNER)
    clock.advance(-10)
    assert limiter.take("cl_acme", PARTNER).remaining == 49


def test_a_smaller_plan_caps_a_fuller_bucket(limiter: TokenBucketLimiter) -> None:
    limiter.take("cl_acme", DEFAULT_PLANS["internal"])
    assert limiter.take("cl_acme", PARTNER).remaining == 99


def test_memory_is_bounded_by_evicting_the_least_recently_used_bucket(clock: FakeClock) -> None:
    limiter = TokenBucketLimiter(clock=clock, max_keys=3)
    for key in ("a", "b", "c"):
        limiter.take(key, PARTNER)
    limiter.take("a", PARTNER)  # a is now the most recently used
    limiter.take("d", PARTNER)  # evicts b
    assert len(limiter) == 3
    assert limiter.take("a", PARTNER).remaining == 97  # kept its state
    assert limiter.take("b", PARTNER).remaining == 99  # started over


def test_forgetting_a_client_drops_its_bucket(limiter: TokenBucketLimiter) -> None:
    drain(limiter, "cl_acme", PARTNER)
    limiter.forget("cl_acme")
    limiter.forget("cl_never_seen")
    assert len(limiter) == 0


def test_threads_never_get_more_than_the_bucket_holds(limiter: TokenBucketLimiter) -> None:
    plan = RatePlan("tight", requests_per_second=0.001, burst=5000)
    allowed: list[int] = []
    start = threading.Barrier(8)

    def hammer() -> None:
        start.wait()
        allowed.append(sum(limiter.take("cl_acme", plan).allowed for _ in range(1000)))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 5000


@given(st.lists(st.tuples(st.floats(min_value=0, max_value=0.5), st.integers(min_value=1, max_value=20)), max_size=300))
def test_over_any_stretch_a_client_gets_at_most_the_burst_plus_the_rate(steps: list[tuple[float, int]]) -> None:
    clock = FakeClock(0.0)
    limiter = TokenBucketLimiter(clock=clock)
    taken = 0.0
    elapsed = 0.0
    for pause, cost in steps:
        clock.advance(pause)
        elapsed += pause
        decision = limiter.take("cl_acme", PARTNER, cost=cost)
        taken += cost if decision.allowed else 0
        assert 0 <= decision.remaining <= PARTNER.burst
        assert decision.allowed == (decision.retry_after_s == 0)
        assert taken <= PARTNER.burst + PARTNER.requests_per_second * elapsed + 1e-6


# -- headers --------------------------------------------------------------------------------------------------------

# draft-ietf-httpapi-ratelimit-headers-10: a List of Items whose value is a String, with Integer parameters.
_SF_ITEM = re.compile(r'"[a-z0-9_.-]+"(;[a-z][a-z0-9_-]*=(0|[1-9][0-9]{0,14}))+')


def test_an_allowed_request_advertises_the_policy_and_what_is_left(limiter: TokenBucketLimiter) -> None:
    headers = ratelimit_headers(PARTNER, limiter.take("cl_acme", PARTNER))
    assert headers == {"RateLimit-Policy": '"partner";q=100;w=2', "RateLimit": '"partner";r=99;t=1'}
    for value in headers.values():
        assert _SF_ITEM.fullmatch(value)


def test_a_full_bucket_resets_in_zero_seconds(limiter: TokenBucketLimiter, clock: FakeClock) -> None:
    limiter.take("cl_acme", PARTNER)
    clock.advance(1)
    decision = limiter.take("cl_acme", PARTNER)
    assert ratelimit_headers(PARTNER, decision)["RateLimit"] == '"partner";r=99;t=1'
    assert decision.reset_s == pytest.approx(0.02)
    full = RateDecision(allowed=True, limit=100, remaining=100, reset_s=0.0, retry_after_s=0.0)
    assert ratelimit_headers(PARTNER, full)["RateLimit"] == '"partner";r=100;t=0'


def test_a_refused_request_says_when_to_retry_in_whole_seconds(limiter: TokenBucketLimiter) -> None:
    drain(limiter, "cl_acme", PARTNER)
    headers = ratelimit_headers(PARTNER, limiter.take("cl_acme", PARTNER))
    assert headers == {
        "RateLimit-Policy": '"partner";q=100;w=2',
        "RateLimit": '"partner";r=0;t=2',
        "Retry-After": "1",  # 0.02 s, rounded up: waiting exactly this long succeeds
    }
    slow = RatePlan("trickle", requests_per_second=0.4, burst=2)
    drain(limiter, "cl_slow", slow)
    assert ratelimit_headers(slow, limiter.take("cl_slow", slow))["Retry-After"] == "3"  # 2.5 s


def test_every_default_policy_is_a_valid_structured_field() -> None:
    assert {name: plan.policy_field() for name, plan in DEFAULT_PLANS.items()} == {
        "partner": '"partner";q=100;w=2',
        "internal": '"internal";q=4000;w=2',
        "bench": '"bench";q=1000000000;w=1',
    }
    for plan in DEFAULT_PLANS.values():
        assert _SF_ITEM.fullmatch(plan.policy_field())


@pytest.mark.parametrize(
    ("name", "rate", "burst"),
    [('par"tner', 1, 1), ("Partner", 1, 1), ("", 1, 1), ("p", 0, 1), ("p", float("inf"), 1), ("p", 1, 0)],
)
def test_a_plan_that_cannot_be_advertised_or_enforced_is_refused(name: str, rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate plan"):
        RatePlan(name, requests_per_second=rate, burst=burst)


# -- request bounds -------------------------------------------------------------------------------------------------


def test_the_bounds_on_bodies_and_pages() -> None:
    assert MAX_BODY_BYTES == 1024 * 1024
    assert MAX_PAGE_SIZE == 200


def nested(depth: int, inner: Any = 1) -> Any:
    """`depth` lists, one inside the next, built without recursion."""
    document = inner
    for _ in range(depth):
        document = [document]
    return document


def test_an_ordinary_order_passes() -> None:
    check_json_shape(
        {
            "customer": {"number": "C-100", "bill_to": {"city": "Springfield"}},
            "lines": [{"item": f"I-{n}", "quantity": 2, "uom": "EA"} for n in range(500)],
            "notes": None,
        }
    )
    for scalar in (None, 1, "text", 1.5, True):
        check_json_shape(scalar)


def test_nesting_up_to_the_limit_passes_and_one_deeper_is_refused() -> None:
    check_json_shape(nested(MAX_JSON_DEPTH))
    check_json_shape(nested(3), max_depth=3)
    with pytest.raises(RequestTooComplexError) as refused:
        check_json_shape({"a": nested(3)}, max_depth=3)
    assert refused.value.reason == "too_deep"
    assert refused.value.limit == 3
    assert refused.value.pointer == "/a/0/0"
    assert "deeper than 3 levels at /a/0/0" in str(refused.value)


def test_a_hostile_100k_deep_document_is_refused_without_recursion() -> None:
    inners: tuple[Any, ...] = (1, {})
    for inner in inners:
        with pytest.raises(RequestTooComplexError, match="deeper than 32"):
            check_json_shape(nested(100_000, inner))
    deep_objects: Any = {}
    for _ in range(100_000):
        deep_objects = {"x": deep_objects}
    with pytest.raises(RequestTooComplexError, match="deeper than 32"):
        check_json_shape(deep_objects)


def test_orjson_refuses_such_a_document_before_it_is_parsed() -> None:
    # check_json_shape's docstring tells callers to parse with orjson; this is the behaviour that relies on.
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(b"[" * 100_000 + b"]" * 100_000)


def test_an_array_or_object_with_too_many_members_is_refused_naming_it() -> None:
    with pytest.raises(RequestTooComplexError) as refused:
        check_json_shape({"order": {"lines": list(range(11))}}, max_items=10)
    assert refused.value.reason == "too_many_items"
    assert refused.value.pointer == "/order/lines"
    assert "the array at /order/lines has 11 members, more than the 10 allowed" in str(refused.value)
    with pytest.raises(RequestTooComplexError, match="the object at the top level has 11 members"):
        check_json_shape({str(n): n for n in range(11)}, max_items=10)
    check_json_shape(list(range(10)), max_items=10)


def test_the_pointer_names_the_offending_member_among_its_siblings() -> None:
    with pytest.raises(RequestTooComplexError) as refused:
        check_json_shape({"a": [[1], [2, 3, 4]], "b": {}}, max_items=2)
    assert refused.value.pointer == "/a/1"


def test_a_pointer_escapes_slashes_and_tildes() -> None:
    with pytest.raises(RequestTooComplexError) as refused:
        check_json_shape({"a/b": {"c~d": [1, 2, 3]}}, max_items=2)
    assert refused.value.pointer == "/a~1b/c~0d"


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4),
    max_leaves=40,
)


def depth_and_widest(document: Any) -> tuple[int, int]:
    """The reference: nesting depth and largest member count, by plain recursion (hypothesis documents are small)."""
    if not isinstance(document, dict | list):
        return 0, 0
    members = list(document.values()) if isinstance(document, dict) else document
    below = [depth_and_widest(member) for member in members]
    return 1 + max((d for d, _ in below), default=0), max([len(members), *(w for _, w in below)])


@given(json_documents, st.integers(min_value=0, max_value=6), st.integers(min_value=0, max_value=5))
def test_the_check_agrees_with_a_recursive_reference(document: Any, max_depth: int, max_items: int) -> None:
    depth, widest = depth_and_widest(document)
    if depth > max_depth or widest > max_items:
        with pytest.raises(RequestTooComplexError) as refused:
            check_json_shape(document, max_depth=max_depth, max_items=max_items)
        # The pointer leads to the container that broke the limit.
        target = document
        for part in refused.value.pointer.split("/")[1:]:
            key = part.replace("~1", "/").replace("~0", "~")
            target = target[int(key)] if isinstance(target, list) else target[key]
        if refused.value.reason == "too_many_items":
            assert len(target) > max_items
        else:
            assert refused.value.pointer.count("/") == max_depth
    else:
        check_json_shape(document, max_depth=max_depth, max_items=max_items)
