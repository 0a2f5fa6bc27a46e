"""Payloads as the console shows them: personal and secret values masked, the shape and the business keys kept.

Masking is by attribute name (email, phone, tax id, bank details, secrets, a person's name and street) and by what
a value looks like (an e-mail address, a card or account number, a phone number) anywhere in a document, EDI text
included. What stays readable is what an operator needs to follow a transaction: numbers of orders, customers and
items, quantities, prices, states, dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MASK = "•••"
DEFAULT_SENSITIVE_KEYS = frozenset(
    {
        "email",
        "phone",
        "mobile",
        "fax",
        "tax_id",
        "tax_identifier",
        "vat",
        "iban",
        "bic",
        "bank_account",
        "account_number",
        "routing_number",
        "card_number",
        "password",
        "secret",
        "token",
        "api_key",
        "first_name",
        "last_name",
        "contact_name",
        "street",
        "street2",
        "line1",
        "line2",
        "date_of_birth",
        "ssn",
    }
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# 13-19 digits, maybe grouped: card and account numbers.
_LONG_NUMBER = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(r"(?<![\w/-])\+?\(?\d{1,4}\)?[ .-]\d{2,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?\b")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@dataclass(frozen=True)
class Redactor:
    """Masks sensitive values in JSON-like documents and in text."""

    sensitive_keys: frozenset[str] = field(default=DEFAULT_SENSITIVE_KEYS)

    def with_keys(self, keys: Iterable[str]) -> Redactor:
        """A redactor that also masks these attribute names."""
        return Redactor(self.sensitive_keys | {_key(k) for k in keys})

    def is_sensitive(self, name: str) -> bool:
        """True for an attribute whose value is masked whole."""
        key = _key(name)
        return key in self.sensitive_keys or any(key.endswith(f"_{s}") for s in self.sensitive_keys)

    def document(self, value: Any) -> Any:
        """A copy of a JSON-like value with sensitive attributes and values masked."""
        if isinstance(value, dict):
            return {
                k: (MASK if self.is_sensitive(str(k)) and v not in (None, "", [], {}) else self.document(v))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.document(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def text(self, value: str) -> str:
        """Text with e-mail addresses, card and account numbers and phone numbers masked."""
        masked = _EMAIL.sub(MASK, value)
        masked = _LONG_NUMBER.sub(MASK, masked)
        return _PHONE.sub(MASK, masked)
