"""Tryton ERP over JSON-RPC: customers (parties) and items (products) today; no Tryton code is imported."""
