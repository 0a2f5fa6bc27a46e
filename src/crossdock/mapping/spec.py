"""A mapping spec: one YAML file mapping one system's entity in one direction.

```yaml
system: salesforce          # optional when the file sits at <system>/<entity>.<direction>.yaml
entity: customer
direction: inbound          # inbound: system -> canonical; outbound: canonical -> system
id: Id                      # source path that names a record in error messages
omit_nulls: false           # true: leave out target fields whose value is null
value_maps:                 # named code tables, used as `map: channel`
  channel: {Customer - Direct: direct, Customer - Channel: dealer}
units: {EA: 1, DZ: 12}      # default UOM factors (base units per unit)
fields:                     # target path: source path, or a rule
  number: AccountNumber
  name: {from: Name, transform: [trim], required: true}
  channel: {from: Type, map: channel, map_default: other}
  credit_limit.amount: {from: Credit_Limit__c, type: decimal, places: 2}
  credit_limit.currency: {from: CurrencyIsoCode, when: Credit_Limit__c}   # only with an amount
  terms.code: {from: Payment_Terms__c, map: {Net 30: NET30}, map_passthrough: true}   # unknown terms kept
  terms.net_days: {from: Payment_Terms__c, transform: {match: '([0-9]+)$'}, type: int}  # Net 45 -> 45
  tax_id.scheme: {from: Tax_Id__c, map_patterns: {'^[0-9]{2}-[0-9]{7}$': ein}, map_default: tax_id}
  sales_rep: {from: OwnerId, when_matches: '^005', else: unassigned}   # only a user id
  bill_to.city: BillingAddress.city
  contacts: {each: Contacts.records, fields: {email: {from: Email, transform: lower}}}
```

Field rules are described in `crossdock.mapping.rules`, paths in `crossdock.mapping.paths`, the folder layout in
`crossdock.mapping.catalog`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossdock.mapping.checks import RuleContext, check_keys, parse_factor, path_at, value_map
from crossdock.mapping.errors import SpecError
from crossdock.mapping.loader import LineMap, load_yaml, load_yaml_file
from crossdock.mapping.paths import FieldPath
from crossdock.mapping.rules import FieldRule, parse_fields

SPEC_KEYS = ("system", "entity", "direction", "description", "id", "omit_nulls", "value_maps", "units", "fields")
_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
_FILE_RE = re.compile(r"(?P<entity>[a-z][a-z0-9_]*)\.(?P<direction>inbound|outbound)\.ya?ml")


class Direction(enum.StrEnum):
    """Which way a mapping goes."""

    INBOUND = "inbound"  # system shape -> canonical shape
    OUTBOUND = "outbound"  # canonical shape -> system shape


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """A validated mapping spec for one (system, entity, direction)."""

    system: str
    entity: str
    direction: Direction
    origin: str
    line: int
    rules: tuple[FieldRule, ...]
    id_path: FieldPath | None = None
    description: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """The catalog key `(system, entity, direction)`."""
        return (self.system, self.entity, self.direction.value)

    @property
    def field_count(self) -> int:
        """How many value fields the spec maps, counting the fields of list mappings."""
        return _count(self.rules)

    @classmethod
    def load(cls, path: str | Path, *, system: str | None = None) -> MappingSpec:
        """Load and validate a spec file; entity and direction default from `<entity>.<direction>.yaml`."""
        path = Path(path)
        named = _FILE_RE.fullmatch(path.name)
        defaults = {
            "system": system or path.parent.name,
            "entity": named["entity"] if named else None,
            "direction": named["direction"] if named else None,
        }
        return cls._build(load_yaml_file(path), str(path), defaults, explicit_system=system is not None)

    @classmethod
    def parse(cls, text: str, origin: str = "<spec>", **defaults: str) -> MappingSpec:
        """Validate a spec from YAML text; `origin` names it in errors, `defaults` fill system/entity/direction."""
        return cls._build(load_yaml(text, origin), origin, dict(defaults), explicit_system="system" in defaults)

    @classmethod
    def _build(
        cls, document: Any, origin: str, defaults: dict[str, str | None], *, explicit_system: bool
    ) -> MappingSpec:
        if not isinstance(document, LineMap):
            raise SpecError(f"{origin}:1", "a mapping spec must be a YAML mapping", "start with `fields:`")
        base = RuleContext(origin, {}, {}, omit_nulls=False)
        check_keys(base, document, SPEC_KEYS, "the spec")
        at = document.line_of
        header = {
            name: _header(base, document, name, defaults, explicit_system=explicit_system)
            for name in ("system", "entity", "direction")
        }
        direction = header["direction"]
        if direction not in {d.value for d in Direction}:
            raise base.error(at("direction"), f"unknown direction {direction!r}", "use inbound or outbound")
        omit_nulls = document.get("omit_nulls", False)
        if not isinstance(omit_nulls, bool):
            raise base.error(at("omit_nulls"), "omit_nulls must be true or false")
        ctx = RuleContext(origin, _value_maps(base, document), _units(base, document), omit_nulls)
        if "fields" not in document:
            raise base.error(document.line, "the spec has no `fields:`", "map at least one target field")
        rules = parse_fields(ctx, document["fields"], at("fields"))
        id_path = path_at(base, document["id"], at("id"), "id path") if "id" in document else None
        description = document.get("description", "")
        return cls(
            system=str(header["system"]),
            entity=str(header["entity"]),
            direction=Direction(direction),
            origin=origin,
            line=at("fields"),
            rules=rules,
            id_path=id_path,
            description=description if isinstance(description, str) else "",
        )


def _header(
    ctx: RuleContext, document: LineMap, name: str, defaults: dict[str, str | None], *, explicit_system: bool
) -> str:
    implied = defaults.get(name)
    declared = document.get(name)
    line = document.line_of(name)
    if declared is None:
        if not implied:
            raise ctx.error(line, f"the spec does not say its {name}", f"add `{name}:` at the top")
        if not _NAME_RE.fullmatch(implied):
            raise ctx.error(line, f"{name} {implied!r} (from the file's folder) is not a lower-case name")
        return implied
    if not isinstance(declared, str) or not _NAME_RE.fullmatch(declared):
        raise ctx.error(line, f"{name} must be a lower-case name such as `salesforce`, got {declared!r}")
    # A system inferred from the parent folder is a guess; a declared one wins unless the catalog passed it.
    if implied is not None and declared != implied and (name != "system" or explicit_system):
        raise ctx.error(
            line,
            f"{name} {declared!r} does not match {implied!r} given by the file's name or folder",
            "rename the file or fix the header",
        )
    return declared


def _value_maps(ctx: RuleContext, document: LineMap) -> dict[str, dict[Any, Any]]:
    tables = document.get("value_maps")
    if tables is None:
        return {}
    if not isinstance(tables, LineMap):
        raise ctx.error(document.line_of("value_maps"), "`value_maps:` must map names to code tables")
    return {str(name): value_map(ctx, table, tables.line_of(name)) for name, table in tables.items()}


def _units(ctx: RuleContext, document: LineMap) -> dict[str, Any]:
    table = document.get("units")
    if table is None:
        return {}
    if not isinstance(table, LineMap):
        raise ctx.error(document.line_of("units"), "`units:` must map unit codes to factors")
    return {str(unit): parse_factor(ctx, factor, table.line_of(unit), unit) for unit, factor in table.items()}


def _count(rules: tuple[FieldRule, ...]) -> int:
    return sum(_count(rule.rules) if rule.each is not None else 1 for rule in rules)
