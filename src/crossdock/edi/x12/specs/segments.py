"""The X12 segment dictionary this toolkit validates against: elements (type, length, key code lists) and segments.

Segments are written compactly: `"353M 92M 324M 328"` lists element reference numbers in position order, `M`
mandatory, `X` relational (governed by a syntax rule), nothing optional; composites are named `C040`. Rules use the
standard's notation (`P0304`). Lengths follow the 004010 dictionary; `segment_dictionary("005010")` applies the
5010 differences (longer REF02, N407, ST03, AK103/AK203, the wider 997 code lists).
"""

from __future__ import annotations

from functools import cache

from crossdock.edi.x12.specs.model import DataType, ElementDef, ElementUse, SegmentDef, SyntaxRule, Usage

_T = DataType

SEGMENT_SYNTAX_4010 = frozenset("12345678")
SEGMENT_SYNTAX_5010 = SEGMENT_SYNTAX_4010 | {"I4", "I6", "I7", "I8", "I9"}
ELEMENT_SYNTAX_4010 = frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "13"})
ELEMENT_SYNTAX_5010 = ELEMENT_SYNTAX_4010 | {"I10", "I11", "I12", "I13", "I6", "I9"}
SET_SYNTAX_4010 = frozenset({*(str(n) for n in range(1, 20) if n != 14), "23"})
SET_SYNTAX_5010 = SET_SYNTAX_4010 | {"24", "25", "26", "27", "I5", "I6"}
GROUP_SYNTAX = frozenset({"1", "2", "3", "4", "5", "6", *(str(n) for n in range(13, 27))})

ACK_TYPES = frozenset({"AC", "AD", "AE", "AH", "AK", "AP", "AT", "NA", "RD", "RF", "RJ", "RN", "RO", "RV", "ZZ"})
"""BAK02 acknowledgment type codes."""
LINE_STATUSES = frozenset(
    {"AC", "AR", "BP", "DR", "IA", "IB", "IC", "ID", "IE", "IF", "IH", "IP", "IQ", "IR", "IS", "IW"}
    | {"R1", "R2", "R3", "R4", "SP"}
)
"""ACK01 (and SN108) line item status codes."""
HL_LEVELS = frozenset({"S", "O", "T", "P", "Q", "I", "F"})
"""HL03 levels used in ship notices: shipment, order, tare, pack, inner pack, item, component."""
CHANGE_TYPES = frozenset(
    {"AI", "CA", "CB", "CE", "CF", "CG", "CI", "CP", "CT", "DI", "MU", "NC", "OC", "PC", "PQ", "PR", "PS"}
    | {"QD", "QI", "RA", "RC", "RE", "RM", "RQ", "RS", "RZ", "SC", "SU"}
)
"""POC02 change or response type codes (860)."""


def _e(ref: int, kind: DataType, low: int, high: int, name: str, codes: frozenset[str] | None = None) -> ElementDef:
    decimals = 2 if ref in _N2 else 0
    return ElementDef(ref, name, kind, low, high, codes, decimals)


_N2 = {610, 362, 389}  # amounts with two implied decimal places (TDS01 8668 is 86.68)

