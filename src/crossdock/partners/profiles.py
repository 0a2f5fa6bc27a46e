"""A trading partner as the partner flows see it; the composition root builds it from crossdock.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from crossdock.edi.x12 import Delimiters, InterchangeParties
from crossdock.edi.x12.maps import X12CodeTable, X12Context


@dataclass(frozen=True, slots=True)
class X12Identity:
    """Who a party is in an X12 envelope."""

    id: str
    qualifier: str = "ZZ"
    application_code: str | None = None


@dataclass(frozen=True, slots=True)
class PartnerProfile:
    """One partner: who it is to us, how its envelopes look, how its codes map, what it owes us and when."""

    name: str  # its key in crossdock.yaml
    role: str  # supplier or customer
    canonical_id: str  # the supplier's or customer's canonical id
    partner: X12Identity
    us: X12Identity
    version: str = "004010"
    delimiters: Delimiters = field(default_factory=Delimiters)
    strict: bool = False
    usage: str = "P"
    send_997: bool = True
    uom_codes: Mapping[str, str] = field(default_factory=dict)
    ship_method_codes: Mapping[str, str] = field(default_factory=dict)
    acknowledgement_within: timedelta = timedelta(hours=24)
    ship_notice_within: timedelta | None = None  # an 856 after our 850; None: no clock
    invoice_within: timedelta | None = None  # an 810 after our 850; None: no clock
    csv_files: str | None = None  # inventory, orders or price_list: what its .csv files hold

    @property
    def is_supplier(self) -> bool:
        """Whether we buy from it (850s out; 855, 856, 810 in)."""
        return self.role == "supplier"

    @property
    def system(self) -> str:
        """The system name its documents' cross-references are recorded under (`edi-acme`)."""
        return f"edi-{self.name}"

    def codes(self) -> X12CodeTable:
        """The code tables, with this partner's conversions."""
        return X12CodeTable().overridden(uom=dict(self.uom_codes), ship_methods=dict(self.ship_method_codes))

    def outbound_parties(self) -> InterchangeParties:
        """The envelope of what we send it."""
        return InterchangeParties(
            sender_id=self.us.id,
            receiver_id=self.partner.id,
            sender_qualifier=self.us.qualifier,
            receiver_qualifier=self.partner.qualifier,
            application_sender=self.us.application_code,
            application_receiver=self.partner.application_code,
        )

    def inbound_context(self) -> X12Context:
        """How its documents map: it sends, we receive."""
        return X12Context(sender_id=self.canonical_id, receiver_id=self.us.id, system=self.system, codes=self.codes())
