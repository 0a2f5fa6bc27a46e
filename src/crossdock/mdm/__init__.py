"""Master data for customers: normalisation, duplicate matching, golden records, survivorship and stewardship.

`model` holds the shapes every part shares. The matching engine (`normalize`, `matching`, `blocking`, `index`,
`batch`) is pure and store-free, so the benchmark and the online path score the same way; golden records, merges
and the stewardship queue (`golden`, `survivorship`, `stewardship`, `online`) keep their state in the store.
"""
