"""The business setup a fresh Tryton database needs before a distributor's customers, items and sales fit in.

Done over JSON-RPC with the connector's own client, as an administrator would through the client: currencies,
countries (with US states and Canadian provinces), the company and an employee, a chart of accounts, fiscal years
with periods and invoice sequences, named payment terms, product categories with accounts, and a Dozen UOM. The
sandbox caches the database once this has run, keyed by this file's content, so editing it rebuilds the cache.

For orders: sales taxes by name (`TAXES`, what a sale line's tax codes name), a `FREIGHT` service item for freight
lines, the "Credit Hold" party category (Tryton has no credit hold flag of its own: finance puts a customer on hold
by giving it this category), sales invoiced on fulfillment (an invoice follows what shipped) and purchases on
receipt. Customer price lists need Tryton's `sale_price_list` module: when its package is installed it is activated
here, as an administrator would from the Modules menu (Activate, then Perform Pending Activation).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from crossdock.connectors.tryton.client import TrytonClient
from crossdock.model.iso_codes import ISO_3166_ALPHA2

COMPANY_NAME = "Crossdock Demo Distribution"
COMPANY_CURRENCY = "USD"
ACCOUNT_CATEGORY = "Goods"
"""The accounting product category (revenue and expense accounts) that sandbox items use."""
PRODUCT_CATEGORIES = ("Fasteners", "Safety", "Janitorial")
PAYMENT_TERMS: dict[str, tuple[int, str]] = {
    "N30": (30, "Net 30 days"),
    "2-10-N30": (30, "2% discount within 10 days, net 30 days"),
    "N60": (60, "Net 60 days"),
    "DOR": (0, "Due on receipt"),
}
DEFAULT_PAYMENT_TERM = "N30"
TAXES: dict[str, Decimal] = {
    "US Sales Tax 6.25%": Decimal("0.0625"),
    "US Sales Tax 8.25%": Decimal("0.0825"),
    "Exempt": Decimal(0),
}
"""Customer taxes by name, as sale lines name them; their tax is booked on the accrued taxes account."""
TAX_ACCOUNT_CODE = "2.2.3"
FREIGHT_SKU = "FREIGHT"
"""The service item a sale's freight line sells."""
CREDIT_HOLD = "Credit Hold"
"""The party category that puts a customer on credit hold."""
WAREHOUSE_CODE = "WH"
"""The stock module's own warehouse (with its input, output and storage zones), the one sales ship from."""

_CURRENCIES = (
    ("USD", "U.S. Dollar", "$", "840", Decimal(1)),
    ("EUR", "Euro", "€", "978", Decimal("0.92")),
    ("CAD", "Canadian Dollar", "CA$", "124", Decimal("1.37")),
    ("GBP", "Pound Sterling", "£", "826", Decimal("0.79")),
)
_COUNTRY_NAMES = {
    "US": "United States",
    "CA": "Canada",
    "MX": "Mexico",
    "DE": "Germany",
    "GB": "United Kingdom",
    "FR": "France",
    "NL": "Netherlands",
}
_SUBDIVISIONS = {
    "US": (
        "AL Alabama,AK Alaska,AZ Arizona,AR Arkansas,CA California,CO Colorado,CT Connecticut,DE Delaware,"
        "DC District of Columbia,FL Florida,GA Georgia,HI Hawaii,ID Idaho,IL Illinois,IN Indiana,IA Iowa,KS Kansas,"
        "KY Kentucky,LA Louisiana,ME Maine,MD Maryland,MA Massachusetts,MI Michigan,MN Minnesota,MS Mississippi,"
        "MO Missouri,MT Montana,NE Nebraska,NV Nevada,NH New Hampshire,NJ New Jersey,NM New Mexico,NY New York,"
        "NC North Carolina,ND North Dakota,OH Ohio,OK Oklahoma,OR Oregon,PA Pennsylvania,RI Rhode Island,"
        "SC South Carolina,SD South Dakota,TN Tennessee,TX Texas,UT Utah,VT Vermont,VA Virginia,WA Washington,"
        "WV West Virginia,WI Wisconsin,WY Wyoming,PR Puerto Rico",
        "state",
    ),
    "CA": (
        "AB Alberta,BC British Columbia,MB Manitoba,NB New Brunswick,NL Newfoundland and Labrador,"
        "NS Nova Scotia,NT Northwest Territories,NU Nunavut,ON Ontario,PE Prince Edward Island,QC Quebec,"
        "SK Saskatchewan,YT Yukon",
        "province",
    ),
}


