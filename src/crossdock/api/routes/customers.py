"""Customer onboarding: a request for a new account, validated and matched against the customers we have before
anything is created.

The applicant goes through the master-data gate (`customer_matching.py`). A confident match with an existing
customer answers 200 `matched` with that customer's id and creates nothing. A likely match answers 202
`pending_review` too, but its prospect waits in a stewardship case and is logged only if a steward keeps the two
apart. Otherwise the applicant becomes a canonical customer in status `prospect`, logged as
`crossdock.customer.created.v1` (the catalogue has no onboarding-request type; a prospect account is what the model
calls a customer not yet trading), and the answer is 202 `pending_review`: a person approves it and opens the
account in the ERP. No flow delivers it on its own: flows carry changes captured from their source system, not
events the API logs.

Only internal and operator clients may onboard. Partner clients could be granted `customers:write`, but a partner
is itself one customer account, and an account it creates would belong to no partner, so no object-level check
could bound what it does with the route: partner tokens get 403 here whatever their scopes.

The prospect's id is derived from what identifies the company (its tax id, else its name and billing postal code),
so the same applicant sent twice, under any Idempotency-Key, is the same prospect, and the log keeps one event.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator
from starlette.responses import Response

from crossdock.api.auth import caller, context
from crossdock.api.context import ApiContext
from crossdock.api.customer_matching import API_SYSTEM, CustomerProfile, company_key, postal_key, tax_key
from crossdock.api.idempotency import Answer, once, require_key
from crossdock.api.problems import invalid
from crossdock.api.routes.orders import ERRORS
from crossdock.api.routing import GuardedRoute
from crossdock.api.schemas import Country, Currency, Line, Reference
from crossdock.api.security.scopes import Scope
from crossdock.api.security.tokens import Principal
from crossdock.events.envelope import CloudEvent, event_type
from crossdock.mdm.model import CustomerRecord
from crossdock.model.addresses import Address, ContactChannel, ContactPoint
from crossdock.model.party import Customer
from crossdock.ports.api import ClientKind
from crossdock.sync.publish import EventRefusedError, Publisher

router = APIRouter(tags=["customers"], route_class=GuardedRoute)

CUSTOMER_CREATED = event_type("customer", "created")
INTERNAL = (ClientKind.INTERNAL, ClientKind.OPERATOR)
_NAMESPACE = uuid.UUID("3d0c7f5e-9a61-4b8e-8f2d-5c1a7e4b6d93")  # prospect ids derived from the applicant's identity
# What the distributor decides about an account, never the applicant (mass assignment, OWASP API3).
CUSTOMER_READ_ONLY = (
    "id",
    "customer_id",
    "number",
    "status",
    "roles",
    "credit_limit",
    "credit_status",
    "payment_terms",
    "price_group",
    "price_list_id",
    "tax_class",
    "sales_rep",
    "external_refs",
)
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TaxId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./-]{1,39}$")]


def _canonical_errors(error: ValidationError) -> str:
    """The canonical model's complaints, one line, without pydantic's 'Value error, ' prefixes."""
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item.get("loc", ()))
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


class AddressIn(BaseModel):
    """A postal address; US and Canadian ones need a region and a well-formed postal code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Line | None = None
    attention: Line | None = None
    lines: list[Line] = Field(min_length=1, max_length=4, description="street lines, first to last")
    city: Line
    region: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 .-]{1,40}$")] | None = None
    postal_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 -]{1,12}$")] | None = None
    country: Country

    @model_validator(mode="after")
    def _canonical(self) -> AddressIn:
        # The canonical model decides what a valid address is (country-aware postal codes), so the API and the
        # flows cannot disagree about it.
        try:
            self.canonical("mailing")
        except ValidationError as error:
            raise ValueError(_canonical_errors(error)) from None
        return self

    def canonical(self, kind: str, *, is_default: bool = False) -> Address:
        """The canonical address of the given kind."""
        return Address.model_validate({**self.model_dump(exclude_none=True), "kind": kind, "is_default": is_default})


