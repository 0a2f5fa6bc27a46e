"""The generated benchmark data: seeded, labelled, and as hard as real customer masters in the ways that matter."""

from __future__ import annotations

from collections import Counter, defaultdict

from crossdock.bench.customer_data import generate
from crossdock.mdm.normalize import normalise


def test_same_seed_same_records_other_seed_other_records() -> None:
    assert generate(500, seed=3) == generate(500, seed=3)
    assert generate(500, seed=3).records != generate(500, seed=4).records


def test_labels_cover_every_record_and_ids_are_unique() -> None:
    data = generate(5_000)
    assert len(data.records) == len(data.customer) == len(data.company) == 5_000
    assert len({r.record_id for r in data.records}) == 5_000
    assert all(r.record_id.startswith(f"{r.system}:") for r in data.records)
    clusters = data.clusters()
    assert sum(len(c) for c in clusters) == 5_000
    assert data.duplicate_pairs() == sum(len(c) * (len(c) - 1) // 2 for c in clusters)
    sizes = Counter(len(c) for c in clusters)
    assert sizes[1] > 0
    assert sizes[2] > 0
    assert max(sizes) >= 4


def test_duplicates_are_perturbed_not_copied() -> None:
    data = generate(5_000)
    names_per_customer: dict[int, set[str]] = defaultdict(set)
    for record, customer in zip(data.records, data.customer, strict=True):
        names_per_customer[customer].add(record.name)
    spelled_differently = sum(len(names) > 1 for names in names_per_customer.values())
    assert spelled_differently > len(names_per_customer) * 0.15
    assert any(r.phone is None for r in data.records)
    assert any(r.street is None for r in data.records)
    assert any(r.postal_code and "-" in r.postal_code for r in data.records)  # ZIP+4 on some
    assert {r.country for r in data.records} >= {"US", "CA", "GB", "DE", None}


def test_branches_share_a_phone_but_are_different_customers() -> None:
    data = generate(20_000)
    customers_by_phone: dict[str, set[int]] = defaultdict(set)
    companies_by_phone: dict[str, set[int]] = defaultdict(set)
    for record, customer, company in zip(data.records, data.customer, data.company, strict=True):
        phone = normalise(record).phone
        if phone:
            customers_by_phone[phone].add(customer)
            companies_by_phone[phone].add(company)
    shared = [phone for phone, customers in customers_by_phone.items() if len(customers) > 1]
    assert len(shared) > 50
    # Shared phones belong to one company's branches (or, rarely, a recycled number), not to strangers.
    assert sum(len(companies_by_phone[phone]) == 1 for phone in shared) > len(shared) * 0.9
