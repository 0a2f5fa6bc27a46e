"""A record that cannot be mapped is a MappingError naming the spec file:line, the field path and the record id."""

from __future__ import annotations

import pickle

import pytest

from crossdock.mapping import MappingError, MappingNotFoundError, MappingSpec, SpecError, compile_spec

from .conftest import SPECS, both, compiled

ACCOUNT = {
    "Id": "001A",
    "AccountNumber": "c-1",
    "Name": "Acme",
    "CurrencyIsoCode": "USD",
    "Contacts": {"records": [{"Id": "003A", "Email": "a@b.c"}, {"Id": None, "Email": "x@y.z"}]},
}


def error_for(record: object) -> MappingError:
    mapping = compile_spec(MappingSpec.load(SPECS / "salesforce" / "customer.inbound.yaml"))
    with pytest.raises(MappingError) as caught:
        both(mapping, record)
    return caught.value


def test_required_field_in_a_list_element_names_the_element() -> None:
    error = error_for(ACCOUNT)
    spec_file = SPECS / "salesforce" / "customer.inbound.yaml"
    assert error.location == f"{spec_file}:29"
    assert error.field == "contacts[1].external_refs[0].local_id"
    assert error.source == "Contacts.records[1].Id"
    assert error.record_id == "001A"
    assert error.hint.startswith("required value is missing")
    assert str(error) == (
        f"{spec_file}:29: field 'contacts[1].external_refs[0].local_id' (from Contacts.records[1].Id) "
        "of record '001A': required value is missing; fix the source record or give "
        "'external_refs[0].local_id' a `default:`"
    )


def test_wrong_shape_names_the_step() -> None:
    error = error_for({**ACCOUNT, "BillingAddress": ["1 Main St"]})
    assert error.field == "addresses[kind=bill_to].lines"
    assert error.hint == "expected an object at 'BillingAddress', got a list"


def test_list_that_is_not_a_list() -> None:
    error = error_for({**ACCOUNT, "Contacts": {"records": "none"}})
    assert error.field == "contacts"
    assert error.hint == "expected a list at 'Contacts.records', got 'none'"
    error = error_for({**ACCOUNT, "Contacts": {"records": [{"Id": "003"}, 7]}})
    assert error.hint == "element 1 of 'Contacts.records' must be an object, got 7"


def test_record_that_is_not_an_object() -> None:
    error = error_for(["not", "a", "record"])
    assert error.field == ""
    assert error.hint == "a record must be an object, got ['not', 'a', 'record']"
    assert error.location.endswith("customer.inbound.yaml:8")


def test_record_without_an_id_path_or_id() -> None:
    mapping = compiled("fields:\n  a: {from: A, type: int}\n")
    with pytest.raises(MappingError) as caught:
        both(mapping, {"A": "x"})
    assert caught.value.record_id is None
    assert str(caught.value) == "thing.yaml:5: field 'a' (from A): 'x' is not a number"


def test_error_in_a_nested_list_of_a_list() -> None:
    mapping = compiled(
        "id: number\nfields:\n  lines:\n    each: lines\n    fields:\n      notes:\n        each: notes\n"
        "        fields:\n          text: {from: text, required: true}\n"
    )
    with pytest.raises(MappingError) as caught:
        both(mapping, {"number": 4711, "lines": [{"notes": []}, {"notes": [{"text": "a"}, {"text": ""}]}]})
    assert caught.value.field == "lines[1].notes[1].text"
    assert caught.value.source == "lines[1].notes[1].text"
    assert caught.value.record_id == "4711"
    assert caught.value.location == "thing.yaml:12"


def test_expression_errors_keep_the_expression_as_source() -> None:
    mapping = compiled("fields:\n  items:\n    each: items\n    fields:\n      up: {expr: '$uppercase(name)'}\n")
    with pytest.raises(MappingError) as caught:
        both(mapping, {"items": [{"name": 5}]})
    assert caught.value.source == "items[0]: expr '$uppercase(name)'"
    assert caught.value.hint.startswith("the expression failed")


def test_errors_are_value_errors_with_location_and_hint() -> None:
    error = error_for({**ACCOUNT, "Credit_Limit__c": "lots"})
    assert isinstance(error, ValueError)
    assert error.location.endswith(":16")
    assert error.hint == "'lots' is not a number"


def test_errors_pickle_for_worker_processes() -> None:
    error = error_for({**ACCOUNT, "Credit_Limit__c": "lots"})
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    spec_error = SpecError("x.yaml:3", "unknown type 'sku'", "use one of str, int")
    assert str(pickle.loads(pickle.dumps(spec_error))) == "x.yaml:3: unknown type 'sku'; use one of str, int"
    missing = MappingNotFoundError(("a", "b", "inbound"), [])
    assert str(pickle.loads(pickle.dumps(missing))) == str(missing)
