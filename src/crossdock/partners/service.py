"""The partner service a worker runs: 850s out, partners' files in, and SLA clocks, one pass at a time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from crossdock.partners.inbound import PartnerFileReader
from crossdock.partners.outbound import PurchaseOrderSender
from crossdock.partners.profiles import PartnerProfile
from crossdock.ports.partners import PartnerMailbox
from crossdock.ports.store import BusinessException, ExceptionClass, Store

logger = logging.getLogger(__name__)


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
                handled += await self.mailboxes[name].take(reader.accept)
            except Exception as error:  # noqa: BLE001 - one partner's outage must not hold up the others
                logger.warning("mailbox of %s not polled: %s", name, error)
        self.check_slas()
        return handled

    def check_slas(self) -> int:
        """Raise an exception for every 850 whose 855 is later than its partner allows; return how many are late."""
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
                    hours = profile.acknowledgement_within.total_seconds() / 3600
                    uow.exceptions.raise_exception(
                        BusinessException(
                            exception_class=ExceptionClass.DOWNSTREAM_OUTAGE,
                            reason=(
                                f"no 855 from {profile.name} for PO {document.reference} within {hours:g} h of the "
                                f"850 ({document.file_name}); call the supplier or resend the 850"
                            ),
                            owner_queue="purchasing",
                            system=profile.system,
                            entity="purchase_order",
                            subject=document.reference,
                            details={"partner": profile.name, "sent_at": str(document.at), "sla": "855"},
                            dedupe_key=f"sla:855:{profile.name}:{document.reference}",
                        )
                    )
            if late:
                uow.commit()
        return late
