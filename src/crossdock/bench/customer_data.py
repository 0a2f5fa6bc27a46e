"""Labelled distributor customer data: accounts keyed into several systems, each time a little differently.

A *customer* is one account at one location; its records are the copies held by the ERP, the CRM, the web shop
and EDI partners, and they are the duplicates matching must find. A *company* may have several customers:
branches that share the head-office phone, the mail domain, often the name and sometimes the tax id, yet are
separate ship-to accounts, not duplicates. Same-named companies in other towns, and tenants of one building, are
further near misses.

Each record is rendered from its customer with the perturbations seen in real customer masters: typos,
abbreviations (Sply, Mfg, Intl), swapped name parts, legal suffix spellings, case, address formats (Street/St,
Suite/Ste/#, ZIP+4), phone formats, another mailbox or phone line, and missing fields. Generation is seeded, so
a run at a given size and seed always yields the same records.
"""

from __future__ import annotations

import random
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from crossdock.mdm.model import CustomerRecord

# city, region, postal prefix, area codes
_US_CITIES = [
    ("New York", "NY", "100", "212"), ("Chicago", "IL", "606", "312"), ("Los Angeles", "CA", "900", "213"),
    ("Houston", "TX", "770", "713"), ("Phoenix", "AZ", "850", "602"), ("Philadelphia", "PA", "191", "215"),
    ("San Antonio", "TX", "782", "210"), ("San Diego", "CA", "921", "619"), ("Dallas", "TX", "752", "214"),
    ("San Jose", "CA", "951", "408"), ("Austin", "TX", "787", "512"), ("Jacksonville", "FL", "322", "904"),
    ("Fort Worth", "TX", "761", "817"), ("Columbus", "OH", "432", "614"), ("Charlotte", "NC", "282", "704"),
    ("Indianapolis", "IN", "462", "317"), ("Seattle", "WA", "981", "206"), ("Denver", "CO", "802", "303"),
    ("Nashville", "TN", "372", "615"), ("Oklahoma City", "OK", "731", "405"), ("El Paso", "TX", "799", "915"),
    ("Boston", "MA", "021", "617"), ("Portland", "OR", "972", "503"), ("Las Vegas", "NV", "891", "702"),
    ("Detroit", "MI", "482", "313"), ("Memphis", "TN", "381", "901"), ("Louisville", "KY", "402", "502"),
    ("Baltimore", "MD", "212", "410"), ("Milwaukee", "WI", "532", "414"), ("Albuquerque", "NM", "871", "505"),
    ("Tucson", "AZ", "857", "520"), ("Fresno", "CA", "937", "559"), ("Sacramento", "CA", "958", "916"),
    ("Kansas City", "MO", "641", "816"), ("Atlanta", "GA", "303", "404"), ("Omaha", "NE", "681", "402"),
    ("Raleigh", "NC", "276", "919"), ("Miami", "FL", "331", "305"), ("Minneapolis", "MN", "554", "612"),
    ("Tulsa", "OK", "741", "918"), ("Cleveland", "OH", "441", "216"), ("Wichita", "KS", "672", "316"),
    ("New Orleans", "LA", "701", "504"), ("Tampa", "FL", "336", "813"), ("Pittsburgh", "PA", "152", "412"),
    ("Cincinnati", "OH", "452", "513"), ("St. Louis", "MO", "631", "314"), ("Saint Paul", "MN", "551", "651"),
    ("Toledo", "OH", "436", "419"), ("Buffalo", "NY", "142", "716"), ("Birmingham", "AL", "352", "205"),
    ("Richmond", "VA", "232", "804"), ("Des Moines", "IA", "503", "515"), ("Boise", "ID", "837", "208"),
    ("Spokane", "WA", "992", "509"), ("Grand Rapids", "MI", "495", "616"), ("Salt Lake City", "UT", "841", "801"),
    ("Peoria", "IL", "616", "309"), ("Rockford", "IL", "611", "815"), ("Fort Wayne", "IN", "468", "260"),
    ("Little Rock", "AR", "722", "501"), ("Knoxville", "TN", "379", "865"), ("Charleston", "SC", "294", "843"),
    ("Mobile", "AL", "366", "251"), ("Shreveport", "LA", "711", "318"), ("Lubbock", "TX", "794", "806"),
    ("Green Bay", "WI", "543", "920"), ("Fargo", "ND", "581", "701"), ("Sioux Falls", "SD", "571", "605"),
    ("Billings", "MT", "591", "406"), ("Harrisburg", "PA", "171", "717"), ("Hartford", "CT", "061", "860"),
    ("Providence", "RI", "029", "401"), ("Albany", "NY", "122", "518"), ("Syracuse", "NY", "132", "315"),
    ("Dayton", "OH", "454", "937"), ("Akron", "OH", "443", "330"), ("Lexington", "KY", "405", "859"),
    ("Chattanooga", "TN", "374", "423"), ("Savannah", "GA", "314", "912"), ("Orlando", "FL", "328", "407"),
    ("Fort Lauderdale", "FL", "333", "954"), ("Mount Vernon", "NY", "105", "914"), ("Bakersfield", "CA", "933", "661"),
    ("Stockton", "CA", "952", "209"), ("Reno", "NV", "895", "775"), ("Springfield", "IL", "627", "217"),
    ("Springfield", "MO", "658", "417"), ("Springfield", "MA", "011", "413"), ("Columbia", "SC", "292", "803"),
    ("Jackson", "MS", "392", "601"), ("Madison", "WI", "537", "608"), ("Lincoln", "NE", "685", "402"),
    ("Topeka", "KS", "666", "785"), ("Evansville", "IN", "477", "812"), ("Saint Petersburg", "FL", "337", "727"),
]  # fmt: skip
_CA_CITIES = [
    ("Toronto", "ON", "M5V", "416"), ("Mississauga", "ON", "L5B", "905"), ("Vancouver", "BC", "V6B", "604"),
    ("Calgary", "AB", "T2P", "403"), ("Edmonton", "AB", "T5J", "780"), ("Montréal", "QC", "H2Y", "514"),
    ("Winnipeg", "MB", "R3C", "204"), ("Ottawa", "ON", "K1P", "613"), ("Hamilton", "ON", "L8P", "905"),
    ("Québec", "QC", "G1R", "418"),
]  # fmt: skip
_DE_CITIES = [
    ("Berlin", "BE", "10", "30"), ("Hamburg", "HH", "20", "40"), ("München", "BY", "80", "89"),
    ("Köln", "NW", "50", "221"), ("Frankfurt am Main", "HE", "60", "69"), ("Stuttgart", "BW", "70", "711"),
    ("Düsseldorf", "NW", "40", "211"), ("Dortmund", "NW", "44", "231"), ("Leipzig", "SN", "04", "341"),
    ("Nürnberg", "BY", "90", "911"),
]  # fmt: skip
_GB_CITIES = [
    ("London", "", "EC1A", "20"), ("Manchester", "", "M1", "161"), ("Birmingham", "", "B1", "121"),
    ("Leeds", "", "LS1", "113"), ("Glasgow", "", "G1", "141"), ("Bristol", "", "BS1", "117"),
    ("Sheffield", "", "S1", "114"), ("Liverpool", "", "L1", "151"),
]  # fmt: skip
_COUNTRIES = (("US", _US_CITIES, 0.86), ("CA", _CA_CITIES, 0.06), ("GB", _GB_CITIES, 0.04), ("DE", _DE_CITIES, 0.04))
_US_STATE_NAMES = {
    "IL": "Illinois", "TX": "Texas", "CA": "California", "NY": "New York", "OH": "Ohio", "FL": "Florida",
    "PA": "Pennsylvania", "MO": "Missouri", "TN": "Tennessee", "WI": "Wisconsin", "MN": "Minnesota",
}  # fmt: skip

