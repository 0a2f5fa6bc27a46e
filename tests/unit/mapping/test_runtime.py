"""Runtime pieces: coercion fast paths equal their general route, YAML line numbers, paths, and no code injection."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from crossdock.bench.mapping import SPEC_PATH, run, synthetic_account
from crossdock.mapping import MappingSpec, compile_spec
from crossdock.mapping.errors import DataError
from crossdock.mapping.loader import LineMap, load_yaml
from crossdock.mapping.paths import parse_path
from crossdock.mapping.transforms import Coercion
from crossdock.model import Contact, Customer

from .conftest import HEADER, both

moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda moment: moment.replace(microsecond=0)
)


@given(moments, st.sampled_from(["Z", "+00:00", "+0000", ".000Z", ".000+0000", "-00:00", "", ".0"]))
def test_datetime_fast_path_equals_the_general_route(moment: datetime, suffix: str) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + suffix
    parsed = datetime.fromisoformat(text)
    utc = (parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed).astimezone(UTC)
    assert Coercion("datetime").function()(text) == utc.strftime("%Y-%m-%dT%H:%M:%S") + "Z"


offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30), timezones=offsets))
def test_datetime_with_offsets_and_fractions(moment: datetime) -> None:
    text = moment.isoformat()
    expected = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert Coercion("datetime").function()(text) == expected


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**20), 10**20))
def test_decimal_fast_paths_equal_the_decimal_route(number: float) -> None:
    exact = Decimal(repr(number)) if isinstance(number, float) else Decimal(number)
    assert Coercion("decimal").function()(number) == str(exact)
    if abs(exact) < 10**20:
        assert Coercion("decimal", places=2).function()(number) == str(exact.quantize(Decimal("0.01"), "ROUND_HALF_UP"))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "Infinity", "sNaN"])
def test_decimal_rejects_non_finite_numbers(value: object) -> None:
    with pytest.raises(DataError, match=r"not a finite number|not a number"):
        Coercion("decimal").function()(value)


def test_yaml_keeps_key_lines_and_rejects_duplicates() -> None:
    document = load_yaml("a: 1\nb:\n  c: 2\n  d: [1, 2]\n", "x.yaml")
    assert isinstance(document, LineMap)
    assert (document.line, document.line_of("a"), document.line_of("b")) == (1, 1, 2)
    assert document["b"].line_of("d") == 4
    assert document["b"].line_of("missing") == 3


def test_path_syntax() -> None:
    path = parse_path("orders[status='open'].lines[0].sku")
    assert [step.text() for step in path.steps] == ["orders", "[status=open]", "lines", "[0]", "sku"]
    assert not path.plain
    assert parse_path("Customer Name").steps[0].key == "Customer Name"
    for bad in ["", " a", "a.", "a[", "a[x]", "[0]", "a[=1]"]:
        with pytest.raises(ValueError, match="path"):
            parse_path(bad)


def test_spec_text_cannot_inject_code() -> None:
    payload = "exit(3)"  # ends the test run if any spec text is executed as code
    target, source, selector = f"x' = 1; {payload}; r'", f"a'); {payload}; ('", f'x"); {payload}; ("y'
    odd_target, code = f'y"}}; {payload} #', f"'); {payload}; ('"
    fields = {
        target: source,
        odd_target: {"from": "b", "map": {code: "ok"}, "map_default": f"'''\n{payload}"},
        f"z[k={selector}].v": "c",
    }
    mapping = compile_spec(MappingSpec.parse(HEADER + yaml.safe_dump({"fields": fields}), "evil.yaml"))
    result = both(mapping, {source: "one", "b": code, "c": "three"})
    assert result == {target: "one", odd_target: "ok", "z": [{"k": selector, "v": "three"}]}
    assert both(mapping, {"b": "other"})[odd_target] == f"'''\n{payload}"


def test_benchmark_runs_and_reports() -> None:
    report = run(records=500)
    assert report["benchmark"] == "mapping"
    assert report["records"] == 500
    assert report["fields"] == 40
    assert report["records_per_s"] > 0
    assert report["seconds"] > 0


def test_benchmark_output_is_a_valid_canonical_customer() -> None:
    mapping = compile_spec(MappingSpec.load(SPEC_PATH))
    rng = random.Random(7)
    for number in range(50):
        customer = mapping.apply(synthetic_account(rng, number))
        contacts = customer.pop("contacts")
        Customer.model_validate({**customer, "id": f"cus_{number}"})
        for contact in contacts:
            Contact.model_validate({**contact, "id": "con_1", "account_id": f"cus_{number}"})
