"""Tryton ERP over JSON-RPC: customers (parties), items (products) and their list prices; no Tryton code is imported."""
