"""An invalid spec fails at load with `file:line` and what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossdock.mapping import Direction, MappingSpec, SpecError

from .conftest import SPECS, parse


def problem(body: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse(body)
    return caught.value


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("fields:\n  name: {form: Name}\n", 5, "unknown key 'form' in field 'name'; did you mean 'from'?"),
        ("fields:\n  name: Name\n  name: Other\n", 6, "duplicate key 'name' (first at line 5)"),
        ("fields:\n  name: {from: Name, const: x}\n", 5, "needs exactly one of from, const, expr, each"),
        ("fields:\n  name: {}\n", 5, "needs exactly one of from, const, expr, each; got []"),
        ("fields:\n  name: 42\n", 5, "must be a source path or a mapping, got 42"),
        ("fields:\n  name: Owner..Name\n", 5, "each dot-separated part must start with a key"),
        ("fields:\n  name: 'lines[kind=]'\n", 5, "must be an index like `[0]` or a selector"),
        ("fields:\n  name:\n    from: Name\n    transform: [titlecase]\n", 7, "unknown transform 'titlecase'"),
        ("fields:\n  name:\n    from: Name\n    transform: [join]\n", 7, "join takes an argument"),
        ("fields:\n  name: {from: Name, required: true, default: x}\n", 5, "a required field cannot have a default"),
        ("fields:\n  name: {from: Name, required: yes-please}\n", 5, "required must be true or false"),
        ("fields:\n  name: {from: Name, map: channel}\n", 5, "unknown value map 'channel'"),
        ("fields:\n  name: {from: Name, map_default: x}\n", 5, "map_default without map"),
        ("fields:\n  name:\n    from: Name\n    type: money\n", 7, "unknown type 'money'"),
        ("fields:\n  name:\n    from: Name\n    places: 2\n", 7, "`places:` needs `type:`"),
        ("fields:\n  name:\n    from: Name\n    type: int\n    places: 2\n", 8, "`places:` is a whole number 0-18"),
        ("fields:\n  name:\n    from: Name\n    type: str\n    format: '%Y'\n", 8, "a strftime pattern for type date"),
        ("fields:\n  q: {from: Q, uom: {from_unit: CS, to_unit: EA}}\n", 5, "`uom:` has no factors"),
        ("fields:\n  q: {from: Q, uom: {to_unit: EA, factors: {EA: 1}}}\n", 5, "`uom:` needs from_unit"),
        (
            "fields:\n  q:\n    from: Q\n    uom:\n      from_unit: CS\n      to_unit: EA\n"
            "      factors:\n        CS: -2\n",
            11,
            "the factor of 'CS' must be a positive number",
        ),
        ("fields:\n  when: {const: 2026-11-22}\n", 5, "YAML read 2026-11-22 as a date or time; quote it"),
        ("fields:\n  total: {expr: 'sum(('}\n", 5, "invalid JSONata expression"),
        ("fields:\n  'addresses[kind=bill_to]': City\n", 5, "ends in a selector"),
        ("fields:\n  'lines[-1].sku': Sku\n", 5, "has a negative index"),
        ("fields:\n  'grid[0][1].x': X\n", 5, "puts a list inside a list"),
        ("fields:\n  'addresses[kind=bill_to].kind': K\n", 5, "which its selector already sets"),
        (
            "fields:\n  bill_to: A\n  bill_to.city: B\n",
            6,
            "target 'bill_to.city' collides with 'bill_to' at thing.yaml:5",
        ),
        ("fields:\n  'a[0].x': A\n  'a[kind=x].y': B\n", 6, "collides with 'a[0].x'"),
        ("fields:\n  'a[kind=x].y': A\n  'a[type=z].y': B\n", 6, "a list is addressed by index or by one selector key"),
        ("fields:\n  lines: {each: Lines}\n", 5, "a list mapping (`each:`) needs `fields:`"),
        ("fields:\n  'ids[scheme in (ein, vat)].value': V\n", 5, "has an `in` selector; a target selector names"),
        ("fields:\n  v: 'ids[scheme in (ein, )].value'\n", 5, "must list values like `[scheme in (ein, vat)]`"),
        ("fields:\n  v: {from: V, map: {a: b}, map_patterns: {a: b}}\n", 5, "`map:` or `map_patterns:`, not both"),
        ("fields:\n  v: {from: V, map_passthrough: true}\n", 5, "map_passthrough without map"),
        ("fields:\n  v: {from: V, map: {a: b}, map_passthrough: true, map_default: c}\n", 5, "not both"),
        ("fields:\n  v: {from: V, map: {a: b}, map_passthrough: title}\n", 5, "map_passthrough must be true, false"),
        ("fields:\n  v: {from: V, map_patterns: []}\n", 5, "`map_patterns:` must map regular expressions"),
        ("fields:\n  v:\n    from: V\n    map_patterns:\n      '[a-': x\n", 8, "invalid regular expression '[a-'"),
        ("fields:\n  v: {from: V, when_matches: '(x'}\n", 5, "when_matches: invalid regular expression"),
        ("fields:\n  v: {from: V, when_matches: 5}\n", 5, "when_matches needs a regular expression as text"),
        ("fields:\n  v: {const: x, when_matches: '^x'}\n", 5, "`when_matches:` tests the value of one `from:` path"),
        ("fields:\n  v: {from: [A, B], when_matches: '^x'}\n", 5, "tests the value of one `from:` path"),
        ("fields:\n  v: {from: V, else: x}\n", 5, "`else:` without a condition"),
        ("fields:\n  v: {each: V, when_matches: x, fields: {a: a}}\n", 5, "applies to value fields, not list"),
        (
            "fields:\n  v: {each: V, map_patterns: {a: b}, fields: {a: a}}\n",
            5,
            "`map_patterns:` cannot apply to a list",
        ),
        (
            "fields:\n  v: {from: V, transform: {match: {pattern: '(a)(b)', group: 3}}}\n",
            5,
            "match `group:` must be a whole number 0-2",
        ),
        ("fields:\n  v: {from: V, transform: {match: {pattern: 'a', grp: 1}}}\n", 5, "unknown key 'grp' in match"),
        ("fields:\n  v: {from: V, transform: {match: '*'}}\n", 5, "match: invalid regular expression"),
        (
            "fields:\n  lines:\n    each: Lines\n    type: int\n    fields: {a: a}\n",
            7,
            "`type:` cannot apply to a list",
        ),
        (
            "fields:\n  'lines[0]': {each: Lines, fields: {a: a}}\n",
            5,
            "the target of a list mapping must be plain keys",
        ),
        (
            "fields:\n  lines:\n    each: Lines\n    fields:\n      sku: {from: Sku, bogus: 1}\n",
            8,
            "unknown key 'bogus'",
        ),
        ("value_maps:\n  c: {1: a, true: b}\nfields:\n  a: A\n", 5, "duplicate key True"),
        ("fields: []\n", 4, "`fields:` must be a non-empty mapping"),
        ("fieldz:\n  a: A\n", 4, "unknown key 'fieldz' in the spec; did you mean 'fields'?"),
        ("fields:\n  a: [A\n", 6, "invalid YAML"),
        ("omit_nulls: sometimes\nfields:\n  a: A\n", 4, "omit_nulls must be true or false"),
    ],
)
def test_spec_errors_name_file_line_and_fix(body: str, line: int, message: str) -> None:
    error = problem(body)
    assert error.location == f"thing.yaml:{line}"
    assert message in str(error)
    assert str(error).startswith(f"thing.yaml:{line}: ")


def test_spec_error_carries_a_hint() -> None:
    error = problem("fields:\n  name: {from: Name, map: channel}\n")
    assert error.hint == "declare it under `value_maps:` (none are declared)"
    assert error.problem == "unknown value map 'channel'"


def test_header_is_required_when_the_path_does_not_say() -> None:
    with pytest.raises(SpecError, match="the spec does not say its system; add `system:` at the top"):
        MappingSpec.parse("fields:\n  a: A\n", "x.yaml")
    with pytest.raises(SpecError, match="unknown direction 'sideways'; use inbound or outbound"):
        MappingSpec.parse("system: s\nentity: e\ndirection: sideways\nfields:\n  a: A\n", "x.yaml")
    with pytest.raises(SpecError, match="system must be a lower-case name"):
        MappingSpec.parse("system: Sales Force\nentity: e\ndirection: inbound\nfields:\n  a: A\n", "x.yaml")


def test_header_defaults_from_the_file_path(tmp_path: Path) -> None:
    spec = MappingSpec.load(SPECS / "salesforce" / "customer.outbound.yaml")
    assert spec.key == ("salesforce", "customer", "outbound")
    assert spec.direction is Direction.OUTBOUND
    folder = tmp_path / "erp"
    folder.mkdir()
    mismatch = folder / "customer.inbound.yaml"
    mismatch.write_text("entity: customer\ndirection: outbound\nfields:\n  a: A\n")
    with pytest.raises(SpecError, match="direction 'outbound' does not match 'inbound'") as caught:
        MappingSpec.load(mismatch)
    assert caught.value.location == f"{mismatch}:2"
    declared = folder / "item.inbound.yaml"
    declared.write_text("system: tryton\nfields:\n  a: A\n")
    assert MappingSpec.load(declared).system == "tryton"
    with pytest.raises(SpecError, match="system 'tryton' does not match 'erp'"):
        MappingSpec.load(declared, system="erp")


def test_missing_or_unreadable_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the spec") as caught:
        MappingSpec.load(tmp_path / "nope" / "customer.inbound.yaml")
    assert caught.value.location.endswith("customer.inbound.yaml:1")


def test_non_mapping_document() -> None:
    with pytest.raises(SpecError, match="a mapping spec must be a YAML mapping"):
        MappingSpec.parse("- a\n- b\n", "x.yaml")
