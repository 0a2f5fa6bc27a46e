"""The sandbox org's objects and fields, declared as data: adding a field is one line in an object's dict.

Each field says its Salesforce type and whether it is required on create, createable, updateable, an external id,
a lookup (with its relationship names and what deleting the parent does), or part of a compound field (addresses,
a contact's Name). Everything else (validation, describe, SOQL, change events) reads these declarations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

OnDelete = Literal["restrict", "cascade", "clear"]

# Field types whose values are strings in JSON and in SOQL literals.
STRING_TYPES = frozenset({"string", "textarea", "picklist", "phone", "url", "email", "id", "reference"})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: its type and what the API may do with it."""

    type: str
    required: bool = False  # must have a value on create (not nillable and not defaulted)
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    length: int = 0
    reference_to: str | None = None
    relationship: str | None = None  # the parent relationship name: AccountId -> Account
    child_relationship: str | None = None  # the list on the parent: Account.Contacts
    on_delete: OnDelete = "restrict"  # what deleting the parent does to this record
    values: tuple[str, ...] = ()
    restricted: bool = False
    default: Any = None
    compound: tuple[str, str] | None = None  # (compound field, component): BillingCity -> (BillingAddress, City)
    filterable: bool = True
    name: str = ""
    label: str = ""

    @property
    def custom(self) -> bool:
        """True for fields the distributor's org added (`__c`)."""
        return self.name.endswith("__c")


def text(length: int = 255, **options: Any) -> FieldSpec:
    """A string field."""
    return FieldSpec("string", length=length, **options)


def area(length: int = 255, **options: Any) -> FieldSpec:
    """A text area; long ones (over 255 characters) cannot be filtered or sorted, as in Salesforce."""
    return FieldSpec("textarea", length=length, filterable=length <= 255, **options)


def pick(*values: str, **options: Any) -> FieldSpec:
    """A picklist; `restricted=True` refuses values outside the list."""
    return FieldSpec("picklist", length=255, values=values, **options)


def ref(target: str, relationship: str, children: str | None = None, **options: Any) -> FieldSpec:
    """A lookup to `target`, reachable as `relationship.Field` and, on the parent, as the `children` list."""
    return FieldSpec(
        "reference", length=18, reference_to=target, relationship=relationship, child_relationship=children, **options
    )


def typed(kind: str, **options: Any) -> FieldSpec:
    """A field of any other type (boolean, double, currency, int, date, datetime, phone, url, email)."""
    options.setdefault("length", {"phone": 40, "url": 255, "email": 80}.get(kind, 0))
    return FieldSpec(kind, **options)


def system(kind: str, **options: Any) -> FieldSpec:
    """A field the org maintains: readable, never written by the API."""
    return replace(typed(kind, **options), createable=False, updateable=False)


CURRENCIES = ("USD", "EUR", "GBP", "CAD", "MXN")


def _address(prefix: str) -> dict[str, FieldSpec]:
    compound = f"{prefix}Address"
    return {
        f"{prefix}Street": area(255, compound=(compound, "Street")),
        f"{prefix}City": text(40, compound=(compound, "City")),
        f"{prefix}State": text(80, compound=(compound, "State")),
        f"{prefix}PostalCode": text(20, compound=(compound, "PostalCode")),
        f"{prefix}Country": text(80, compound=(compound, "Country")),
        compound: system("address", filterable=False),
    }


def _order_status_fields() -> dict[str, FieldSpec]:
    """Where a distributor's org shows the ERP's view of an order (on Order, and on a won Opportunity)."""
    return {
        "Promised_Date__c": typed("date", label="Promised Date"),
        "ERP_Status__c": text(40, label="ERP Status"),
        "ERP_Order_Number__c": text(40, label="ERP Order Number"),
        "Status_Reason__c": text(255, label="Status Reason"),
        "Tracking_Numbers__c": text(255, label="Tracking Numbers"),
        "Invoice_Numbers__c": text(255, label="Invoice Numbers"),
        "Invoice_Status__c": text(40, label="Invoice Status"),
    }


def _line_status_fields() -> dict[str, FieldSpec]:
    """How far an order line has got, as the ERP reports it."""
    return {
        "Shipped_Quantity__c": typed("double", label="Shipped Quantity"),
        "Backordered_Quantity__c": typed("double", label="Backordered Quantity"),
        "Cancelled_Quantity__c": typed("double", label="Cancelled Quantity"),
    }


