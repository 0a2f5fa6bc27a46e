"""The partner service a worker runs: 850s out, partners' files in, and SLA clocks, one pass at a time.

SLA clocks, per supplier profile: an 850 without its 855 after `acknowledgement_within`; and, where the profile
declares them, without an 856 after `ship_notice_within` or an 810 after `invoice_within` (both counted from the
850; a PO its 855 rejected in full is due neither). Each raises one exception for purchasing per PO and answer,
however often it is checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from crossdock.partners.inbound import PartnerFileReader
from crossdock.partners.outbound import PurchaseOrderSender
from crossdock.partners.profiles import PartnerProfile
from crossdock.ports.partners import CLOSED, PartnerDocument, PartnerMailbox
from crossdock.ports.store import BusinessException, ExceptionClass, Store, UnitOfWork

logger = logging.getLogger(__name__)

# How far back the 856 and 810 clocks look past their deadline: a PO late longer than this was raised long ago.
_LOOKBACK = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class _Clock:
    """One answer a supplier owes for each 850, and how it is told late."""

    answer: str  # the X12 set due
    what: str  # in words, for the exception
    within: Callable[[PartnerProfile], timedelta | None]


_CLOCKS = (
    _Clock("856", "ship notice", lambda profile: profile.ship_notice_within),
    _Clock("810", "invoice", lambda profile: profile.invoice_within),
)


class PartnerService:
    """Sends purchase orders, takes partners' files, raises exceptions for answers that are late."""

    name = "partners"

    def __init__(
        self,
        sender: PurchaseOrderSender,
        readers: Mapping[str, PartnerFileReader],
        mailboxes: Mapping[str, PartnerMailbox],
        store: Store,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.sender = sender
        self.readers = readers
        self.mailboxes = mailboxes
        self._store = store
        self._clock = clock

    async def run_once(self) -> int:
        """One pass; how many documents it sent or took."""
        handled = await self.sender.run_once()
        for name, reader in self.readers.items():
            try:
                handled += await self.mailboxes[name].take(reader.accept, reader.streamed_files())
            except Exception as error:  # noqa: BLE001 - one partner's outage must not hold up the others
                logger.warning("mailbox of %s not polled: %s", name, error)
        self.check_slas()
        return handled

    def check_slas(self) -> int:
        """Raise an exception for every answer later than its supplier's SLA allows; return how many are late."""
        now = self._clock()
        late = 0
        with self._store.unit_of_work() as uow:
            for reader in self.readers.values():
                profile: PartnerProfile = reader.profile
                if not profile.is_supplier:
                    continue
                overdue = uow.partners.unanswered(profile.name, "850", sent_before=now - profile.acknowledgement_within)
                for document in overdue:
                    late += 1
                    self._raise(uow, profile, document, "855", "acknowledgement", profile.acknowledgement_within)
                for clock in _CLOCKS:
                    within = clock.within(profile)
                    if within is None:
                        continue
                    deadline = now - within
                    for document in uow.partners.awaiting(
                        profile.name,
                        "850",
                        [clock.answer, CLOSED],
                        sent_before=deadline,
                        sent_after=deadline - _LOOKBACK,
                    ):
                        late += 1
                        self._raise(uow, profile, document, clock.answer, clock.what, within)
            if late:
                uow.commit()
        return late

    def _raise(
        self,
        uow: UnitOfWork,
        profile: PartnerProfile,
        document: PartnerDocument,
        answer: str,
        what: str,
        within: timedelta,
    ) -> None:
        hours = within.total_seconds() / 3600
        span = f"{hours:g} h" if hours < 48 else f"{hours / 24:g} days"
        uow.exceptions.raise_exception(
            BusinessException(
                exception_class=ExceptionClass.DOWNSTREAM_OUTAGE,
                reason=(
                    f"no {answer} from {profile.name} for PO {document.reference} within {span} of the "
                    f"850 ({document.file_name}); call the supplier about its {what}"
                    + (" or resend the 850" if answer == "855" else "")
                ),
                owner_queue="purchasing",
                system=profile.system,
                entity="purchase_order",
                subject=document.reference,
                details={"partner": profile.name, "sent_at": str(document.at), "sla": answer},
                dedupe_key=f"sla:{answer}:{profile.name}:{document.reference}",
            )
        )
