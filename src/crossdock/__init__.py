"""Crossdock: distribution middleware that keeps ERP, CRM, WMS, eCommerce and supplier systems in step."""

__version__ = "0.1.0"
