"""`in` selectors, value-map fallbacks, regular-expression rules and `else:`: the features that replace JSONata.

Each is checked through the compiled code and the reference interpreter (`map_one`).
"""

from __future__ import annotations

from typing import Any

import pytest

from crossdock.mapping import MappingError

from .conftest import compiled


def test_in_selector_takes_the_first_element_with_any_listed_value(map_one: Any) -> None:
    body = """
    fields:
      tax_id: "identifiers[scheme in (tax_id, ein, vat)].value"
      quoted: "identifiers[scheme in ('duns', \\"gln\\")].value"
      by_number: "lines[sequence in (2, 3)].sku"
      by_flag: "lines[invoice in (true)].sku"
      none: "identifiers[scheme in (x, y)].value"
      taxes:
        each: "identifiers[scheme in (ein, vat)]"
        fields:
          value: value
    """
    record = {
        "identifiers": [
            {"scheme": "duns", "value": "123456789"},
            {"scheme": "vat", "value": "DE123456789"},
            {"scheme": "ein", "value": "12-3456789"},
            "not an object",
        ],
        "lines": [{"sequence": 1, "sku": "A"}, {"sequence": 3, "sku": "C", "invoice": True}],
    }
    assert map_one(body, record) == {
        "tax_id": "DE123456789",
        "quoted": "123456789",
        "by_number": "C",
        "by_flag": "C",
        "none": None,
        "taxes": [{"value": "DE123456789"}, {"value": "12-3456789"}],
    }
    assert map_one(body, {"identifiers": None}) == {
        "tax_id": None,
        "quoted": None,
        "by_number": None,
        "by_flag": None,
        "none": None,
        "taxes": [],
    }
    with pytest.raises(MappingError, match=r"expected a list before \[scheme in \(ein, tax_id, vat\)\], got an object"):
        map_one(body, {"identifiers": {"scheme": "ein"}})


def test_map_passthrough_keeps_unknown_codes(map_one: Any) -> None:
    body = """
    value_maps:
      terms: {NET30: Net 30, DUE: Due on Receipt}
    fields:
      terms: {from: Code, map: terms, map_passthrough: true}
      unit: {from: Unit, map: {Each: EA, Case: CS}, map_passthrough: upper}
      strict: {from: Code, map: terms, map_passthrough: false, map_default: other}
    """
    assert map_one(body, {"Code": "NET30", "Unit": "Case"}) == {"terms": "Net 30", "unit": "CS", "strict": "Net 30"}
    assert map_one(body, {"Code": "NET90", "Unit": "box"}) == {"terms": "NET90", "unit": "BOX", "strict": "other"}
    assert map_one(body, {"Code": "", "Unit": None}) == {"terms": "", "unit": None, "strict": "other"}
    assert map_one(body, {"Code": 30}) == {"terms": 30, "unit": None, "strict": "other"}
    with pytest.raises(MappingError, match="upper needs text, got 7"):
        map_one(body, {"Unit": 7})
    with pytest.raises(MappingError, match=r"`map:` translates codes, got \['NET30'\]"):
        map_one(body, {"Code": ["NET30"]})


def test_map_patterns_classify_text_by_the_first_pattern_found(map_one: Any) -> None:
    body = """
    fields:
      scheme:
        from: TaxId
        map_patterns: {'^[0-9]{2}-[0-9]{7}$': ein, '^[A-Z]{2}[0-9A-Z+*.]{2,13}$': vat, '^DE': never}
        map_default: tax_id
      size: {from: Size, map_patterns: {'^[0-9]+$': {kind: count}}, map_passthrough: lower}
      strict: {from: Size, map_patterns: {'^[0-9]+$': number}}
    """
    assert map_one(body, {"TaxId": "12-3456789", "Size": "12"}) == {
        "scheme": "ein",
        "size": {"kind": "count"},
        "strict": "number",
    }
    assert map_one(body, {"TaxId": "DE123456789", "Size": None}) == {"scheme": "vat", "size": None, "strict": None}
    assert map_one(body, {"TaxId": "1234", "Size": "12"})["scheme"] == "tax_id"
    with pytest.raises(MappingError, match="'XL' matches none of `map_patterns:`; add a pattern, or set `map_default"):
        map_one(body, {"Size": "XL"})
    with pytest.raises(MappingError, match="map_patterns needs text, got 12"):
        map_one(body, {"TaxId": 12})