_ELEMENTS: tuple[ElementDef, ...] = (
    _e(2, _T.N0, 1, 6, "Number of Accepted Transaction Sets"),
    _e(19, _T.AN, 2, 30, "City Name"),
    _e(22, _T.AN, 1, 30, "Commodity Code"),
    _e(23, _T.ID, 1, 1, "Commodity Code Qualifier"),
    _e(26, _T.ID, 2, 3, "Country Code"),
    _e(28, _T.N0, 1, 9, "Group Control Number"),
    _e(40, _T.ID, 2, 2, "Equipment Description Code"),
    _e(54, _T.ID, 2, 2, "Risk of Loss Code"),
    _e(61, _T.AN, 1, 30, "Free-Form Message"),
    _e(65, _T.R, 1, 8, "Height"),
    _e(66, _T.ID, 1, 2, "Identification Code Qualifier"),
    _e(67, _T.AN, 2, 80, "Identification Code"),
    _e(76, _T.AN, 1, 22, "Invoice Number"),
    _e(79, _T.AN, 1, 50, "Lading Description"),
    _e(80, _T.N0, 1, 7, "Lading Quantity"),
    _e(81, _T.R, 1, 10, "Weight"),
    _e(82, _T.R, 1, 8, "Length"),
    _e(87, _T.AN, 1, 48, "Marks and Numbers"),
    _e(88, _T.ID, 1, 2, "Marks and Numbers Qualifier"),
    _e(91, _T.ID, 1, 2, "Transportation Method/Type Code"),
    _e(92, _T.ID, 2, 2, "Purchase Order Type Code"),
    _e(93, _T.AN, 1, 60, "Name"),
    _e(96, _T.N0, 1, 10, "Number of Included Segments"),
    _e(97, _T.N0, 1, 6, "Number of Transaction Sets Included"),
    _e(98, _T.ID, 2, 3, "Entity Identifier Code"),
    _e(100, _T.ID, 3, 3, "Currency Code"),
    _e(102, _T.ID, 2, 2, "Ownership Code"),
    _e(103, _T.AN, 3, 5, "Packaging Code"),
    _e(107, _T.ID, 1, 2, "Payment Method Code"),
    _e(116, _T.ID, 3, 15, "Postal Code"),
    _e(118, _T.R, 1, 9, "Rate"),
    _e(123, _T.N0, 1, 6, "Number of Received Transaction Sets"),
    _e(127, _T.AN, 1, 30, "Reference Identification"),
    _e(128, _T.ID, 2, 3, "Reference Identification Qualifier"),
    _e(133, _T.ID, 1, 2, "Routing Sequence Code"),
    _e(140, _T.ID, 2, 4, "Standard Carrier Alpha Code"),
    _e(143, _T.ID, 3, 3, "Transaction Set Identifier Code"),
    _e(146, _T.ID, 2, 2, "Shipment Method of Payment"),
    _e(152, _T.ID, 2, 3, "Special Handling Code"),
    _e(156, _T.ID, 2, 2, "State or Province Code"),
    _e(166, _T.AN, 1, 55, "Address Information"),
    _e(183, _T.R, 1, 8, "Volume"),
    _e(187, _T.ID, 1, 2, "Weight Qualifier"),
    _e(189, _T.R, 1, 8, "Width"),
    _e(206, _T.AN, 1, 4, "Equipment Initial"),
    _e(207, _T.AN, 1, 10, "Equipment Number"),
    _e(208, _T.ID, 1, 1, "Hazardous Material Code Qualifier"),
    _e(209, _T.AN, 1, 4, "Hazardous Material Class Code"),
    _e(212, _T.R, 1, 17, "Unit Price"),
    _e(225, _T.AN, 2, 15, "Seal Number"),
    _e(234, _T.AN, 1, 48, "Product/Service ID"),
    _e(235, _T.ID, 2, 2, "Product/Service ID Qualifier"),
    _e(248, _T.ID, 1, 1, "Allowance or Charge Indicator", frozenset({"A", "C", "N"})),
    _e(24, _T.ID, 2, 4, "Equipment Type"),
    _e(280, _T.R, 4, 10, "Exchange Rate"),
    _e(284, _T.ID, 1, 2, "Service Level Code"),
    _e(306, _T.ID, 1, 2, "Action Code"),
    _e(309, _T.ID, 1, 2, "Location Qualifier"),
    _e(310, _T.AN, 1, 30, "Location Identifier"),
    _e(324, _T.AN, 1, 22, "Purchase Order Number"),
    _e(325, _T.AN, 1, 20, "Tax Identification Number"),
    _e(326, _T.AN, 1, 45, "Request Reference Number"),
    _e(327, _T.AN, 1, 8, "Change Order Sequence Number"),
    _e(328, _T.AN, 1, 30, "Release Number"),
    _e(329, _T.AN, 4, 9, "Transaction Set Control Number"),
    _e(330, _T.R, 1, 15, "Quantity Ordered"),
    _e(331, _T.ID, 2, 2, "Allowance or Charge Method of Handling Code"),
    _e(332, _T.R, 1, 6, "Allowance or Charge Percent"),
    _e(333, _T.ID, 1, 2, "Terms Basis Date Code"),
    _e(336, _T.ID, 2, 2, "Terms Type Code"),
    _e(337, _T.TM, 4, 8, "Time"),
    _e(338, _T.R, 1, 6, "Terms Discount Percent"),
    _e(342, _T.R, 1, 5, "Percent of Invoice Payable"),
    _e(347, _T.R, 1, 10, "Hash Total"),
    _e(349, _T.ID, 1, 1, "Item Description Type", frozenset({"F", "S", "X"})),
    _e(350, _T.AN, 1, 20, "Assigned Identification"),
    _e(351, _T.N0, 1, 3, "Terms Discount Days Due"),
    _e(352, _T.AN, 1, 80, "Description"),
    _e(353, _T.ID, 2, 2, "Transaction Set Purpose Code"),
    _e(354, _T.N0, 1, 6, "Number of Line Items"),
    _e(355, _T.ID, 2, 2, "Unit or Basis for Measurement Code"),
    _e(356, _T.N0, 1, 6, "Pack"),
    _e(357, _T.R, 1, 8, "Size"),
    _e(358, _T.R, 1, 10, "Quantity Invoiced"),
    _e(362, _T.N0, 1, 10, "Terms Discount Amount"),
    _e(363, _T.ID, 3, 3, "Note Reference Code"),
    _e(364, _T.AN, 1, 80, "Communication Number"),
    _e(365, _T.ID, 2, 2, "Communication Number Qualifier"),
    _e(366, _T.ID, 2, 2, "Contact Function Code"),
    _e(367, _T.AN, 1, 30, "Contract Number"),
    _e(368, _T.ID, 2, 2, "Shipment/Order Status Code"),
    _e(369, _T.AN, 1, 45, "Free-form Description"),
    _e(370, _T.DT, 8, 8, "Terms Discount Due Date"),
    _e(373, _T.DT, 8, 8, "Date"),
    _e(374, _T.ID, 3, 3, "Date/Time Qualifier"),
    _e(375, _T.ID, 1, 1, "Tariff Service Code"),
    _e(378, _T.ID, 1, 1, "Allowance/Charge Percent Qualifier"),
    _e(380, _T.R, 1, 15, "Quantity"),
    _e(382, _T.R, 1, 10, "Number of Units Shipped"),
    _e(384, _T.R, 1, 9, "Gross Weight per Pack"),
    _e(385, _T.R, 1, 9, "Gross Volume per Pack"),
    _e(386, _T.N0, 1, 3, "Terms Net Days"),
    _e(387, _T.AN, 1, 35, "Routing"),
    _e(388, _T.DT, 8, 8, "Terms Deferred Due Date"),
    _e(389, _T.N0, 1, 10, "Deferred Amount Due"),
    _e(396, _T.AN, 2, 30, "Shipment Identification"),
    _e(400, _T.AN, 1, 7, "Packaging Description Code"),
    _e(441, _T.ID, 1, 1, "Tax Exempt Code"),
    _e(443, _T.AN, 1, 20, "Contact Inquiry Reference"),
    _e(446, _T.DT, 8, 8, "Terms Net Due Date"),
    _e(447, _T.AN, 1, 4, "Loop Identifier Code"),
    _e(455, _T.ID, 1, 2, "Responsible Agency Code"),
    _e(478, _T.ID, 1, 1, "Credit/Debit Flag Code"),
    _e(479, _T.ID, 2, 2, "Functional Identifier Code"),
    _e(480, _T.AN, 1, 12, "Version / Release / Industry Identifier Code"),
    _e(508, _T.AN, 1, 35, "Account Number"),
    _e(522, _T.ID, 1, 3, "Amount Qualifier Code"),
    _e(554, _T.N0, 1, 6, "Assigned Number"),
    _e(559, _T.ID, 2, 2, "Agency Qualifier Code"),
    _e(560, _T.ID, 2, 10, "Special Services Code"),
    _e(563, _T.ID, 1, 2, "Sales Requirement Code"),
    _e(566, _T.ID, 1, 2, "Product/Service Substitution Code"),
    _e(587, _T.ID, 2, 2, "Acknowledgment Type"),
    _e(610, _T.N0, 1, 15, "Amount"),
    _e(623, _T.ID, 2, 2, "Time Code"),
    _e(639, _T.ID, 2, 2, "Basis of Unit Price Code"),
    _e(640, _T.ID, 2, 2, "Transaction Type Code"),
    _e(641, _T.ID, 3, 3, "Status Reason Code"),
    _e(646, _T.R, 1, 15, "Quantity Shipped to Date"),
    _e(662, _T.ID, 1, 1, "Relationship Code", frozenset({"A", "D", "I", "M", "O", "S"})),
    _e(668, _T.ID, 2, 2, "Line Item Status Code", LINE_STATUSES),
    _e(669, _T.ID, 3, 3, "Currency Market/Exchange Code"),
    _e(670, _T.ID, 2, 2, "Change or Response Type Code", CHANGE_TYPES),
    _e(671, _T.R, 1, 9, "Quantity Left to Receive"),
    _e(673, _T.ID, 2, 2, "Quantity Qualifier"),
    _e(704, _T.ID, 2, 2, "Paperwork/Report Action Code"),
    _e(706, _T.ID, 2, 2, "Entity Relationship Code"),
    _e(715, _T.ID, 1, 1, "Functional Group Acknowledge Code", frozenset("AEMPRWX")),
    _e(716, _T.ID, 1, 3, "Functional Group Syntax Error Code", GROUP_SYNTAX),
    _e(717, _T.ID, 1, 1, "Transaction Set Acknowledgment Code", frozenset("AEMRWX")),
    _e(718, _T.ID, 1, 3, "Transaction Set Syntax Error Code", SET_SYNTAX_4010),
    _e(719, _T.N0, 1, 10, "Segment Position in Transaction Set"),
    _e(720, _T.ID, 1, 3, "Segment Syntax Error Code", SEGMENT_SYNTAX_4010),
    _e(721, _T.ID, 2, 3, "Segment ID Code"),
    _e(723, _T.ID, 1, 3, "Data Element Syntax Error Code", ELEMENT_SYNTAX_4010),
    _e(724, _T.AN, 1, 99, "Copy of Bad Data Element"),
    _e(725, _T.N0, 1, 4, "Data Element Reference Number"),
    _e(728, _T.ID, 1, 2, "Returnable Container Load Make-Up Code"),
    _e(733, _T.ID, 1, 3, "Transit Direction Time Qualifier"),
    _e(731, _T.ID, 1, 2, "Transit Direction Code"),
    _e(732, _T.R, 1, 4, "Transit Time"),
    _e(734, _T.AN, 1, 12, "Hierarchical Parent ID Number"),
    _e(735, _T.ID, 1, 2, "Hierarchical Level Code", HL_LEVELS),
    _e(736, _T.ID, 1, 1, "Hierarchical Child Code"),
    _e(737, _T.ID, 2, 2, "Measurement Reference ID Code"),
    _e(738, _T.ID, 1, 3, "Measurement Qualifier"),
    _e(739, _T.R, 1, 20, "Measurement Value"),
    _e(740, _T.R, 1, 20, "Range Minimum"),
    _e(741, _T.R, 1, 20, "Range Maximum"),
    _e(750, _T.ID, 2, 3, "Product/Process Characteristic Code"),
    _e(751, _T.AN, 1, 12, "Product Description Code"),
    _e(752, _T.ID, 2, 2, "Surface/Layer/Position Code"),
    _e(753, _T.ID, 1, 1, "Item Description Type"),
    _e(754, _T.ID, 2, 3, "Packaging Characteristic Code"),
    _e(755, _T.ID, 2, 2, "Report Type Code"),
    _e(756, _T.ID, 1, 2, "Report Transmission Code"),
    _e(757, _T.N0, 1, 2, "Report Copies Needed"),
    _e(765, _T.N0, 1, 2, "Day of Month"),
    _e(770, _T.AN, 1, 20, "Option Number"),
    _e(810, _T.N0, 1, 6, "Inner Pack"),
    _e(819, _T.ID, 2, 3, "Language Code"),
    _e(822, _T.AN, 1, 15, "Source Subqualifier"),
    _e(828, _T.R, 1, 9, "Dollar Basis For Percent"),
    _e(933, _T.AN, 1, 264, "Free-Form Message Text"),
    _e(934, _T.ID, 2, 2, "Printer Carriage Control Code"),
    _e(935, _T.ID, 2, 2, "Measurement Significance Code"),
    _e(936, _T.ID, 2, 2, "Measurement Attribute Code"),
    _e(954, _T.R, 1, 10, "Percent"),
    _e(955, _T.ID, 1, 2, "Tax Jurisdiction Code Qualifier"),
    _e(956, _T.AN, 1, 10, "Tax Jurisdiction Code"),
    _e(963, _T.ID, 2, 2, "Tax Type Code"),
    _e(1004, _T.ID, 1, 2, "Percent Qualifier"),
    _e(1005, _T.ID, 4, 4, "Hierarchical Structure Code"),
    _e(1019, _T.ID, 3, 3, "Invoice Type Code"),
    _e(1073, _T.ID, 1, 1, "Yes/No Condition or Response Code"),
    _e(1166, _T.ID, 2, 2, "Contract Type Code"),
    _e(1232, _T.ID, 2, 2, "Purchase Category"),
    _e(1250, _T.ID, 2, 3, "Date Time Period Format Qualifier"),
    _e(1251, _T.AN, 1, 35, "Date Time Period"),
    _e(1271, _T.AN, 1, 30, "Industry Code"),
    _e(1300, _T.ID, 4, 4, "Service, Promotion, Allowance, or Charge Code"),
    _e(1301, _T.AN, 1, 10, "Agency Service, Promotion, Allowance, or Charge Code"),
    _e(1373, _T.ID, 2, 4, "Measurement Method or Device"),
    _e(1470, _T.N0, 1, 9, "Number"),
    _e(1705, _T.AN, 1, 35, "Implementation Convention Reference"),
    _e(1715, _T.ID, 1, 3, "Country Subdivision Code"),
    _e(786, _T.ID, 2, 2, "Security Level Code"),
    _e(782, _T.R, 1, 18, "Monetary Amount"),
    _e(334, _T.ID, 2, 2, "Transportation Terms Qualifier Code"),
    _e(335, _T.ID, 3, 3, "Transportation Terms Code"),
    _e(628, _T.AN, 1, 12, "Hierarchical ID Number"),
)

