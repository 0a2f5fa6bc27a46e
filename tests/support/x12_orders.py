"""A customer's 850 as its EDI system would send it: an interchange with one purchase order naming its buyer."""

from __future__ import annotations

from collections.abc import Sequence


def customer_850(
    po_number: str,
    buyer: Sequence[str] | None,
    *,
    lines: Sequence[tuple[str, int, str]] = (("SKU-1001", 12, "4.25"),),
    sender: str = "LAKESHOREBUY",
    receiver: str = "CROSSDOCK",
    control: int = 1,
) -> bytes:
    """An 850 with `buyer` = (name, street, city, region, postal code[, qualifier, id]) as its N1*BY loop."""
    body = [
        f"ST*850*{control:04d}",
        f"BEG*00*SA*{po_number}**20261123",
    ]
    if buyer is not None:
        name, street, city, region, postal, *ident = buyer
        body.append(f"N1*BY*{name}" + (f"*{ident[0]}*{ident[1]}" if ident else ""))
        body.append(f"N3*{street}")
        body.append(f"N4*{city}*{region}*{postal}*US")
    body += [
        "N1*ST*RECEIVING DOCK",
        "N3*2200 HARBOR BLVD",
        "N4*COLUMBUS*OH*43215*US",
    ]
    for number, (sku, quantity, price) in enumerate(lines, start=1):
        body.append(f"PO1*{number}*{quantity}*EA*{price}**VP*{sku}")
    body.append(f"CTT*{len(lines)}")
    body.append(f"SE*{len(body) + 1}*{control:04d}")
    isa = f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:15}*ZZ*{receiver:15}*261123*0900*U*00401*{control:09d}*0*P*>"
    segments = [
        isa,
        f"GS*PO*{sender}*{receiver}*20261123*0900*{control}*X*004010",
        *body,
        f"GE*1*{control}",
        f"IEA*1*{control:09d}",
    ]
    return ("~\n".join(segments) + "~\n").encode()