def test_map_patterns_objects_are_fresh_per_record() -> None:
    mapping = compiled("fields:\n  size: {from: Size, map_patterns: {'.': {kind: [count]}}}\n")
    first = mapping.apply({"Size": "1"})
    first["size"]["kind"].append("changed")
    assert mapping.apply({"Size": "1"}) == {"size": {"kind": ["count"]}}


def test_when_matches_keeps_a_value_only_when_the_pattern_finds_it(map_one: Any) -> None:
    body = """
    omit_nulls: true
    fields:
      owner: {from: Owner, when_matches: '^005[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$'}
      owner_or_none: {from: Owner, when_matches: '^005', else: none, transform: lower}
      group: {from: Group, when: Active, when_matches: '^[A-Z]+$', else: {kind: other}}
    """
    assert map_one(body, {"Owner": "005B0000005Bk90IAC", "Active": True, "Group": "RETAIL"}) == {
        "owner": "005B0000005Bk90IAC",
        "owner_or_none": "005b0000005bk90iac",
        "group": "RETAIL",
    }
    assert map_one(body, {"Owner": "REP7", "Active": True, "Group": "retail"}) == {
        "owner_or_none": "none",
        "group": {"kind": "other"},
    }
    assert map_one(body, {"Owner": None, "Active": None, "Group": "RETAIL"}) == {
        "owner_or_none": "none",
        "group": {"kind": "other"},
    }
    with pytest.raises(MappingError, match="when_matches needs text, got 5"):
        map_one(body, {"Owner": 5})


def test_else_gives_the_value_when_the_condition_does_not_hold(map_one: Any) -> None:
    body = """
    fields:
      is_standard: {const: false, when: Group, else: true}
      tags: {from: Tags, when: Group, else: []}
    """
    assert map_one(body, {"Group": "CONTRACTORS", "Tags": ["a"]}) == {"is_standard": False, "tags": ["a"]}
    assert map_one(body, {"Group": "", "Tags": ["a"]}) == {"is_standard": True, "tags": []}
    result = map_one(body, {})
    result["tags"].append("changed")
    assert map_one(body, {}) == {"is_standard": True, "tags": []}


def test_match_and_upper_first_transforms(map_one: Any) -> None:
    body = r"""
    omit_nulls: true
    fields:
      net_days: {from: Terms, transform: {match: '([0-9]+)$'}, type: int, default: 0}
      percent: {from: Terms, transform: {match: {pattern: '^([0-9.]+)/([0-9]+) ', group: 1}}, type: decimal}
      days: {from: Terms, transform: {match: {pattern: '^([0-9.]+)/([0-9]+) ', group: 2}}, type: int}
      whole: {from: Terms, transform: {match: 'Net [0-9]+'}}
      label: {from: Terms, transform: {match: {pattern: '^([0-9.]+)/([0-9]+) ', group: 0}}}
      family: {from: Category, transform: [{split: {sep: /, index: 0}}, upper_first]}
      title: {from: Title, transform: upper_first}
    """
    assert map_one(body, {"Terms": "2/10 Net 30", "Category": "fasteners/screws"}) == {
        "net_days": 30,
        "percent": "2",
        "days": 10,
        "whole": "Net 30",
        "label": "2/10 ",
        "family": "Fasteners",
    }
    assert map_one(body, {"Terms": "Due on Receipt", "Category": "ǆungla"}) == {"net_days": 0, "family": "Ǆungla"}
    assert map_one(body, {"Terms": None, "Category": ""}) == {"net_days": 0, "family": ""}
    with pytest.raises(MappingError, match="match needs text, got 30"):
        map_one(body, {"Terms": 30})
    with pytest.raises(MappingError, match="upper_first needs text, got 1"):
        map_one(body, {"Title": 1})