_COMPOSITES = {
    "C001": ElementDef(0, "Composite Unit of Measure", DataType.COMPOSITE, 1, 60),
    "C030": ElementDef(0, "Position in Segment", DataType.COMPOSITE, 1, 12),
    "C040": ElementDef(0, "Reference Identifier", DataType.COMPOSITE, 1, 180),
    "C998": ElementDef(0, "Context Identification", DataType.COMPOSITE, 1, 70),
    "C999": ElementDef(0, "Reference in Segment", DataType.COMPOSITE, 1, 12),
}


def _pairs(first: int, last: int) -> str:
    """Paired rules for qualifier/id pairs from position `first` to `last` (P0607 P0809 ...)."""
    return " ".join(f"P{p:02d}{p + 1:02d}" for p in range(first, last, 2))


_ID_PAIRS_10 = " ".join(["235X 234X"] * 10)

# id: (name, elements, syntax rules)
_SEGMENTS: dict[str, tuple[str, str, str]] = {
    "ST": ("Transaction Set Header", "143M 329M", ""),
    "SE": ("Transaction Set Trailer", "96M 329M", ""),
    "BEG": ("Beginning Segment for Purchase Order", "353M 92M 324M 328 373M 367 587 1019 1166 1232 786 640", ""),
    "BAK": ("Beginning Segment for Purchase Order Acknowledgment", "353M 587M 324M 373M 328 326 367 127 373 640", ""),
    "BCH": ("Beginning Segment for Purchase Order Change", "353M 92M 324M 328 327 373M 326 367 373 373 640", ""),
    "BSN": ("Beginning Segment for Ship Notice", "353M 396M 373M 337M 1005 640 641", ""),
    "BIG": ("Beginning Segment for Invoice", "373M 76M 373 324 328 327 640 353 306 76", ""),
    "BIA": ("Beginning Segment for Inventory Inquiry/Advice", "353M 755M 127M 373M 337 640", ""),
    "CUR": (
        "Currency",
        "98M 100M 280 98 100 669 " + " ".join(["374X 373X 337X"] * 5),
        "C0807 C0907 L101112 C1110 C1210 L131415 C1413 C1513 L161718 C1716 C1816 L192021 C2019 C2119",
    ),
    "REF": ("Reference Identification", "128M 127X 352X C040", "R0203"),
    "PER": ("Administrative Communications Contact", "366M 93 365X 364X 365X 364X 365X 364X 443", "P0304 P0506 P0708"),
    "DTM": ("Date/Time Reference", "374M 373X 337X 623 1250X 1251X", "R020305 C0403 P0506"),
    "N1": ("Name", "98M 93X 66X 67X 706 98", "R0203 P0304"),
    "N2": ("Additional Name Information", "93M 93", ""),
    "N3": ("Address Information", "166M 166", ""),
    "N4": ("Geographic Location", "19 156 116 26 309X 310", "C0605"),
    "NTE": ("Note/Special Instruction", "363 352M", ""),
    "N9": ("Reference Identification", "128M 127X 369X 373 337 623 C040", "R0203"),
    "MSG": ("Message Text", "933M 934 1470", ""),
    "PO1": ("Baseline Item Data", "350 330X 355X 212X 639 " + _ID_PAIRS_10, "C0302 C0504 " + _pairs(6, 25)),
    "POC": ("Line Item Change", "350M 670M 330X 671X 355X 212X 639 " + _ID_PAIRS_10, _pairs(8, 27)),
    "IT1": ("Baseline Item Data (Invoice)", "350 358X 355X 212X 639 " + _ID_PAIRS_10, "P020304 " + _pairs(6, 25)),
    "ACK": (
        "Line Item Acknowledgment",
        "668M 380X 355X 374X 373 326 " + _ID_PAIRS_10 + " 559 822X 1271X",
        "P0203 C0405 " + _pairs(7, 26),
    ),
    "LIN": ("Item Identification", "350 235M 234M " + " ".join(["235X 234X"] * 14), _pairs(4, 31)),
    "SLN": (
        "Subline Item Detail",
        "350M 350 662M 380X C001X 212X 639 662 " + " ".join(["235X 234X"] * 10),
        "P0405 " + _pairs(9, 28),
    ),
    "PID": ("Product/Item Description", "349M 750 559X 751X 352X 752 822 1073 819", "C0403 R0405 C0703 C0804 C0905"),
    "PO4": (
        "Item Physical Details",
        "356 357X 355X 103 187 384 355 385 355 82 189 65 355 810 752 350 350 1470",
        "C0203",
    ),
    "SCH": ("Line Item Schedule", "380M 355M 98 93X 374M 373M 337 374X 373X 337 326 350", "C0304 P0809 C1008"),
    "CTT": ("Transaction Totals", "354M 347 81X 355X 183X 355X 352", "P0304 P0506"),
    "AMT": ("Monetary Amount", "522M 782M 478", ""),
    "ITD": ("Terms of Sale/Deferred Terms of Sale", "336 333 338 370 351 446 386 362 388 389 342 352 765 107 954", ""),
    "CSH": ("Sales Requirements", "563 306 610 508 373 559 560 566 954 1004", ""),
    "PKG": ("Marking, Packaging, Loading", "753X 754 559 400X 352X 1073", "R0405"),
    "FOB": ("F.O.B. Related Instructions", "146M 309X 352 334 335X 309X 352 54 352", ""),
    "TD1": ("Carrier Details (Quantity and Weight)", "103 80X 23 22 79 187 81X 355X 183X 355X", "C0102 C0708 P0910"),
    "TD5": (
        "Carrier Details (Routing Sequence/Transit Time)",
        "133 66X 67X 91X 387X 368 309 310X 731 732 733X 284X 284 284 26",
        "R0204050612 P0203 C0708",
    ),
    "TD3": ("Carrier Details (Equipment)", "40X 206 207X 187 81X 355X 102 225 24", "C0203"),
    "TD4": ("Carrier Details (Special Handling, or Hazardous Materials, or Both)", "152X 208X 209X 352X 1073", ""),
    "MEA": ("Measurements", "737 738 739X C001X 740X 741X 935 936X 752 1373", "R03050608"),
    "PWK": ("Paperwork", "755M 756 757 98 66X 67X 352 704", "P0506"),
    "HL": ("Hierarchical Level", "628M 734 735M 736", ""),
    "SN1": ("Item Detail (Shipment)", "350 382M 355M 646 330X 355X 728 668", "P0506"),
    "PRF": ("Purchase Order Reference", "324M 328 327 373 367 92", ""),
    "MAN": ("Marks and Numbers", "88M 87M 87 88X 87X 87", "P0405 C0605"),
    "TDS": ("Total Monetary Value Summary", "610M 610 610 610", ""),
    "CAD": ("Carrier Detail", "91 206 207 140X 387X 368 128X 127X 284", "R0405 P0708"),
    "ISS": ("Invoice Shipment Summary", "382X 355X 81X 355X 183X 355X 380 81", "P0102 P0304 P0506"),
    "SAC": (
        "Service, Promotion, Allowance, or Charge Information",
        "248M 1300X 559X 1301X 610 378X 332X 118 355X 380X 380 331 127 770 352X 819",
        "R0203 P0304 P0607 P0910",
    ),
    "TXI": ("Tax Information", "963M 782X 954X 955X 956X 441X 662 828 325 350", "R020306 P0405 C0803"),
    "QTY": ("Quantity", "673M 380X C001 61X", "R0204 E0204"),
    "SDQ": ("Destination Quantity", "355M 66 67M 380M " + " ".join(["67X 380X"] * 9) + " 310", _pairs(5, 22)),
    "LX": ("Assigned Number", "554M", ""),
    "AK1": ("Functional Group Response Header", "479M 28M", ""),
    "AK2": ("Transaction Set Response Header", "143M 329M", ""),
    "AK3": ("Data Segment Note", "721M 719M 447 720", ""),
    "AK4": ("Data Element Note", "C030M 725 723M 724", ""),
    "AK5": ("Transaction Set Response Trailer", "717M 718 718 718 718 718", ""),
    "AK9": ("Functional Group Response Trailer", "715M 97M 123M 2M 716 716 716 716 716", ""),
}