def _system_fields(*, owner: bool, external_id: bool) -> dict[str, FieldSpec]:
    fields = {
        "Id": system("id", length=18),
        "IsDeleted": system("boolean"),
        "CreatedDate": system("datetime"),
        "CreatedById": replace(ref("User", "CreatedBy"), createable=False, updateable=False),
        "LastModifiedDate": system("datetime"),
        "LastModifiedById": replace(ref("User", "LastModifiedBy"), createable=False, updateable=False),
        "SystemModstamp": system("datetime"),
    }
    if owner:
        fields["OwnerId"] = ref("User", "Owner")
    if external_id:
        # The distributor's cross-reference key, present on every object Crossdock writes.
        fields["Crossdock_Id__c"] = text(80, external_id=True, unique=True, label="Crossdock Id")
    return fields


@dataclass(frozen=True, slots=True)
class ChildRelationship:
    """A parent's list of children: Account.Contacts is (Contacts, Contact, AccountId)."""

    name: str
    child: str
    field: str
    on_delete: OnDelete


def _label(name: str) -> str:
    if name.endswith("__c"):
        return name[:-3].replace("_", " ")
    if name.endswith("Id") and len(name) > 2:
        return _label(name[:-2]) + " ID"
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)


@dataclass
class ObjectSpec:
    """One sObject type: name, key prefix, labels and its fields."""

    name: str
    key_prefix: str
    fields: dict[str, FieldSpec]
    label: str = ""
    plural: str = ""
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    by_lower: dict[str, FieldSpec] = field(default_factory=dict, repr=False)
    parents: dict[str, FieldSpec] = field(default_factory=dict, repr=False)
    compounds: dict[str, list[str]] = field(default_factory=dict, repr=False)
    external_ids: list[str] = field(default_factory=list, repr=False)
    required: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.label = self.label or self.name
        self.plural = self.plural or f"{self.label}s"
        self.fields = {
            name: replace(spec, name=name, label=spec.label or _label(name)) for name, spec in self.fields.items()
        }
        self.by_lower = {name.lower(): spec for name, spec in self.fields.items()}
        self.parents = {spec.relationship.lower(): spec for spec in self.fields.values() if spec.relationship}
        for spec in self.fields.values():
            if spec.compound:
                self.compounds.setdefault(spec.compound[0], []).append(spec.name)
        self.external_ids = [name for name, spec in self.fields.items() if spec.external_id]
        self.required = [name for name, spec in self.fields.items() if spec.required]

    def field(self, name: str) -> FieldSpec | None:
        """The field called `name`, in any case, as SOQL and the REST API accept it."""
        return self.by_lower.get(name.lower())


_STAGES = {
    "Prospecting": (False, False),
    "Qualification": (False, False),
    "Needs Analysis": (False, False),
    "Value Proposition": (False, False),
    "Id. Decision Makers": (False, False),
    "Perception Analysis": (False, False),
    "Proposal/Price Quote": (False, False),
    "Negotiation/Review": (False, False),
    "Closed Won": (True, True),
    "Closed Lost": (True, False),
}
# StageName -> (IsClosed, IsWon), as the org's OpportunityStage rows say.
OPPORTUNITY_STAGES: dict[str, tuple[bool, bool]] = _STAGES
_UOM = ("Each", "Case", "Pack", "Pallet", "Box", "Kilogram", "Liter", "Meter")
_CURRENCY = pick(*CURRENCIES, restricted=True, default="USD", label="Currency ISO Code")


