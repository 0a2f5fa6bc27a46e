"""Is a customer asking to be onboarded one we already have? Asked of the master-data gate, behind a port.

`GateCustomerMatcher` puts the applicant through the MDM customer gate (`crossdock.mdm.online`): its candidates
are the golden customers sharing a blocking key with it in the store's match index, scored by the same matcher as
every other system's new customers. A confident match (or a pair a steward has merged) is that customer: the
route answers `matched` and creates nothing. A likely match is held: `hold` opens a stewardship case keeping the
prospect's event, which is logged only if a steward keeps the two apart. `NoCustomerMatcher` matches nothing, for
an API wired without master data.

The applicant's identity (its tax id, else its company name and billing postal code) names it in cases, so the same
applicant asking again finds its case, or the steward's decision, instead of a new one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from crossdock.events.envelope import CloudEvent
from crossdock.mdm.model import CustomerRecord
from crossdock.mdm.online import Admission, Arrival, CustomerGate
from crossdock.mdm.release import HeldEvents
from crossdock.ports.store import UnitOfWork

API_SYSTEM = "api"
# Words that say what kind of company it is, not which one: "Acme Supply LLC" and "ACME SUPPLY" are one company.
LEGAL_SUFFIXES = frozenset(
    {
        "ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "gmbh", "inc", "incorporated", "kg", "lp",
        "llc", "llp", "ltd", "limited", "nv", "oy", "plc", "pty", "sa", "sarl", "spa", "srl",
    }
)  # fmt: skip
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def company_key(name: str) -> str:
    """The name with case, accents, punctuation and trailing legal suffixes dropped: `acme supply`."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    words = _NOT_WORD.sub(" ", plain.replace("&", " and ")).split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def tax_key(value: str) -> str:
    """A tax id with separators dropped and letters upper-cased: `12-3456789` is `123456789`."""
    return _NOT_ALNUM.sub("", value.upper())


def postal_key(country: str, postal_code: str) -> str:
    """A postal code with spaces and dashes dropped, per country; US ZIP+4 counts as its five-digit ZIP."""
    code = _NOT_ALNUM.sub("", postal_code.upper())
    return f"{country.upper()}:{code[:5] if country.upper() == 'US' else code}"


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """What an applicant is matched on: who it is (its identity) and its fields as matching reads them."""

    identity: str
    record: CustomerRecord


@dataclass(frozen=True, slots=True)
class CustomerMatch:
    """An existing customer the request is likely the same as, and why."""

    customer_id: str
    matched_on: tuple[str, ...]


class CustomerMatcher(Protocol):
    """Finds the existing customer an onboarding request likely is, and holds the doubtful ones for a steward."""

    def match(self, uow: UnitOfWork, profile: CustomerProfile) -> CustomerMatch | None:
        """The existing customer the applicant is, or None (new, or a likely duplicate for `hold`)."""
        ...

    def hold(self, uow: UnitOfWork, profile: CustomerProfile, prospect: CloudEvent) -> int | None:
        """Open (or find) the stewardship case of a likely duplicate, keeping the prospect's event in it; the
        case's id, or None when the applicant is new and its prospect may be logged."""
        ...


class NoCustomerMatcher:
    """No master data to match against: every applicant is new."""

    def match(self, uow: UnitOfWork, profile: CustomerProfile) -> CustomerMatch | None:
        """Nothing."""
        return None

    def hold(self, uow: UnitOfWork, profile: CustomerProfile, prospect: CloudEvent) -> int | None:
        """Nothing is held."""
        return None


class GateCustomerMatcher:
    """The `CustomerMatcher` port over the MDM customer gate."""

    def __init__(self, gate: CustomerGate, *, system: str = API_SYSTEM) -> None:
        self._gate = gate
        self._system = system

    def _arrival(self, profile: CustomerProfile) -> Arrival:
        return Arrival(self._system, profile.identity, profile.record)

    def match(self, uow: UnitOfWork, profile: CustomerProfile) -> CustomerMatch | None:
        """A confident match, or a pair a steward merged: that customer."""
        answer = self._gate.screen(uow, self._arrival(profile))
        if answer.admission not in (Admission.KNOWN, Admission.LINKED) or answer.canonical_id is None:
            return None
        if answer.case is not None or answer.match is None:
            return CustomerMatch(answer.canonical_id, ("steward",))  # a person decided it
        return CustomerMatch(answer.canonical_id, tuple(answer.match.agreed_on()) or ("steward",))

    def hold(self, uow: UnitOfWork, profile: CustomerProfile, prospect: CloudEvent) -> int | None:
        """A likely duplicate's case (the prospect waits in it), or None for a new applicant."""
        held = HeldEvents(
            system=self._system,
            local_id=profile.identity,
            provisional_id=prospect.subject,
            created=prospect,
            customer_field=None,
            adopt=False,  # a prospect is not a customer yet: the account is opened after review
            link=False,  # an applicant has no record in a system to cross-reference
        )
        answer = self._gate.admit(uow, self._arrival(profile), held=held.to_json(), link=False)
        if answer.admission is Admission.HELD and answer.case is not None:
            return answer.case.id
        return None
