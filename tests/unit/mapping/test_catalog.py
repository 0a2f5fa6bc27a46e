"""Loading a directory of specs and looking mappings up by (system, entity, direction)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crossdock.mapping import Direction, MappingCatalog, MappingNotFoundError, SpecError
from crossdock.mapping.flows import CatalogMappings

from .conftest import SPECS


def test_from_directory_loads_every_system() -> None:
    catalog = MappingCatalog.from_directory(SPECS)
    assert catalog.keys() == [
        ("salesforce", "customer", "inbound"),
        ("salesforce", "customer", "outbound"),
        ("tryton", "sale_line", "inbound"),
    ]
    assert len(catalog) == 3
    mapping = catalog.get("salesforce", "customer", Direction.INBOUND)
    assert mapping is catalog.get("salesforce", "customer", "inbound")
    assert ("tryton", "sale_line", "inbound") in catalog
    assert {m.key for m in catalog} == set(catalog.keys())


def test_missing_mapping_says_what_is_loaded() -> None:
    catalog = MappingCatalog.from_directory(SPECS)
    with pytest.raises(
        MappingNotFoundError, match="no mapping for tryton/customer/inbound; known mappings: "
    ) as caught:
        catalog.get("tryton", "customer", "inbound")
    assert "salesforce/customer/outbound" in caught.value.hint
    with pytest.raises(MappingNotFoundError, match="no mapping specs are loaded"):
        MappingCatalog().get("a", "b", "inbound")


def test_flat_connector_folder_with_a_system(tmp_path: Path) -> None:
    shutil.copy(SPECS / "salesforce" / "customer.inbound.yaml", tmp_path / "customer.inbound.yaml")
    catalog = MappingCatalog.from_directory(tmp_path, system="crm")
    assert catalog.keys() == [("crm", "customer", "inbound")]


def test_combine_rejects_two_specs_for_one_key(tmp_path: Path) -> None:
    first = MappingCatalog.from_directory(SPECS)
    assert len(MappingCatalog.combine(first, MappingCatalog())) == 3
    with pytest.raises(SpecError, match="a second mapping for salesforce/customer/inbound"):
        MappingCatalog.combine(first, first)


def test_a_bad_spec_stops_loading_with_its_location(tmp_path: Path) -> None:
    (tmp_path / "erp").mkdir()
    (tmp_path / "erp" / "item.inbound.yaml").write_text("fields:\n  sku: {from: code, type: sku}\n")
    with pytest.raises(SpecError, match=r"item.inbound.yaml:2: unknown type 'sku'"):
        MappingCatalog.from_directory(tmp_path)
    with pytest.raises(SpecError, match="the mapping directory does not exist"):
        MappingCatalog.from_directory(tmp_path / "missing")


def test_catalog_mappings_give_flows_a_mapper_or_none() -> None:
    mappings = CatalogMappings.from_directory(SPECS)
    inbound = mappings.inbound("salesforce", "customer")
    assert inbound is not None
    assert inbound({"Id": "001", "AccountNumber": "c-1", "Name": "Acme", "CurrencyIsoCode": "USD"})["number"] == "C-1"
    assert mappings.outbound("salesforce", "customer") is not None
    assert mappings.outbound("tryton", "sale_line") is None
    assert mappings.inbound("shop", "customer") is None
    with pytest.raises(ValueError, match="required value is missing"):
        inbound({"Id": "001"})