async def set_up(client: TrytonClient, today: date) -> None:
    """Create everything a customer → item → sale flow needs, in a database that has only its modules."""
    currencies = await _currencies(client)
    await _countries(client)
    await _company(client, currencies[COMPANY_CURRENCY])
    company = int((await client.context())["company"])
    await _chart(client, company)
    accounts = await _accounts(client, company)
    for year in (today.year - 1, today.year, today.year + 1):
        await _fiscal_year(client, company, year)
    terms = await _payment_terms(client)
    await client.write("account.configuration", [1], {"default_customer_payment_term": terms[DEFAULT_PAYMENT_TERM]})
    await client.create(
        "product.category",
        [
            {
                "name": ACCOUNT_CATEGORY,
                "accounting": True,
                "account_revenue": accounts["revenue"],
                "account_expense": accounts["expense"],
            },
            *({"name": name} for name in PRODUCT_CATEGORIES),
        ],
    )
    units = await client.search("product.uom.category", [("name", "=", "Units")], limit=1)
    await client.create(
        "product.uom",
        [
            {
                "name": "Dozen",
                "symbol": "dz",
                "category": units[0],
                "factor": 12.0,
                "rate": round(1 / 12, 12),  # Tryton keeps 12 digits of a rate
                "rounding": 1.0,
                "digits": 0,
            }
        ],
    )
    await _orders(client, company)


async def _orders(client: TrytonClient, company: int) -> None:
    """Taxes, the freight item, the credit hold category, and how sales and purchases invoice."""
    (tax_account,) = await client.search(
        "account.account", [("code", "=", TAX_ACCOUNT_CODE), ("company", "=", company)], limit=1
    )
    await client.create(
        "account.tax",
        [
            {
                "name": name,
                "description": name,
                "type": "percentage",
                "rate": rate,
                "company": company,
                "invoice_account": tax_account,
                "credit_note_account": tax_account,
            }
            for name, rate in TAXES.items()
        ],
    )
    (goods,) = await client.search("product.category", [("name", "=", ACCOUNT_CATEGORY)], limit=1)
    (unit,) = await client.search("product.uom", [("symbol", "=", "u")], limit=1)
    await client.create(
        "product.template",
        [
            {
                "name": "Freight",
                "type": "service",
                "default_uom": unit,
                "sale_uom": unit,
                "salable": True,
                "account_category": goods,
                "list_price": Decimal(0),
                "products": [["create", [{"suffix_code": FREIGHT_SKU}]]],
            }
        ],
    )
    await client.create("party.category", [{"name": CREDIT_HOLD}])
    # Invoices follow shipments, so a partial shipment bills only what left; suppliers are billed on receipt.
    await client.write("sale.configuration", [1], {"sale_invoice_method": "fulfillment"})
    await client.write("purchase.configuration", [1], {"purchase_invoice_method": "fulfillment"})


async def _currencies(client: TrytonClient) -> dict[str, int]:
    ids = await client.create(
        "currency.currency",
        [
            {
                "code": code,
                "name": name,
                "symbol": symbol,
                "numeric_code": numeric,
                "digits": 2,
                "rounding": Decimal("0.01"),
                "rates": [["create", [{"date": date(2000, 1, 1), "rate": rate}]]],
            }
            for code, name, symbol, numeric, rate in _CURRENCIES
        ],
    )
    return {currency[0]: currency_id for currency, currency_id in zip(_CURRENCIES, ids, strict=True)}


async def _countries(client: TrytonClient) -> None:
    codes = sorted(ISO_3166_ALPHA2)
    ids = await client.create(
        "country.country", [{"code": code, "name": _COUNTRY_NAMES.get(code, code)} for code in codes]
    )
    by_code = dict(zip(codes, ids, strict=True))
    subdivisions: list[dict[str, Any]] = []
    for country, (table, kind) in _SUBDIVISIONS.items():
        for entry in table.split(","):
            code, name = entry.split(" ", 1)
            subdivisions.append({"country": by_code[country], "code": f"{country}-{code}", "name": name, "type": kind})
    await client.create("country.subdivision", subdivisions)