# What 005010 changes in the segments and elements above.
_SEGMENTS_5010: dict[str, tuple[str, str, str]] = {
    "ST": ("Transaction Set Header", "143M 329M 1705", ""),
    "AK1": ("Functional Group Response Header", "479M 28M 480", ""),
    "AK2": ("Transaction Set Response Header", "143M 329M 1705", ""),
    "N4": ("Geographic Location", "19 156 116 26 309X 310 1715X", "C0605 C0704"),
    "CTX": ("Context", "C998M 721X 719X 447 C999 C030", "P0203"),
}
_ELEMENTS_5010: dict[int, tuple[int, int, frozenset[str] | None]] = {
    127: (1, 50, None),
    364: (1, 256, None),
    718: (1, 3, SET_SYNTAX_5010),
    720: (1, 3, SEGMENT_SYNTAX_5010),
    723: (1, 3, ELEMENT_SYNTAX_5010),
}


def _element(token: str, elements: dict[int, ElementDef]) -> ElementUse:
    usage = Usage(token[-1]) if token[-1] in "MX" else Usage.OPTIONAL
    name = token.rstrip("MX")
    element = _COMPOSITES[name] if name.startswith("C") else elements[int(name)]
    return ElementUse(element, usage)


@cache
def segment_dictionary(family: str = "004010") -> dict[str, SegmentDef]:
    """Every segment this toolkit knows, as defined in the `family` version (004010, 004060 or 005010)."""
    elements = {element.ref: element for element in _ELEMENTS}
    segments = dict(_SEGMENTS)
    if family == "005010":
        for ref, (low, high, codes) in _ELEMENTS_5010.items():
            base = elements[ref]
            elements[ref] = ElementDef(ref, base.name, base.kind, low, high, codes or base.codes, base.decimals)
        segments.update(_SEGMENTS_5010)
    return {
        segment_id: SegmentDef(
            segment_id,
            name,
            tuple(_element(token, elements) for token in layout.split()),
            tuple(SyntaxRule.parse(note) for note in rules.split()),
        )
        for segment_id, (name, layout, rules) in segments.items()
    }
