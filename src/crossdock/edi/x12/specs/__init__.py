"""X12 specifications as data: the segment dictionary and the transaction set structures."""

from crossdock.edi.x12.specs.model import TransactionSetSpec, version_family
from crossdock.edi.x12.specs.segments import segment_dictionary
from crossdock.edi.x12.specs.sets import SUPPORTED_SETS, transaction_set_spec

__all__ = ["SUPPORTED_SETS", "TransactionSetSpec", "segment_dictionary", "transaction_set_spec", "version_family"]
