"""Demo data: a wholesale distributor's customer accounts as a CRM holds them."""

from __future__ import annotations

import random
from typing import Any

_NAMES = ("Summit", "Harbor", "Prairie", "Granite", "Cedar", "Keystone", "Lakeside", "Pioneer", "Redwood", "Beacon")
_TRADES = ("Plumbing Supply", "Electrical", "Hardware", "Building Products", "HVAC Supply", "Industrial Supply")
_CITIES = (
    ("Atlanta", "GA", "30303"),
    ("Denver", "CO", "80202"),
    ("Columbus", "OH", "43215"),
    ("Tampa", "FL", "33602"),
    ("Omaha", "NE", "68102"),
    ("Spokane", "WA", "99201"),
)
_REPS = ("rep_jdoe", "rep_mgarcia", "rep_akim", "rep_tnguyen")


def crm_account(n: int, rng: random.Random) -> dict[str, Any]:
    """One CRM account in canonical shape: bill-to and ship-to addresses, a sales rep, an e-mail contact point."""
    city, region, postal = rng.choice(_CITIES)
    name = f"{rng.choice(_NAMES)} {rng.choice(_TRADES)} {n:03d}"
    return {
        "id": f"crm-{n:04d}",
        "number": f"C-{10000 + n}",
        "name": name,
        "roles": ["sold_to", "bill_to", "ship_to"],
        "currency": "USD",
        "sales_rep": rng.choice(_REPS),
        "channel": rng.choice(("field_sales", "inside_sales", "ecommerce", "edi")),
        "addresses": [
            {
                "kind": "bill_to",
                "lines": [f"{rng.randrange(100, 9999)} Commerce Pkwy"],
                "city": city,
                "region": region,
                "postal_code": postal,
                "country": "US",
            },
            {
                "kind": "ship_to",
                "lines": [f"{rng.randrange(100, 9999)} Warehouse Rd", "Dock 2"],
                "city": city,
                "region": region,
                "postal_code": postal,
                "country": "US",
            },
        ],
        "contact_points": [{"channel": "email", "value": f"purchasing{n}@example.com", "label": "purchasing"}],
    }


def malformed_account() -> dict[str, Any]:
    """An account a sales rep saved half-filled: no currency, a country that is not ISO 3166."""
    return {
        "id": "crm-bad",
        "number": "C-BAD",
        "name": "Half-Entered Account",
        "roles": ["sold_to"],
        "addresses": [{"kind": "bill_to", "lines": ["1 Main St"], "city": "Springfield", "country": "USA"}],
    }