class CustomerOnboarding(BaseModel):
    """A company asking to become a customer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name = Field(description="the company's trading name")
    legal_name: Name | None = Field(default=None, description="its registered name, when it differs")
    tax_id: TaxId | None = Field(default=None, description="its tax number (EIN, VAT number, ...)")
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    currency: Currency = "USD"
    reference: Reference | None = Field(
        default=None, description="your own id for the applicant; the prospect's number until the ERP gives one"
    )
    billing_address: AddressIn
    shipping_addresses: list[AddressIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="before")
    @classmethod
    def _read_only(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            present = sorted(name for name in CUSTOMER_READ_ONLY if name in raw)
            if present:
                one = len(present) == 1
                raise ValueError(
                    f"{', '.join(present)} {'is' if one else 'are'} decided by the distributor, not the applicant "
                    f"(read-only); leave {'it' if one else 'them'} out"
                )
        return raw

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else _contact(ContactChannel.EMAIL, value).value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else _contact(ContactChannel.PHONE, value).value

    def profile(self) -> CustomerProfile:
        """What the request is matched on: its identity, and its fields as matching reads them."""
        billing = self.billing_address
        identity = self.identity()
        record = CustomerRecord(
            record_id=f"{API_SYSTEM}:{identity}",
            system=API_SYSTEM,
            name=self.name,
            legal_name=self.legal_name,
            tax_id=self.tax_id,
            phone=self.phone,
            email=self.email,
            street=" ".join(billing.lines),
            city=billing.city,
            region=billing.region,
            postal_code=billing.postal_code,
            country=billing.country,
        )
        return CustomerProfile(identity, record)

    def identity(self) -> str:
        """What identifies the applicant: its tax id, else its company name and billing postal code."""
        if self.tax_id and tax_key(self.tax_id):
            return f"tax:{tax_key(self.tax_id)}"
        billing = self.billing_address
        return f"name:{company_key(self.name)}|{postal_key(billing.country, billing.postal_code or '')}"


def _contact(channel: ContactChannel, value: str) -> ContactPoint:
    try:
        return ContactPoint(channel=channel, value=value)
    except ValidationError as error:
        raise ValueError(_canonical_errors(error).removeprefix("value: ")) from None


class CustomerMatched(BaseModel):
    """The applicant is likely a customer we have: nothing was created."""

    model_config = ConfigDict(frozen=True)

    status: Literal["matched"] = "matched"
    customer_id: str
    matched_on: list[str] = Field(
        description="the fields that agreed (name, tax_id, address, phone, email), or `steward` for a person's decision"
    )
    links: dict[str, str]


class OnboardingAccepted(BaseModel):
    """The applicant is logged as a prospect, waiting for review before an account is opened."""

    model_config = ConfigDict(frozen=True)

    status: Literal["pending_review"] = "pending_review"
    customer_id: str
    number: str
    links: dict[str, str]


def prospect(customer_id: str, request: CustomerOnboarding) -> Customer:
    """The applicant as a canonical customer in status `prospect`; raises ValidationError if the model refuses."""
    contacts = [
        {"channel": channel, "value": value, "preferred": True}
        for channel, value in (("email", request.email), ("phone", request.phone))
        if value
    ]
    addresses = [request.billing_address.canonical("bill_to", is_default=True)] + [
        address.canonical("ship_to", is_default=n == 0) for n, address in enumerate(request.shipping_addresses)
    ]
    identifiers = []
    if request.tax_id:
        identifiers.append({"scheme": "tax_id", "value": request.tax_id, "country": request.billing_address.country})
    return Customer.model_validate(
        {
            "id": customer_id,
            "number": request.reference or f"P-{customer_id[:8].upper()}",
            "name": request.name,
            "legal_name": request.legal_name,
            "roles": ["sold_to", "bill_to", "ship_to"],
            "status": "prospect",
            "identifiers": identifiers,
            "currency": request.currency,
            "addresses": [a.model_dump() for a in addresses],
            "contact_points": contacts,
        }
    )


def _links(ctx: ApiContext, customer_id: str) -> dict[str, str]:
    if ctx.erp_system is None:
        return {}
    return {"erp_reference": f"/v1/systems/{ctx.erp_system}/xrefs/customer/{customer_id}"}


def _json(document: BaseModel, status: int) -> Answer:
    return Answer(status, orjson.dumps(document.model_dump(mode="json")), {"content-type": "application/json"})


@router.post(
    "/v1/customers",
    status_code=202,
    response_model=OnboardingAccepted,
    responses={**ERRORS, 200: {"model": CustomerMatched, "description": "an existing customer; nothing created"}},
    summary="Ask to onboard a customer",
)
async def onboard_customer(
    request: Request,
    onboarding: CustomerOnboarding,
    principal: Annotated[Principal, Depends(caller(Scope.CUSTOMERS_WRITE, kinds=INTERNAL))],
    ctx: Annotated[ApiContext, Depends(context)],
) -> Response:
    """Match the applicant against existing customers; log a prospect for review if none. Needs an `Idempotency-Key`."""
    key = require_key(request)

    async def answer() -> Answer:
        profile = onboarding.profile()
        found = await ctx.read(lambda uow: ctx.customer_matcher.match(uow, profile))
        if found is not None:
            matched = CustomerMatched(
                customer_id=found.customer_id,
                matched_on=list(found.matched_on),
                links=_links(ctx, found.customer_id),
            )
            return _json(matched, 200)
        customer_id = str(uuid.uuid5(_NAMESPACE, onboarding.identity()))
        try:
            customer = prospect(customer_id, onboarding)
        except ValidationError as error:
            raise invalid(f"the customer breaks a rule: {_canonical_errors(error)}") from None
        event = CloudEvent(
            type=CUSTOMER_CREATED,
            source=f"/api/clients/{principal.client_id}",
            subject=customer_id,
            data=customer.model_dump(mode="json", exclude_none=True),
            # The same applicant again is the same event: the log keeps the first request.
            id=str(uuid.uuid5(_NAMESPACE, f"onboarding:{customer_id}")),
            correlationid=request.scope.get("state", {}).get("correlation_id"),
            businesskeys={"customer": customer.number},
        )
        try:
            Publisher.check_with(event, None)
            # A likely duplicate's prospect waits in a stewardship case; a new applicant's is logged now.
            held = await ctx.write(lambda uow: ctx.customer_matcher.hold(uow, profile, event))
            if held is None:
                await ctx.publisher.publish([event])
        except EventRefusedError as refused:
            raise invalid(f"the customer does not fit the customer event schema: {refused}") from None
        accepted = OnboardingAccepted(customer_id=customer_id, number=customer.number, links=_links(ctx, customer_id))
        return _json(accepted, 202)

    return await once(ctx, request, principal.client_id, key, answer)
