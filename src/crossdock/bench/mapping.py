"""Benchmark of the mapping engine: a 40-field CRM Account to canonical customer mapping, compiled to Python.

Records are mapped a page at a time, as capture reads them, and each page's output is dropped before the next,
as it is once logged; `records_per_s` is wall-clock throughput of `CompiledMapping.apply_many` over all pages.
"""

from __future__ import annotations

import gc
import random
import time
from pathlib import Path
from typing import Any

from crossdock.mapping import MappingSpec, compile_spec

SPEC_PATH = Path(__file__).parent / "specs" / "customer.inbound.yaml"
_POOL_SIZE = 2_000
_WARMUP = 5_000
_PAGE_SIZE = 500  # what a capture poll reads per page (`CaptureRunner.poll_once`)

_CITIES = [("Springfield", "IL", "62701"), ("Dayton", "OH", "45402"), ("Reno", "NV", "89501"), ("Tulsa", "OK", "74103")]
_TYPES = ["Customer - Direct", "Customer - Channel", "Web", "EDI Partner", "Other"]
_INDUSTRIES = ["Construction", "Electronics", "Healthcare", "Hospitality", "Manufacturing", "Retail"]
_TERMS = ["Net 15", "Net 30", "Net 60", "Due on Receipt"]
_NAMES = ["Ada", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gus", "Hana"]


def _address(rng: random.Random) -> dict[str, Any]:
    city, state, postal = rng.choice(_CITIES)
    return {
        "street": f"{rng.randint(1, 9999)} {rng.choice(['Main', 'Oak', 'Dock', 'Mill'])} St\nDock {rng.randint(1, 9)}",
        "city": city,
        "state": state,
        "stateCode": state,
        "postalCode": postal,
        "country": "United States",
        "countryCode": "us",
    }


def _contact(rng: random.Random, account: int, position: int) -> dict[str, Any]:
    first, last = rng.choice(_NAMES), rng.choice(_NAMES) + "son"
    return {
        "attributes": {"type": "Contact"},
        "Id": f"003{account:09d}{position:03d}",
        "FirstName": first,
        "LastName": last,
        "Email": f" {first}.{last}@Example.com ",
        "Phone": f"+1 555 {rng.randint(1000000, 9999999)}",
        "Title": rng.choice(["Buyer", "AP Clerk", "Owner ", None]),
    }


def synthetic_account(rng: random.Random, account: int) -> dict[str, Any]:
    """One Salesforce-shaped Account with owner, parent, addresses and a contacts subquery."""
    return {
        "attributes": {"type": "Account", "url": f"/services/data/v61.0/sobjects/Account/001{account:015d}"},
        "Id": f"001{account:015d}",
        "AccountNumber": f" c-{account:06d} ",
        "Name": f"Account {account} Supply Co. ",
        "Legal_Name__c": f"Account {account} Supply Company LLC",
        "Type": rng.choice(_TYPES),
        "Industry": rng.choice(_INDUSTRIES),
        "Status__c": rng.choice(["Active", "Inactive", "Prospect", None]),
        "Credit_Status__c": rng.choice(["OK", "OK", "Hold", None]),
        "Price_Group__c": rng.choice([" wholesale", "CONTRACTOR ", None]),
        "CurrencyIsoCode": rng.choice(["USD", "CAD", None]),
        "Credit_Limit__c": rng.choice([5000, 12500.5, 250000, None]),
        "Payment_Terms__c": rng.choice(_TERMS),
        "Tax_Exempt__c": rng.choice([True, False]),
        "Tax_Id__c": f" {rng.randint(10, 99)}-{rng.randint(1000000, 9999999)} ",
        "Phone": f"+1 555 {rng.randint(1000000, 9999999)}",
        "Fax": None,
        "Website": f"WWW.ACCOUNT{account}.EXAMPLE.COM",
        "Email__c": f" Orders@Account{account}.example.com",
        "Owner": {"Name": rng.choice(_NAMES) + " Rep", "Email": "Rep@Example.com"},
        "Parent": rng.choice([None, {"AccountNumber": "C-000001"}]),
        "NumberOfEmployees": rng.randint(1, 5000),
        "AnnualRevenue": rng.choice([1_250_000, 987_654.32, None]),
        "CreatedDate": "2024-03-01T08:15:00.000+0000",
        "Company__c": rng.choice(["us01", "CA01 ", None]),
        "SystemModstamp": f"2026-11-{rng.randint(10, 28)}T{rng.randint(10, 23)}:00:00.000+0000",
        "BillingAddress": _address(rng),
        "ShippingAddress": _address(rng) if rng.random() < 0.8 else None,
        "IsDeleted": False,
        "Contacts": {"totalSize": 2, "done": True, "records": [_contact(rng, account, n) for n in range(2)]},
    }


def run(records: int = 100_000) -> dict[str, Any]:
    """Map `records` synthetic accounts with the compiled spec, a page at a time, and report the throughput."""
    mapping = compile_spec(MappingSpec.load(SPEC_PATH))
    rng = random.Random(4711)
    pool = [synthetic_account(rng, account) for account in range(min(_POOL_SIZE, max(records, 1)))]
    pages = [
        [pool[n % len(pool)] for n in range(start, min(start + _PAGE_SIZE, records))]
        for start in range(0, records, _PAGE_SIZE)
    ]
    mapping.apply_many(pool[n % len(pool)] for n in range(_WARMUP))
    mapped = 0
    # The synthetic input pool lives for the whole run, unlike a connector's pages; keep it out of the
    # collector's scans so they cost what they would in a worker. The mapped output is collected as usual.
    gc.collect()
    gc.freeze()
    try:
        started = time.perf_counter()
        for page in pages:
            mapped += len(mapping.apply_many(page))
        seconds = time.perf_counter() - started
    finally:
        gc.unfreeze()
    if mapped != records:
        raise RuntimeError(f"mapped {mapped} of {records} records")
    return {
        "benchmark": "mapping",
        "records": records,
        "fields": mapping.spec.field_count,
        "records_per_s": round(records / seconds) if seconds > 0 else 0,
        "seconds": round(seconds, 4),
    }
