"""Customer accounts (bill-to and ship-to, with their hierarchy), their contacts, and suppliers."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, field_validator, model_validator

from crossdock.model.addresses import (
    Address,
    AddressKind,
    ContactPoint,
    emails,
    ensure_one_default_per_kind,
    ensure_one_preferred_per_channel,
    phones,
)
from crossdock.model.common import CanonicalModel, Entity, Identifier, Money
from crossdock.model.scalars import CanonicalId, Code, CurrencyCode, Percent, Text


class PaymentTerms(CanonicalModel):
    """When an invoice is due, and the early-payment discount if any ("2/10 net 30")."""

    code: Code
    """The terms code both sides use, e.g. NET30 or 2-10-N30."""
    net_days: int = Field(ge=0, le=365)
    discount_percent: Percent | None = None
    discount_days: int | None = Field(default=None, ge=0, le=365)
    description: Text | None = None

    @model_validator(mode="after")
    def check_discount(self) -> Self:
        """A discount needs both its percentage and its days, and must end before the net date."""
        if (self.discount_percent is None) != (self.discount_days is None):
            raise ValueError(f"payment terms {self.code}: give discount_percent and discount_days together")
        if self.discount_days is not None and self.discount_days > self.net_days:
            raise ValueError(
                f"payment terms {self.code}: discount_days {self.discount_days} is after net_days {self.net_days}"
            )
        return self


class AccountRole(StrEnum):
    """What an account does in the order-to-cash flow; one account often plays several roles."""

    SOLD_TO = "sold_to"
    """Places orders."""
    BILL_TO = "bill_to"
    """Receives invoices and carries credit."""
    SHIP_TO = "ship_to"
    """Receives goods; usually a child of a bill-to account."""
    PAYER = "payer"
    """Pays invoices on behalf of others (a head office)."""


class CreditStatus(StrEnum):
    """Whether new orders may ship on credit."""

    OK = "ok"
    HOLD = "hold"
    """Orders are taken but held until credit releases them."""
    BLOCKED = "blocked"
    """No new orders are accepted."""


class AccountStatus(StrEnum):
    """Where an account is in its lifecycle."""

    PROSPECT = "prospect"
    ACTIVE = "active"
    INACTIVE = "inactive"
    CLOSED = "closed"


class SalesChannel(StrEnum):
    """How an account usually buys."""

    FIELD_SALES = "field_sales"
    INSIDE_SALES = "inside_sales"
    ECOMMERCE = "ecommerce"
    EDI = "edi"
    MARKETPLACE = "marketplace"
    COUNTER = "counter"
    """Will-call at a branch counter."""


class Customer(Entity):
    """A customer account: sold-to, bill-to or ship-to, in a parent hierarchy (ship-tos under their bill-to)."""

    number: Code
    """The customer number people and documents use; a business key in lineage."""
    name: Text
    roles: list[AccountRole] = Field(min_length=1)
    parent_id: CanonicalId | None = None
    """The parent account: a ship-to's bill-to, or a bill-to's head office."""
    status: AccountStatus = AccountStatus.ACTIVE
    legal_name: Text | None = None
    """The registered name of the customer's legal entity, when it differs from `name`."""
    legal_entity: Code | None = None
    """Our own legal entity (company code) that trades with this account, for multi-company ERPs."""
    identifiers: list[Identifier] = Field(default_factory=list)
    """Tax ids, VAT numbers, D-U-N-S, GLN."""
    currency: CurrencyCode
    payment_terms: PaymentTerms | None = None
    credit_limit: Money | None = None
    credit_status: CreditStatus = CreditStatus.OK
    tax_class: Code | None = None
    """The ERP's tax class or exemption code (for example a resale certificate)."""
    price_group: Code | None = None
    """The customer group that price lists and contract prices refer to."""
    price_list_id: CanonicalId | None = None
    sales_rep: Code | None = None
    """The sales rep's code or canonical id; the CRM owns it."""
    channel: SalesChannel | None = None
    addresses: list[Address] = Field(default_factory=list)
    contact_points: list[ContactPoint] = Field(default_factory=list)
    """Account-level phone numbers and e-mail addresses (order desk, accounts payable)."""

    @field_validator("roles")
    @classmethod
    def sort_roles(cls, roles: list[AccountRole]) -> list[AccountRole]:
        """Roles sorted and unique: their order means nothing, and a stable order keeps content hashes stable."""
        return sorted(set(roles))

    @model_validator(mode="after")
    def check_account(self) -> Self:
        """Credit in the account currency, no self-parenting, one default address per kind."""
        owner = f"customer {self.number}"
        if self.parent_id == self.id:
            raise ValueError(f"{owner} is its own parent; parent_id must name another account")
        if self.credit_limit is not None:
            if self.credit_limit.currency != self.currency:
                raise ValueError(
                    f"{owner}: credit_limit currency {self.credit_limit.currency} differs from the account "
                    f"currency {self.currency}"
                )
            if self.credit_limit.amount < 0:
                raise ValueError(f"{owner}: credit_limit {self.credit_limit} is negative")
        ensure_one_default_per_kind(self.addresses, owner)
        ensure_one_preferred_per_channel(self.contact_points, owner)
        return self

    def address(self, kind: AddressKind) -> Address | None:
        """The default address of `kind`, else the first of that kind, else None."""
        of_kind = [a for a in self.addresses if a.kind == kind]
        return next((a for a in of_kind if a.is_default), of_kind[0] if of_kind else None)

    def has_role(self, role: AccountRole) -> bool:
        """True if the account plays `role`."""
        return role in self.roles