_PREFIXES = (
    "Midwest", "Great Lakes", "Pacific", "Atlantic", "Southern", "Northern", "Central", "Valley", "Mountain",
    "Coastal", "Gulf Coast", "Tri-State", "Metro", "Capital", "Heartland", "Prairie", "Summit", "Keystone",
    "Lone Star", "Bay Area", "Empire", "Liberty", "Pioneer", "Frontier", "Allied", "United", "American",
    "National", "Premier", "Superior", "Quality", "Reliable", "Precision", "Ace", "A-1", "Apex", "Acme", "Eagle",
    "Falcon", "Titan", "Atlas", "Patriot", "Lakeside", "Harbor", "Cornerstone", "Crown", "Diamond", "Golden",
    "Blue Ridge", "Red River", "Ozark", "Cascade", "Sierra", "Rocky Mountain", "Twin City", "Hudson Valley",
    "Delta", "Evergreen", "Northwest", "Southwest", "Northeast", "Southeast", "Interstate", "Continental",
    "Pinnacle", "Landmark", "Benchmark", "Keystone State", "Old Dominion", "Bluegrass", "Magnolia", "Palmetto",
    "Sunbelt", "Piedmont", "Chesapeake", "Cumberland", "Badger", "Hoosier", "Buckeye", "Gateway", "Riverside",
    "Tidewater", "High Plains", "Big Sky", "Desert", "Canyon", "Granite", "Iron Range", "Copper State", "Timberline",
    "Northstar", "Polaris", "Meridian", "Horizon", "Vanguard", "Sterling", "Paramount", "Dependable", "Standard",
    "Modern", "Universal", "General", "Regional", "County Line", "Main Street", "Crossroads", "Cardinal",
)  # fmt: skip
_SURNAMES = (
    "Johnson", "Smith", "Miller", "Anderson", "Baker", "Carter", "Fischer", "Murphy", "O'Brien", "Walsh",
    "Kowalski", "Nguyen", "Garcia", "Martinez", "Hernandez", "Lee", "Patel", "Wilson", "Moore", "Taylor", "Thomas",
    "Jackson", "White", "Harris", "Martin", "Thompson", "Robinson", "Clark", "Lewis", "Walker", "Hall", "Allen",
    "Young", "King", "Wright", "Scott", "Green", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts",
    "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Rogers", "Reed", "Cook",
    "Morgan", "Bell", "Cooper", "Richardson", "Cox", "Howard", "Ward", "Peterson", "Gray", "James", "Watson",
    "Brooks", "Kelly", "Sanders", "Price", "Bennett", "Wood", "Barnes", "Ross", "Henderson", "Coleman", "Jenkins",
    "Perry", "Powell", "Long", "Patterson", "Hughes", "Flores", "Washington", "Butler", "Simmons", "Foster",
    "Bryant", "Alexander", "Russell", "Griffin", "Hayes", "Myers", "Ford", "Hamilton", "Graham", "Sullivan",
    "Wallace", "Woods", "Cole", "West", "Jordan", "Owens", "Reynolds", "Ellis", "Harrison", "Gibson", "McDonald",
    "Cruz", "Marshall", "Ortiz", "Gomez", "Murray", "Freeman", "Wells", "Webb", "Simpson", "Stevens", "Tucker",
    "Porter", "Hunter", "Hicks", "Crawford", "Henry", "Boyd", "Mason", "Kennedy", "Warren", "Dixon", "Burns",
    "Gordon", "Shaw", "Holmes", "Rice", "Robertson", "Hunt", "Black", "Daniels", "Palmer", "Mills", "Nichols",
    "Grant", "Knight", "Ferguson", "Rose", "Stone", "Hawkins", "Dunn", "Perkins", "Hudson", "Spencer", "Gardner",
    "Stephens", "Payne", "Pierce", "Berry", "Matthews", "Arnold", "Wagner", "Willis", "Ray", "Watkins", "Olson",
    "Carroll", "Duncan", "Snyder", "Hart", "Cunningham", "Bradley", "Lane", "Andrews", "Ruiz", "Harper", "Fox",
    "Riley", "Armstrong", "Carpenter", "Weaver", "Greene", "Lawrence", "Elliott", "Chavez", "Sims", "Austin",
    "Peters", "Kelley", "Franklin", "Lawson", "Fields", "Ryan", "Schmidt", "Carr", "Vasquez", "Castillo",
    "Wheeler", "Chapman", "Oliver", "Montgomery", "Richards", "Williamson", "Johnston", "Banks", "Meyer",
    "Bishop", "McCoy", "Howell", "Morrison", "Hansen", "Harvey", "Little", "Burton", "Stanley", "Nguyen",
    "George", "Jacobs", "Reid", "Fuller", "Lynch", "Dean", "Gilbert", "Garrett", "Romero", "Welch", "Larson",
    "Frazier", "Burke", "Hanson", "Mendoza", "Moreno", "Bowman", "Medina", "Fowler", "Brewer", "Hoffman",
)  # fmt: skip
_TRADES = (
    "Plumbing", "Electrical", "HVAC", "Industrial", "Janitorial", "Safety", "Building", "Lumber", "Hardware",
    "Fastener", "Paper", "Packaging", "Foodservice", "Restaurant", "Medical", "Dental", "Auto Parts", "Tire",
    "Pipe", "Valve", "Steel", "Metals", "Tool", "Bearing", "Power Transmission", "Fluid Power", "Hydraulic", "Pump",
    "Irrigation", "Landscape", "Pool", "Roofing", "Flooring", "Tile", "Paint", "Glass", "Lighting", "Wire & Cable",
    "Office", "Chemical", "Beverage", "Produce", "Seafood", "Meat", "Dairy", "Floral", "Pet", "Farm", "Feed",
    "Welding", "Abrasives", "Fire Protection", "Security", "Appliance", "Refrigeration", "Sanitation", "Cleaning",
    "Mechanical", "Heating", "Air Conditioning", "Water Works", "Gas", "Propane", "Marine", "Truck Parts",
    "Construction", "Concrete", "Masonry", "Insulation", "Drywall", "Door & Window", "Cabinet", "Kitchen & Bath",
    "Plastics", "Rubber", "Hose & Fitting", "Filter", "Motion", "Automation", "Controls", "Instrument", "Lab",
    "Scientific", "Optical", "Beauty", "Party", "Toy", "Candy", "Tobacco", "Grocery", "Nursery", "Garden",
)  # fmt: skip
_KINDS = (
    "Supply", "Supply", "Supply", "Wholesale", "Distributors", "Distribution", "Distributing", "Sales",
    "Warehouse", "Products", "Industries", "Equipment", "Company", "Group", "Trading", "Services", "Manufacturing",
    "Source", "Depot", "Outlet", "Partners", "International", "Supplies", "Solutions", "Specialties",
)  # fmt: skip
_DE_TRADES = (
    "Sanitär", "Elektro", "Haustechnik", "Werkzeug", "Stahl", "Baustoffe", "Verpackung", "Industriebedarf",
    "Arbeitsschutz", "Befestigungstechnik", "Heizung", "Kältetechnik", "Hydraulik", "Reinigungsbedarf",
)  # fmt: skip
_DE_KINDS = ("Großhandel", "Handel", "Vertrieb", "Versand", "Technik", "Service")
_DE_SURNAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger",
)  # fmt: skip
_LEGAL = {
    "US": ("Inc", "LLC", "Corp", "Co", "", "", "Inc", "LLC"),
    "CA": ("Inc", "Ltd", "Corp", "", "Ltée"),
    "GB": ("Ltd", "Limited", "PLC", "LLP", ""),
    "DE": ("GmbH", "GmbH & Co. KG", "AG", "KG", "e.K."),
}
_LEGAL_SPELLINGS = {
    "Inc": ("Inc", "Inc.", ", Inc.", "Incorporated", "INC"),
    "LLC": ("LLC", "L.L.C.", ", LLC", "Llc"),
    "Corp": ("Corp", "Corp.", "Corporation"),
    "Co": ("Co", "Co.", "Company"),
    "Ltd": ("Ltd", "Ltd.", "Limited"),
}
_STREET_NAMES = (
    "Main", "Oak", "Maple", "Cedar", "Elm", "Pine", "Washington", "Lincoln", "Jefferson", "Madison", "Franklin",
    "Industrial", "Commerce", "Enterprise", "Distribution", "Warehouse", "Harbor", "River", "Lake", "Hill", "Park",
    "Center", "Market", "Church", "Mill", "Spring", "Union", "Railroad", "Depot", "Airport", "Factory", "Foundry",
    "Quarry", "Freight", "Commercial", "Technology", "Corporate", "Progress", "Liberty", "Independence",
    "Highland", "Meadow", "Prairie", "Sunset", "Valley", "Ridge", "Forest", "Willow", "Walnut", "Chestnut",
    "Hickory", "Birch", "Poplar", "Sycamore", "Magnolia", "Dogwood", "Cherry", "Locust", "Spruce", "Laurel",
    "Broad", "High", "Front", "Water", "Bridge", "Canal", "Dock", "Port", "Terminal", "Logistics", "Trade",
    "Expo", "Gateway", "Westport", "Eastgate", "Northpoint", "Southpark", "Lakeview", "Riverside", "Fairview",
    "Greenway", "Parkside", "Woodland", "Brookside", "Stonebridge", "Mill Creek", "Cross Creek", "Fox Run",
    "Kings", "Queens", "Butler", "Grant", "Jackson", "Monroe", "Adams", "Hamilton", "Wilson", "Taylor",
    "1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "11th", "12th", "14th", "15th",
)  # fmt: skip
_STREET_TYPES = (
    ("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Boulevard", "Blvd"), ("Drive", "Dr"), ("Lane", "Ln"),
    ("Parkway", "Pkwy"), ("Highway", "Hwy"), ("Court", "Ct"), ("Way", "Way"), ("Place", "Pl"), ("Circle", "Cir"),
)  # fmt: skip
_DIRECTIONS = (("North", "N"), ("South", "S"), ("East", "E"), ("West", "W"))
_DE_STREETS = (
    "Haupt", "Bahnhof", "Industrie", "Gewerbe", "Hafen", "Linden", "Schiller", "Goethe", "Berliner", "Mühlen",
    "Kirch", "Garten", "Wald", "Berg", "Ring", "Markt", "Post", "Schul", "Dorf", "Feld",
)  # fmt: skip
_DE_STREET_TYPES = (("straße", "str."), ("weg", "weg"), ("allee", "allee"), ("platz", "pl."))
_UNIT_FORMS = ("Suite {}", "Ste {}", "Ste. {}", "#{}", "Unit {}", "STE {}")
_MAILBOXES = ("orders", "ap", "accounts", "purchasing", "info", "sales", "office", "billing", "admin", "buyer")
_FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com", "comcast.net")
_TLDS = {"US": ("com", "com", "com", "net", "us"), "CA": ("ca", "com"), "GB": ("co.uk", "com"), "DE": ("de", "com")}
# How a record's name may be abbreviated by a system; normalisation must undo every one of these.
_ABBREVIATIONS = {
    "Supply": ("Sply", "Supp", "Supplies"), "Distributors": ("Dist", "Distributing", "Distr"),
    "Distribution": ("Dist", "Distributors"), "Manufacturing": ("Mfg",), "International": ("Intl", "Int'l"),
    "Brothers": ("Bros", "Bros."), "Services": ("Svcs", "Svc", "Service"), "Wholesale": ("Whse", "Whsle"),
    "Plumbing": ("Plbg",), "Electrical": ("Elec", "Electric"), "Equipment": ("Equip", "Eqpt"),
    "Industrial": ("Indl",), "Products": ("Prods",), "Hardware": ("Hdwe",), "National": ("Natl",),
    "American": ("Amer",), "Group": ("Grp",), "Mechanical": ("Mech",), "Metals": ("Mtls",), "Heating": ("Htg",),
    "&": ("and",), "and": ("&",), "Company": ("Co", "Co."), "Supplies": ("Supply",),
}  # fmt: skip
_SYSTEMS = ("tryton", "salesforce", "ecommerce", "edi:grainger-hub", "api")
_KEYBOARD = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv", "h": "gyujnb",
    "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm", "o": "iklp", "p": "ol",
    "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc",
    "y": "tghu", "z": "asx",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class LabelledCustomers:
    """Generated records with the truth: `customer[i]` is the account record i belongs to (its duplicate cluster)."""

    records: list[CustomerRecord]
    customer: list[int]  # records with the same customer are duplicates of each other
    company: list[int]  # branches of one company share it but are different customers

    def clusters(self) -> list[list[int]]:
        """Indexes of the records of each customer, one list per customer."""
        by_customer: dict[int, list[int]] = {}
        for index, customer in enumerate(self.customer):
            by_customer.setdefault(customer, []).append(index)
        return list(by_customer.values())

    def duplicate_pairs(self) -> int:
        """How many record pairs are duplicates (belong to one customer)."""
        return sum(n * (n - 1) // 2 for n in Counter(self.customer).values())


@dataclass(frozen=True, slots=True)
class _Company:
    name: str  # without legal suffix
    legal: str  # "Inc", "LLC", ... or ""
    country: str
    tax_id: str
    phone: str  # head office, in digits with country code
    domain: str  # mail domain; a free-mail domain for small shops
    mail_user: str  # the shop's own free-mail user ("greenvalve77"); "" when it has a domain of its own


@dataclass(frozen=True, slots=True)
class _Customer:
    company: _Company
    name: str  # the company name, or a branch name ("Midwest Plumbing Supply - Peoria")
    is_branch: bool
    house: str
    direction: int  # index into _DIRECTIONS, -1 for none
    street: str
    street_type: int
    unit: str
    city: str
    region: str
    postal: str
    plus4: str
    phone: str
    mailbox: str


def _weighted_size(rng: random.Random) -> int:
    """Records per customer: half are held once, the rest in two to six systems."""
    roll = rng.random()
    for size, cumulative in ((1, 0.50), (2, 0.78), (3, 0.90), (4, 0.96), (5, 0.99)):
        if roll < cumulative:
            return size
    return 6


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names: list[str] = []
        self.addresses: list[_Customer] = []

    def _country(self) -> tuple[str, Sequence[tuple[str, str, str, str]]]:
        roll = self.rng.random()
        for country, cities, share in _COUNTRIES:
            if roll < share:
                return country, cities
            roll -= share
        return _COUNTRIES[0][0], _COUNTRIES[0][1]

    def _company_name(self, country: str) -> str:
        rng = self.rng
        if country == "DE":
            return f"{rng.choice(_DE_SURNAMES)} {rng.choice(_DE_TRADES)} {rng.choice(_DE_KINDS)}"
        if self.names and rng.random() < 0.03:
            return rng.choice(self.names)  # a same-named company elsewhere: a near miss, not a duplicate
        roll = rng.random()
        trade, kind = rng.choice(_TRADES), rng.choice(_KINDS)
        if roll < 0.45:
            name = f"{rng.choice(_PREFIXES)} {trade} {kind}"
        elif roll < 0.65:
            name = f"{rng.choice(_SURNAMES)} {trade} {kind}"
        elif roll < 0.75:
            name = f"{rng.choice(_SURNAMES)} & {rng.choice(_SURNAMES)} {kind}"
        elif roll < 0.83:
            name = f"{rng.choice(_SURNAMES)} Brothers {trade}"
        elif roll < 0.93:
            name = f"{rng.choice(_US_CITIES)[0]} {trade} {kind}"
        else:
            name = f"{rng.choice(_PREFIXES)} {rng.choice(_SURNAMES)} {kind}"
        self.names.append(name)
        return name

    def _phone(self, country: str, area: str) -> str:
        rng = self.rng
        if country in {"US", "CA"}:
            return f"1{area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if country == "DE":
            return f"49{area}{rng.randint(1000000, 9999999)}"
        return f"44{area}{rng.randint(10 ** (10 - len(area) - 1), 10 ** (10 - len(area)) - 1)}"

    def _tax_id(self, country: str) -> str:
        rng = self.rng
        if country == "US":
            return f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}"
        if country == "CA":
            return f"{rng.randint(100000000, 999999999)}RT0001"
        return f"{country}{rng.randint(100000000, 999999999)}"

    def _domain(self, name: str, country: str) -> str:
        rng = self.rng
        if rng.random() < 0.15:
            return rng.choice(_FREE_MAIL)
        words = [w for w in name.lower().replace("&", " ").split() if w.isalpha()]
        stem = "".join(words[:2]) if rng.random() < 0.7 else "".join(w[0] for w in words) + words[-1]
        return f"{stem}{rng.choice(('', '', 'inc', 'supply', 'co'))}.{rng.choice(_TLDS[country])}"

    def company(self) -> _Company:
        country, cities = self._country()
        name = self._company_name(country)
        area = self.rng.choice(cities)[3]
        domain = self._domain(name, country)
        slug = "".join(w for w in name.lower().split() if w.isalpha())[:16]
        return _Company(
            name=name,
            legal=self.rng.choice(_LEGAL[country]),
            country=country,
            tax_id=self._tax_id(country),
            phone=self._phone(country, area),
            domain=domain,
            mail_user=f"{slug}{self.rng.randint(1, 999)}" if domain in _FREE_MAIL else "",
        )

    def _postal(self, country: str, prefix: str) -> str:
        rng = self.rng
        if country == "US":
            return f"{prefix}{rng.randint(0, 99):02d}"
        if country == "CA":
            return f"{prefix} {rng.randint(0, 9)}{rng.choice(string.ascii_uppercase)}{rng.randint(0, 9)}"
        if country == "DE":
            return f"{prefix}{rng.randint(100, 999)}"
        return f"{prefix} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"

    def customer(self, company: _Company, branch: int) -> _Customer:
        rng = self.rng
        cities = {"US": _US_CITIES, "CA": _CA_CITIES, "GB": _GB_CITIES, "DE": _DE_CITIES}[company.country]
        city, region, prefix, area = rng.choice(cities)
        name = company.name
        if branch:
            # Branches: often the same name, else the name with the town or a number.
            style = rng.random()
            if style < 0.35:
                name = f"{company.name} - {city}"
            elif style < 0.5:
                name = f"{company.name} #{rng.randint(2, 99)}"
            elif style < 0.6:
                name = f"{company.name} {city} Branch"
        if self.addresses and rng.random() < 0.02:
            # A tenant of a building another customer is in: same street address, another suite.
            other = rng.choice(self.addresses)
            if other.company.country == company.country:
                return replace(
                    other,
                    company=company,
                    name=name,
                    is_branch=bool(branch),
                    unit=str(rng.randint(100, 900)),
                    plus4="",
                    phone=self._phone(company.country, area),
                    mailbox=rng.choice(_MAILBOXES),
                )
        shares_phone = branch and rng.random() < 0.7
        customer = _Customer(
            company=company,
            name=name,
            is_branch=bool(branch),
            house=str(rng.randint(1, 9999) if rng.random() < 0.8 else rng.randint(10000, 99999)),
            direction=rng.randrange(4) if rng.random() < 0.25 else -1,
            street=rng.choice(_DE_STREETS if company.country == "DE" else _STREET_NAMES),
            street_type=rng.randrange(len(_DE_STREET_TYPES) if company.country == "DE" else len(_STREET_TYPES)),
            unit=str(rng.randint(1, 450)) if rng.random() < 0.25 else "",
            city=city,
            region=region,
            postal=self._postal(company.country, prefix),
            plus4=f"{rng.randint(1, 9999):04d}" if company.country == "US" and rng.random() < 0.5 else "",
            phone=company.phone if not branch or shares_phone else self._phone(company.country, area),
            mailbox=rng.choice(_MAILBOXES),
        )
        if len(self.addresses) < 50_000 or rng.random() < 0.05:
            self.addresses.append(customer)
        return customer

    # --- rendering one record of a customer, with the perturbations of the system it was keyed into ---

    def _typo(self, text: str) -> str:
        rng = self.rng
        words = text.split(" ")
        candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
        if not candidates:
            return text
        i = rng.choice(candidates)
        word = words[i]
        at = rng.randrange(1, len(word))
        kind = rng.random()
        if kind < 0.3:
            lower = word[at].lower()
            swap = rng.choice(_KEYBOARD.get(lower, "e"))
            word = word[:at] + (swap.upper() if word[at].isupper() else swap) + word[at + 1 :]
        elif kind < 0.55:
            word = word[:at] + word[at + 1 :]
        elif kind < 0.8 and at < len(word) - 1:
            word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        else:
            word = word[:at] + word[at - 1] + word[at:]
        words[i] = word
        return " ".join(words)

    def _name(self, customer: _Customer) -> str:
        rng = self.rng
        words = customer.name.split(" ")
        if rng.random() < 0.25:
            # A system's abbreviation of one or two words: "Midwest Plbg Sply".
            for _ in range(rng.randint(1, 2)):
                spots = [i for i, w in enumerate(words) if w in _ABBREVIATIONS]
                if spots:
                    i = rng.choice(spots)
                    words[i] = rng.choice(_ABBREVIATIONS[words[i]])
        if rng.random() < 0.04 and "&" in words:
            i = words.index("&")
            if 0 < i < len(words) - 1:
                words[i - 1], words[i + 1] = words[i + 1], words[i - 1]  # "Smith & Jones" as "Jones & Smith"
        elif rng.random() < 0.03 and len(words) >= 3:
            words = [*words[1:], words[0]]  # "Plumbing Supply Midwest", keyed in surname-first style
            words[-2] += ","
        elif rng.random() < 0.03 and len(words) >= 3 and not customer.is_branch:
            words = words[:-1]  # the kind word left off: "Midwest Plumbing"
        name = " ".join(words)
        roll = rng.random()
        if roll < 0.12:
            name = self._typo(name)
        elif roll < 0.15:
            name = self._typo(self._typo(name))
        legal = customer.company.legal
        if legal and rng.random() < 0.7:
            name = f"{name}{'' if legal.startswith(',') else ' '}{rng.choice(_LEGAL_SPELLINGS.get(legal, (legal,)))}"
        roll = rng.random()
        if roll < 0.3:
            return name.upper()
        if roll < 0.33:
            return name.lower()
        return name.replace(" ,", ",")

    def _street(self, customer: _Customer, country: str) -> str:
        rng = self.rng
        short = rng.random() < 0.5
        if country == "DE":
            kind = _DE_STREET_TYPES[customer.street_type][1 if short else 0]
            line = f"{customer.street}{kind} {customer.house}"
        else:
            parts = [customer.house]
            if customer.direction >= 0:
                parts.append(_DIRECTIONS[customer.direction][1 if rng.random() < 0.5 else 0])
            parts.append(customer.street)
            parts.append(
                _STREET_TYPES[customer.street_type][1 if short else 0] + ("." if short and rng.random() < 0.2 else "")
            )
            line = " ".join(parts)
        if customer.unit and rng.random() < 0.85:
            line += (", " if rng.random() < 0.5 else " ") + rng.choice(_UNIT_FORMS).format(customer.unit)
        if rng.random() < 0.08:
            line = self._typo(line)
        roll = rng.random()
        return line.upper() if roll < 0.3 else line

    def _phone_text(self, digits: str) -> str:
        rng = self.rng
        if digits.startswith("1"):
            area, exchange, line = digits[1:4], digits[4:7], digits[7:]
            text = rng.choice(
                (f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}", f"{area}.{exchange}.{line}",
                 f"+1 {area} {exchange} {line}", f"{area}{exchange}{line}", f"1-{area}-{exchange}-{line}")
            )  # fmt: skip
        else:
            text = f"+{digits[:2]} {digits[2:5]} {digits[5:]}" if rng.random() < 0.6 else f"+{digits}"
        if rng.random() < 0.05:
            text += f" ext. {rng.randint(10, 999)}"
        return text

    def record(self, customer: _Customer, number: int) -> CustomerRecord:
        rng = self.rng
        system = rng.choice(_SYSTEMS)
        company = customer.company
        country = company.country
        missing = rng.random
        postal = customer.postal
        if customer.plus4 and rng.random() < 0.4:
            postal = f"{postal}-{customer.plus4}"
        if country in {"CA", "GB"} and rng.random() < 0.3:
            postal = postal.replace(" ", "")
        city = customer.city
        if rng.random() < 0.04:
            city = self._typo(city)
        if rng.random() < 0.3:
            city = city.upper()
        phone = customer.phone
        if rng.random() < 0.1:
            phone = self._phone(country, phone[1:4] if country in {"US", "CA"} else phone[2:4])  # a direct line
        mailbox = customer.mailbox if rng.random() < 0.6 else rng.choice(_MAILBOXES)
        if company.mail_user:
            # A free-mail shop writes from its own account, now and then from someone's personal one.
            mailbox = (
                company.mail_user if rng.random() < 0.9 else f"{rng.choice(_SURNAMES).lower()}{rng.randint(1, 99)}"
            )
        tax_share = 0.25 if customer.is_branch else 0.45
        tax_id = company.tax_id if rng.random() < tax_share else None
        if tax_id and rng.random() < 0.3:
            tax_id = tax_id.replace("-", "").replace("RT", " RT ")
        if tax_id and rng.random() < 0.01:
            tax_id = self._typo(tax_id) if not tax_id.isdigit() else tax_id[:-1] + str((int(tax_id[-1]) + 1) % 10)
        region = customer.region
        if country == "US" and rng.random() < 0.1:
            region = _US_STATE_NAMES.get(region, region)
        return CustomerRecord(
            record_id=f"{system}:{number}",
            system=system,
            name=self._name(customer),
            legal_name=(f"{customer.company.name} {company.legal}".strip() if rng.random() < 0.1 else None),
            tax_id=tax_id,
            phone=self._phone_text(phone) if missing() > 0.15 else None,
            email=f"{mailbox}@{company.domain}" if missing() > 0.35 else None,
            street=self._street(customer, country) if missing() > 0.06 else None,
            city=city if missing() > 0.04 else None,
            region=region if missing() > 0.1 else None,
            postal_code=postal if missing() > 0.06 else None,
            country=country if country != "US" or missing() > 0.1 else None,
        )


def generate(records: int, *, seed: int = 7) -> LabelledCustomers:
    """`records` customer records of a distributor's systems, with their duplicate clusters, shuffled."""
    generator = _Generator(seed)
    rng = generator.rng
    rendered: list[tuple[CustomerRecord, int, int]] = []
    customer_id = company_id = 0
    while len(rendered) < records:
        company = generator.company()
        company_id += 1
        # One company in ten has branches: separate ship-to customers, which are not duplicates of each other.
        branches = rng.randint(2, 6) if rng.random() < 0.1 else 1
        for branch in range(branches):
            customer = generator.customer(company, branch)
            customer_id += 1
            for _ in range(_weighted_size(rng)):
                number = len(rendered)
                rendered.append((generator.record(customer, number), customer_id, company_id))
    del rendered[records:]
    rng.shuffle(rendered)
    return LabelledCustomers(
        records=[record for record, _, _ in rendered],
        customer=[customer for _, customer, _ in rendered],
        company=[company for _, _, company in rendered],
    )