async def _company(client: TrytonClient, currency: int) -> None:
    party, employee_party = await client.create("party.party", [{"name": COMPANY_NAME}, {"name": "Sam Sales"}])
    (company,) = await client.create("company.company", [{"party": party, "currency": currency}])
    (employee,) = await client.create("company.employee", [{"party": employee_party, "company": company}])
    await client.write(
        "res.user",
        [client.uid],
        {
            "companies": [["add", [company]]],
            "company": company,
            "employees": [["add", [employee]]],
            "employee": employee,
        },
    )
    await client.refresh_context()


class _Wizard:
    """A wizard session: each step sends the forms filled so far and executes the named state."""

    def __init__(self, client: TrytonClient, name: str, **context: Any) -> None:
        self._client, self._name, self._context = client, name, context
        self._session: int | None = None
        self._data: dict[str, Any] = {}

    async def __aenter__(self) -> _Wizard:
        self._session, _, _ = await self._client.call(f"wizard.{self._name}.create", context=self._context)
        return self

    async def step(self, state: str, forms: dict[str, Any]) -> None:
        """Fill `forms` (state name → field values) and execute `state`."""
        self._data.update(forms)
        await self._client.call(f"wizard.{self._name}.execute", self._session, self._data, state, context=self._context)

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.call(f"wizard.{self._name}.delete", self._session, context=self._context)


async def _chart(client: TrytonClient, company: int) -> None:
    template = await client.execute("ir.model.data", "get_id", "account", "account_template_root_en")
    async with _Wizard(client, "account.create_chart") as wizard:
        await wizard.step("create_account", {"account": {"company": company, "account_template": template}})
        accounts = await _accounts(client, company)
        properties = {
            "company": company,
            "account_receivable": accounts["receivable"],
            "account_payable": accounts["payable"],
        }
        await wizard.step("create_properties", {"properties": properties})


async def _accounts(client: TrytonClient, company: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for kind in ("receivable", "payable", "revenue", "expense"):
        domain = [(f"type.{kind}", "=", True), ("company", "=", company), ("closed", "!=", True)]
        if kind in ("receivable", "payable"):
            domain.append(("party_required", "=", True))
        ids = await client.search("account.account", domain, limit=1)
        if ids:
            found[kind] = ids[0]
    return found


async def _fiscal_year(client: TrytonClient, company: int, year: int) -> None:
    move_type = await client.search("ir.sequence.type", [("name", "=", "Account Move")], limit=1)
    invoice_type = await client.search("ir.sequence.type", [("name", "=", "Invoice")], limit=1)
    move_sequence, invoice_sequence = await client.create(
        "ir.sequence.strict",
        [
            {"name": f"Moves {year}", "sequence_type": move_type[0], "company": company},
            {"name": f"Invoices {year}", "sequence_type": invoice_type[0], "company": company},
        ],
    )
    invoice_sequences = {
        "company": company,
        "out_invoice_sequence": invoice_sequence,
        "out_credit_note_sequence": invoice_sequence,
        "in_invoice_sequence": invoice_sequence,
        "in_credit_note_sequence": invoice_sequence,
    }
    (fiscal_year,) = await client.create(
        "account.fiscalyear",
        [
            {
                "name": str(year),
                "company": company,
                "start_date": date(year, 1, 1),
                "end_date": date(year, 12, 31),
                "move_sequence": move_sequence,
                "invoice_sequences": [["create", [invoice_sequences]]],
            }
        ],
    )
    periods = _Wizard(
        client,
        "account.fiscalyear.create_periods",
        active_model="account.fiscalyear",
        active_id=fiscal_year,
        active_ids=[fiscal_year],
    )
    async with periods as wizard:
        await wizard.step("create_periods", {"start": {"frequency": "monthly", "interval": 1, "end_day": 31}})


async def _payment_terms(client: TrytonClient) -> dict[str, int]:
    names = list(PAYMENT_TERMS)
    ids = await client.create(
        "account.invoice.payment_term",
        [
            {
                "name": name,
                "description": PAYMENT_TERMS[name][1],
                "lines": [
                    [
                        "create",
                        [
                            {
                                "type": "remainder",
                                "relativedeltas": [["create", [{"days": PAYMENT_TERMS[name][0]}]]],
                            }
                        ],
                    ]
                ],
            }
            for name in names
        ],
    )
    return dict(zip(names, ids, strict=True))