class ContactRole(StrEnum):
    """What a contact does for their company, as far as we deal with them."""

    PURCHASING = "purchasing"
    ACCOUNTS_PAYABLE = "accounts_payable"
    ACCOUNTS_RECEIVABLE = "accounts_receivable"
    RECEIVING = "receiving"
    SHIPPING = "shipping"
    DECISION_MAKER = "decision_maker"
    TECHNICAL = "technical"
    SALES = "sales"


class Contact(Entity):
    """A person (or a role mailbox) at a customer or supplier account."""

    account_id: CanonicalId
    """The customer or supplier this contact belongs to."""
    given_name: Text | None = None
    family_name: Text | None = None
    middle_name: Text | None = None
    salutation: Text | None = None
    """Mr, Ms, Dr."""
    job_title: Text | None = None
    roles: list[ContactRole] = Field(default_factory=list)
    is_primary: bool = False
    """The account's main contact."""
    active: bool = True
    contact_points: list[ContactPoint] = Field(default_factory=list)
    language: Code | None = None
    """BCP 47 language tag for documents and e-mails (en, de-CH)."""

    @field_validator("roles")
    @classmethod
    def sort_roles(cls, roles: list[ContactRole]) -> list[ContactRole]:
        """Roles sorted and unique, like an account's."""
        return sorted(set(roles))

    @model_validator(mode="after")
    def check_contact(self) -> Self:
        """A contact has at least one name part and one preferred point per channel."""
        if self.given_name is None and self.family_name is None:
            raise ValueError(f"contact {self.id} needs a given_name or a family_name")
        ensure_one_preferred_per_channel(self.contact_points, f"contact {self.id}")
        return self

    @property
    def full_name(self) -> str:
        """Given, middle and family name joined by spaces."""
        return " ".join(p for p in (self.given_name, self.middle_name, self.family_name) if p)

    @property
    def emails(self) -> list[str]:
        """The contact's e-mail addresses, preferred first."""
        return emails(self.contact_points)

    @property
    def phones(self) -> list[str]:
        """The contact's phone numbers, preferred first."""
        return phones(self.contact_points)


class SupplierStatus(StrEnum):
    """Whether we buy from a supplier."""

    ACTIVE = "active"
    ON_HOLD = "on_hold"
    """No new purchase orders (quality or payment dispute)."""
    INACTIVE = "inactive"


class Supplier(Entity):
    """A supplier (vendor) we buy from, including drop-ship suppliers who ship straight to our customers."""

    number: Code
    """The vendor number; a business key in lineage."""
    name: Text
    status: SupplierStatus = SupplierStatus.ACTIVE
    legal_name: Text | None = None
    identifiers: list[Identifier] = Field(default_factory=list)
    """Tax ids, D-U-N-S and GLN; EDI partners are often identified by them."""
    currency: CurrencyCode
    payment_terms: PaymentTerms | None = None
    drop_ships: bool = False
    """The supplier ships orders directly to our customers."""
    lead_time_days: int | None = Field(default=None, ge=0, le=730)
    minimum_order: Money | None = None
    addresses: list[Address] = Field(default_factory=list)
    """Remit-to and ship-from addresses."""
    contact_points: list[ContactPoint] = Field(default_factory=list)

    @model_validator(mode="after")
    def check_supplier(self) -> Self:
        """Minimum order in the supplier's currency, one default address per kind."""
        owner = f"supplier {self.number}"
        if self.minimum_order is not None and self.minimum_order.currency != self.currency:
            raise ValueError(
                f"{owner}: minimum_order currency {self.minimum_order.currency} differs from the supplier "
                f"currency {self.currency}"
            )
        ensure_one_default_per_kind(self.addresses, owner)
        ensure_one_preferred_per_channel(self.contact_points, owner)
        return self