def _objects() -> list[ObjectSpec]:
    account = ObjectSpec(
        "Account",
        "001",
        {
            **_system_fields(owner=True, external_id=True),
            "Name": text(255, required=True, label="Account Name"),
            "AccountNumber": text(40),
            "Type": pick("Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller", "Other"),
            "Industry": pick("Construction", "Electrical", "Food & Beverage", "Healthcare", "Manufacturing", "Retail"),
            **_address("Billing"),
            **_address("Shipping"),
            "Phone": typed("phone"),
            "Fax": typed("phone"),
            "Website": typed("url"),
            "ParentId": ref("Account", "Parent", "ChildAccounts", on_delete="clear"),
            "Description": area(32000),
            "AnnualRevenue": typed("currency"),
            "NumberOfEmployees": typed("int"),
            "CurrencyIsoCode": _CURRENCY,
            "Payment_Terms__c": pick("Due on Receipt", "Net 15", "Net 30", "Net 45", "Net 60", "2/10 Net 30"),
            "Credit_Limit__c": typed("currency"),
            "Credit_Status__c": pick("Good Standing", "On Hold", "Blocked", "Cash in Advance"),
            "Tax_Id__c": text(30),
            "Sales_Channel__c": pick("Field Sales", "Inside Sales", "eCommerce", "EDI", "Distributor Portal"),
        },
    )
    contact = ObjectSpec(
        "Contact",
        "003",
        {
            **_system_fields(owner=True, external_id=True),
            "AccountId": ref("Account", "Account", "Contacts", on_delete="cascade"),
            "Salutation": pick("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", compound=("Name", "Salutation")),
            "FirstName": text(40, compound=("Name", "FirstName")),
            "LastName": text(80, required=True, compound=("Name", "LastName")),
            "Name": system("string", length=121, label="Full Name"),
            "Email": typed("email"),
            "Phone": typed("phone"),
            "MobilePhone": typed("phone"),
            "Title": text(128),
            "Department": text(80),
            **_address("Mailing"),
            "Description": area(32000),
            "CurrencyIsoCode": _CURRENCY,
        },
    )
    opportunity = ObjectSpec(
        "Opportunity",
        "006",
        {
            **_system_fields(owner=True, external_id=True),
            "Name": text(120, required=True),
            "AccountId": ref("Account", "Account", "Opportunities", on_delete="cascade"),
            "StageName": pick(*_STAGES, required=True, restricted=True, label="Stage"),
            "CloseDate": typed("date", required=True),
            "Amount": typed("currency"),
            "Type": pick("New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement"),
            "IsClosed": system("boolean"),
            "IsWon": system("boolean"),
            "Pricebook2Id": ref("Pricebook2", "Pricebook2", "Opportunities", label="Price Book ID"),
            "HasOpportunityLineItem": system("boolean", label="Has Line Item"),
            "Description": area(32000),
            "CurrencyIsoCode": _CURRENCY,
            **_order_status_fields(),
        },
        plural="Opportunities",
    )
    product = ObjectSpec(
        "Product2",
        "01t",
        {
            **_system_fields(owner=False, external_id=True),
            "Name": text(255, required=True, label="Product Name"),
            "ProductCode": text(255),
            "Description": area(4000),
            "IsActive": typed("boolean", default=False),
            "QuantityUnitOfMeasure": pick(*_UOM, label="Quantity Unit Of Measure"),
            "Family": pick("Fasteners", "Electrical", "Plumbing", "Safety", "Packaging", "Tools"),
            "StockKeepingUnit": text(180),
            "CurrencyIsoCode": _CURRENCY,
        },
        label="Product",
    )
    pricebook = ObjectSpec(
        "Pricebook2",
        "01s",
        {
            **_system_fields(owner=False, external_id=True),
            "Name": text(255, required=True, label="Price Book Name"),
            "IsActive": typed("boolean", default=False),
            "IsStandard": system("boolean"),
            "Description": text(255),
        },
        label="Price Book",
    )
    entry = ObjectSpec(
        "PricebookEntry",
        "01u",
        {
            **_system_fields(owner=False, external_id=True),
            "Pricebook2Id": ref(
                "Pricebook2", "Pricebook2", "PricebookEntries", on_delete="cascade", required=True, updateable=False
            ),
            "Product2Id": ref(
                "Product2", "Product2", "PricebookEntries", on_delete="cascade", required=True, updateable=False
            ),
            "UnitPrice": typed("currency", required=True, label="List Price"),
            "IsActive": typed("boolean", default=False),
            "UseStandardPrice": typed("boolean", default=False),
            "Name": system("string", length=255, label="Product Name"),
            "ProductCode": system("string", length=255),
            "CurrencyIsoCode": replace(_CURRENCY, updateable=False),
        },
        label="Price Book Entry",
        plural="Price Book Entries",
    )
    order = ObjectSpec(
        "Order",
        "801",
        {
            **_system_fields(owner=True, external_id=True),
            "AccountId": ref("Account", "Account", "Orders", required=True),
            "Pricebook2Id": ref("Pricebook2", "Pricebook2", "Orders", label="Price Book ID"),
            "Status": pick("Draft", "Activated", required=True, restricted=True, default="Draft"),
            "EffectiveDate": typed("date", required=True, label="Order Start Date"),
            "EndDate": typed("date"),
            "OrderNumber": system("string", length=30),
            "TotalAmount": system("currency", label="Order Amount"),
            "PoNumber": text(80, label="PO Number"),
            "Type": pick("Standard", "Drop Ship", "Backorder", "Return"),
            "Description": area(32000),
            **_address("Billing"),
            **_address("Shipping"),
            "CurrencyIsoCode": _CURRENCY,
            **_order_status_fields(),
        },
    )
    item = ObjectSpec(
        "OrderItem",
        "802",
        {
            **_system_fields(owner=False, external_id=True),
            "OrderId": ref("Order", "Order", "OrderItems", on_delete="cascade", required=True, updateable=False),
            "PricebookEntryId": ref("PricebookEntry", "PricebookEntry", "OrderItems", required=True, updateable=False),
            "Product2Id": ref("Product2", "Product2", "OrderItems", updateable=False),
            "Quantity": typed("double", required=True),
            "UnitPrice": typed("currency", required=True),
            "ListPrice": system("currency"),
            "TotalPrice": system("currency"),
            "ServiceDate": typed("date", label="Start Date"),
            "Description": text(255, label="Line Description"),
            "OrderItemNumber": system("string", length=30),
            "CurrencyIsoCode": replace(_CURRENCY, createable=False, updateable=False),
            **_line_status_fields(),
        },
        label="Order Product",
    )
    # TotalPrice is derived here; Salesforce also takes it instead of UnitPrice on create.
    opportunity_item = ObjectSpec(
        "OpportunityLineItem",
        "00k",
        {
            **_system_fields(owner=False, external_id=True),
            "OpportunityId": ref(
                "Opportunity",
                "Opportunity",
                "OpportunityLineItems",
                on_delete="cascade",
                required=True,
                updateable=False,
            ),
            "PricebookEntryId": ref(
                "PricebookEntry", "PricebookEntry", "OpportunityLineItems", required=True, updateable=False
            ),
            "Product2Id": ref("Product2", "Product2", "OpportunityLineItems", updateable=False),
            "ProductCode": system("string", length=255),
            "Quantity": typed("double", required=True),
            "UnitPrice": typed("currency", required=True, label="Sales Price"),
            "ListPrice": system("currency"),
            "TotalPrice": system("currency"),
            "ServiceDate": typed("date", label="Date"),
            "Description": text(255, label="Line Description"),
            "CurrencyIsoCode": replace(_CURRENCY, createable=False, updateable=False),
            **_line_status_fields(),
        },
        label="Opportunity Product",
    )
    # The API user and other people in the org; read-only through this sandbox.
    user = ObjectSpec(
        "User",
        "005",
        {
            **_system_fields(owner=False, external_id=False),
            "Username": text(80, required=True),
            "FirstName": text(40),
            "LastName": text(80, required=True),
            "Name": system("string", length=121, label="Full Name"),
            "Email": typed("email", required=True),
            "Alias": text(8),
            "IsActive": typed("boolean", default=True),
        },
        createable=False,
        updateable=False,
        deletable=False,
    )
    return [account, contact, opportunity, product, pricebook, entry, order, item, opportunity_item, user]


class Schema:
    """All objects of the org, with lookups by name (any case), key prefix and child relationship."""

    def __init__(self, objects: Iterable[ObjectSpec]) -> None:
        self.objects = {spec.name: spec for spec in objects}
        self._by_lower = {name.lower(): spec for name, spec in self.objects.items()}
        self._by_prefix = {spec.key_prefix: spec for spec in self.objects.values()}
        self.children: dict[str, dict[str, ChildRelationship]] = {name: {} for name in self.objects}
        for spec in self.objects.values():
            for child_field in spec.fields.values():
                if child_field.child_relationship and child_field.reference_to:
                    self.children[child_field.reference_to][child_field.child_relationship.lower()] = ChildRelationship(
                        child_field.child_relationship, spec.name, child_field.name, child_field.on_delete
                    )

    def get(self, name: str) -> ObjectSpec | None:
        """The object called `name`, in any case."""
        return self._by_lower.get(name.lower())

    def for_id(self, record_id: str) -> ObjectSpec | None:
        """The object an id belongs to, by its 3-character key prefix."""
        return self._by_prefix.get(record_id[:3])

    def child(self, parent: str, relationship: str) -> ChildRelationship | None:
        """A child relationship of `parent` by name, in any case (Account, contacts)."""
        return self.children[parent].get(relationship.lower())


def default_schema() -> Schema:
    """The distributor org: Account, Contact, Opportunity, OpportunityLineItem, Product2, Pricebook2, PricebookEntry,
    Order, OrderItem, User."""
    return Schema(_objects())
