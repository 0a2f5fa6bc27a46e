"""Python source generation for a spec: one function per object shape (the record, each list mapping's element).

What the generated code does for speed, and why it stays equal to `interpreter`:
- every source path prefix is read once into a local (`_p3 = r.get('BillingAddress')`) by the first rule that
  needs it, so a wrong shape fails in the same rule as in the interpreter;
- the output is one dict display; only fields whose null is omitted, or that sit in list elements, are written
  after it, and a selected list element (`addresses[kind=bill_to]`) is created once at its first write;
- no per-rule bookkeeping: when something raises, the failing line maps back to its rule and `interpreter.diagnose`
  writes the message.
Spec text reaches the source only as `repr()` literals (keys, selector values) or ints (indexes); every other spec
value (value maps, constants, transforms, expressions) is bound under a generated name, so a spec cannot inject code.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from typing import Any

from crossdock.mapping.interpreter import Expression
from crossdock.mapping.paths import Step
from crossdock.mapping.rules import FieldRule
from crossdock.mapping.transforms import SIMPLE_TRANSFORMS

Steps = tuple[Step, ...]
# Coercions that leave a value of their own type unchanged, so the call can be skipped for it.
_IDENTITY_TYPES = {"str": "str", "int": "int", "bool": "bool"}


# Makes the error handler of a generated function from its rules and their first lines (`compiler._fail`).
FailFactory = Callable[[tuple[FieldRule, ...], list[int], bool], Any]


class Generator:
    """Writes the source of the generated functions and collects the values they refer to by name."""

    def __init__(self, namespace: dict[str, Any], fail_factory: FailFactory) -> None:
        self.namespace = namespace
        self.lines: list[str] = []
        self._fail_factory = fail_factory
        self._names = itertools.count()

    def bind(self, prefix: str, value: Any) -> str:
        """Put a value in the namespace under a fresh generated name."""
        name = f"_{prefix}{next(self._names)}"
        self.namespace[name] = value
        return name

    def constant(self, prefix: str, value: Any) -> str:
        """An expression giving a spec constant; lists and objects are copied for each record."""
        name = self.bind(prefix, value)
        if not isinstance(value, (dict, list)):
            return name
        items = value.values() if isinstance(value, dict) else value
        flat = not any(isinstance(item, (dict, list)) for item in items)
        return f"{name}.copy()" if flat else f"_copy({name})"

    def function(self, rules: tuple[FieldRule, ...], *, root: bool) -> str:
        """Emit a function mapping one object with `rules`; returns its name."""
        body = _Body(self, rules)
        for position, rule in enumerate(rules):
            body.rule(position, rule)
        name = self.bind("map", None)
        self.lines.append(f"def {name}(r):")
        # Elements are checked here too; a failure falls back to the slow path that names the element.
        self.lines += [
            "    if not isinstance(r, dict):",
            "        raise _not_record(r)" if root else "        raise _Fail",
        ]
        self.lines.append("    try:")
        first = len(self.lines) + 1
        starts = [first + line for line in body.starts]
        self.lines += [f"        {line}" for line in body.lines]
        self.lines.append(f"        out = {_literal(body.tree)}")
        self.lines += [f"        {line}" for line in body.puts]
        fail = self.bind("fail", self._fail_factory(rules, starts, root))
        self.lines += [
            "        return out",
            "    except Exception as _e:",
            f"        raise {fail}(_e, r) from None",
            "",
        ]
        return name


class _Body:
    """The statements of one generated function: one block per rule, then the output dict and late writes."""

    def __init__(self, generator: Generator, rules: tuple[FieldRule, ...]) -> None:
        self.generator = generator
        self.lines: list[str] = []
        self.starts: list[int] = []
        self.puts: list[str] = []
        self.tree: dict[str, Any] = {}
        self._elements: dict[Steps, tuple[str, str]] = {}
        self._paths: dict[tuple[Steps, bool], str] = {}
        self._uses = Counter(prefix for rule in rules for prefix in _read_prefixes(rule))

    def rule(self, position: int, rule: FieldRule) -> None:
        """Emit the statements computing one rule's value, and where it goes in the output."""
        self.starts.append(len(self.lines))
        value = f"v{position}"
        if rule.each is not None:
            self._each(value, rule)
        elif rule.when is not None:
            self._conditional(value, rule)
        else:
            value = self._value(value, rule)
        if (rule.omit_null and _may_be_null(rule)) or not rule.target.plain:
            self._put(value, rule)
        else:
            node = self.tree
            for step in rule.target.steps[:-1]:
                node = node.setdefault(step.key, {})
            node[rule.target.steps[-1].key] = value

    def _fetch(self, steps: Steps, select_many: bool = False, into: str = "") -> str:
        """The variable holding the value at `steps`; prefixes other rules share are read once per record."""
        cached = self._paths.get((steps, select_many))
        if cached is not None:
            return cached
        parent = self._fetch(steps[:-1]) if len(steps) > 1 else "r"
        shared = self._uses[(steps, select_many)] > 1
        var = f"_p{len(self._paths)}" if shared or not into else into
        step = steps[-1]
        if step.kind == "key":
            lookup = f"{parent}.get({step.key!r})"
            self.lines.append(
                f"{var} = {lookup}" if parent == "r" else f"{var} = None if {parent} is None else {lookup}"
            )
        elif step.kind == "index":
            self.lines.append(f"{var} = _index({parent}, {int(step.index)!r})")
        elif step.values:
            helper = "_select_all_in" if select_many else "_select_in"
            accepted = self.generator.bind("sel", frozenset(step.values))
            self.lines.append(f"{var} = {helper}({parent}, {step.key!r}, {accepted})")
        else:
            helper = "_select_all" if select_many else "_select"
            self.lines.append(f"{var} = {helper}({parent}, {step.key!r}, {step.value!r})")
        if var != into:
            self._paths[(steps, select_many)] = var
        return var

    def _each(self, value: str, rule: FieldRule) -> None:
        assert rule.each is not None  # the caller checked
        function = self.generator.function(rule.rules, root=False)
        fetched = self._fetch(rule.each.steps, select_many=True, into=value)
        missing = "raise _Fail"
        if not rule.required:
            missing = f"{value} = {self.generator.constant('d', rule.default)}" if rule.has_default else f"{value} = []"
        slow = f"_each({function}, {fetched}, {self.generator.bind('rule', rule)})"
        self.lines += [
            f"if {fetched} is None: {missing}",
            f"elif {fetched}.__class__ is list:",
            f"    try: {value} = [{function}(_item) for _item in {fetched}]",
            f"    except Exception: {value} = {slow}",
            f"else: {value} = {slow}",
        ]

    def _conditional(self, value: str, rule: FieldRule) -> None:
        """Emit a rule with `when:`: its whole pipeline runs only when the `when` path has a value."""
        assert rule.when is not None  # the caller checked
        present = self._fetch(rule.when.steps)
        # Paths first read inside the branch may not have been read at all, so later rules read them again.
        cached, mark = dict(self._paths), len(self.lines)
        result = self._value(value, rule)
        if result != value:
            self.lines.append(f"{value} = {result}")
        body, self._paths = self.lines[mark:], cached
        del self.lines[mark:]
        self.lines += [f"if {present} is None or {present} == '': {value} = {self._else(rule)}", "else:"]
        self.lines += [f"    {line}" for line in body]

    def _else(self, rule: FieldRule) -> str:
        """The value of a field whose `when:` or `when_matches:` does not hold."""
        return self.generator.constant("e", rule.else_value) if rule.has_else else "None"

    def _value(self, value: str, rule: FieldRule) -> str:
        """Emit the pipeline of a value rule; returns the variable that holds the result."""
        emit = self.lines.append
        if rule.has_const:
            emit(f"{value} = {self.generator.constant('k', rule.const)}")
        elif rule.expr is not None:
            emit(f"{value} = {self.generator.bind('x', Expression(rule.expr))}(r)")
        elif rule.many:
            emit(f"{value} = [{', '.join(self._fetch(path.steps) for path in rule.source)}]")
        else:
            fetched = self._fetch(rule.source[0].steps, into=value)
            changes = (rule.transforms, rule.value_map, rule.value_patterns, rule.when_matches, rule.uom)
            if not any((*changes, rule.coercion, rule.required, rule.has_default)):
                return fetched
            if fetched != value:
                emit(f"{value} = {fetched}")
        mark = len(self.lines)
        self._pipeline(value, rule)
        if rule.when_matches is not None:
            # A value that is not text makes `search` raise, and the interpreter explains it.
            body = self.lines[mark:]
            del self.lines[mark:]
            search = self.generator.bind("rx", rule.when_matches.search)
            emit(f"if {value} is None or not {search}({value}): {value} = {self._else(rule)}")
            if body:
                self.lines += ["else:", *(f"    {line}" for line in body)]
        return value

    def _pipeline(self, value: str, rule: FieldRule) -> None:
        """Emit what happens to a value once read: transforms, maps, UOM, type, then required or default."""
        emit = self.lines.append
        self._transforms(value, rule)
        self._conversions(value, rule)
        if rule.required:
            emit(f"if {value} is None or {value} == '': raise _Fail")
        elif rule.has_default:
            emit(f"if {value} is None or {value} == '': {value} = {self.generator.constant('d', rule.default)}")

    def _transforms(self, value: str, rule: FieldRule) -> None:
        chain = ""  # consecutive str-method transforms run as one chain behind one None check
        for transform in (*rule.transforms, None):
            if transform is not None and transform.name in SIMPLE_TRANSFORMS:
                chain += f".{SIMPLE_TRANSFORMS[transform.name]}()"
                continue
            if chain:
                self.lines.append(f"if {value} is not None: {value} = {value}{chain}")
                chain = ""
            if transform is not None and transform.name == "split" and transform.index is None:
                # str.split raises for anything but text, as the transform does, and the interpreter explains it.
                split = f"{value}.split({transform.arg!r}, {int(transform.maxsplit)!r})"
                self.lines.append(f"if {value} is not None: {value} = {split}")
            elif transform is not None:
                self.lines.append(f"{value} = {self.generator.bind('t', transform.function())}({value})")

    def _conversions(self, value: str, rule: FieldRule) -> None:
        bind, emit = self.generator.bind, self.lines.append
        if rule.value_map is not None:
            self._value_map(value, rule)
        if rule.value_patterns is not None:
            # A value that is not text makes `search` raise, and the interpreter explains it.
            emit(f"if {value} is not None:")
            for position, (pattern, mapped) in enumerate(rule.value_patterns):
                found = f"{bind('rx', pattern.search)}({value})"
                emit(f"    {'elif' if position else 'if'} {found}: {value} = {self.generator.constant('pv', mapped)}")
            emit(f"    else: {self._unmapped(rule, value, value)}")
        if rule.uom is not None:
            emit(f"{value} = {bind('uom', rule.uom.function())}({value}, r)")
        if rule.coercion is not None:
            coerce = f"{value} = {bind('c', rule.coercion.function())}({value})"
            exact = _IDENTITY_TYPES.get(rule.coercion.type)
            emit(f"if {value}.__class__ is not {exact}: {coerce}" if exact else coerce)

    def _value_map(self, value: str, rule: FieldRule) -> None:
        bind, emit = self.generator.bind, self.lines.append
        table = bind("m", dict(rule.value_map or {}))
        fallback = rule.map_default
        if rule.map_passthrough and rule.passthrough_transform is None:
            emit(f"if {value} is not None: {value} = {table}.get({value}, {value})")
        elif rule.has_map_default and not isinstance(fallback, (dict, list)):
            emit(f"if {value} is not None: {value} = {table}.get({value}, {bind('md', fallback)})")
        else:
            emit(f"if {value} is not None:")
            emit(f"    _u = {table}.get({value}, _MISSING)")
            emit(f"    if _u is _MISSING: {self._unmapped(rule, value, '_u')}")
            emit(f"    {value} = _u")

    def _unmapped(self, rule: FieldRule, value: str, into: str) -> str:
        """The statement putting into `into` what a value no map entry covers gives: itself, map_default, or a fail."""
        if rule.map_passthrough:
            transform = rule.passthrough_transform
            kept = value if transform is None else f"{self.generator.bind('t', transform.function())}({value})"
            return f"{into} = {kept}" if kept != into else "pass"
        if rule.has_map_default:
            return f"{into} = {self.generator.constant('md', rule.map_default)}"
        return "raise _Fail"

    def _put(self, value: str, rule: FieldRule) -> None:
        """Emit a write after the output dict exists: for omitted nulls and for targets inside lists."""
        steps = rule.target.steps
        guard = rule.omit_null and _may_be_null(rule)
        indexed_leaf = steps[-1].kind != "key"  # `tags[1]`: the value is a list item, not an object's field
        split = _list_end(steps[:-1] if indexed_leaf else steps)
        holder, lines = self._element(steps[:split], guard) if split else ("out", [])
        if indexed_leaf:
            lines.append(f"_put({holder}, {self.generator.bind('target', steps[split:])}, {value})")
        else:
            for step in steps[split:-1]:
                holder = f"{holder}.setdefault({step.key!r}, {{}})"
            lines.append(f"{holder}[{steps[-1].key!r}] = {value}")
        if guard:
            self.puts.append(f"if {value} is not None:")
            self.puts += [f"    {line}" for line in lines]
        else:
            self.puts += lines

    def _element(self, container: Steps, guarded: bool) -> tuple[str, list[str]]:
        """The variable for the list element at `container`, and the statements that create it if it may not exist.

        Only this container creates elements matching its selector (the spec loader forbids mixing index and
        selector keys on one list), so a new element is appended without searching the list.
        """
        known = self._elements.get(container)
        if known is not None and known[1] == "made":
            return known[0], []
        parent_end = _list_end(container[:-1])
        holder, lines = self._element(container[:parent_end], guarded) if parent_end else ("out", [])
        var, state = known or (f"_e{len(self._elements)}", "new")
        for step in container[parent_end:-2]:
            holder = f"{holder}.setdefault({step.key!r}, {{}})"
        elements = f"{holder}.setdefault({container[-2].key!r}, [])"
        last = container[-1]
        if last.kind == "index":
            create = [f"{var} = _slot({elements}, {int(last.index)!r})"]
        else:
            create = [f"{var} = {{{last.key!r}: {last.value!r}}}", f"{elements}.append({var})"]
        # An element first written behind a null check may or may not exist at later writes.
        if state == "new" and not guarded:
            lines += create
        else:
            if state == "new":
                self.puts.insert(0, f"{var} = None")
            lines += [f"if {var} is None:", *(f"    {line}" for line in create)]
        self._elements[container] = (var, "maybe" if guarded else "made")
        return var, lines


def _read_prefixes(rule: FieldRule) -> list[tuple[Steps, bool]]:
    """Every path prefix a rule reads from its object, as `_fetch` caches them."""
    paths = [(rule.each.steps, True)] if rule.each is not None else [(path.steps, False) for path in rule.source]
    if rule.when is not None:
        paths.append((rule.when.steps, False))
    found: list[tuple[Steps, bool]] = []
    for steps, select_many in paths:
        found += [(steps[:size], False) for size in range(1, len(steps))]
        found.append((steps, select_many))
    return found


def _list_end(steps: Steps) -> int:
    """The length of the prefix of `steps` that ends in its last index or selector step; 0 if there is none."""
    return max((n + 1 for n, step in enumerate(steps) if step.kind != "key"), default=0)


def _may_be_null(rule: FieldRule) -> bool:
    """False when a rule's value is never None, so omitting nulls needs no check."""
    if rule.when is not None or rule.when_matches is not None:
        return True
    if rule.required or rule.each is not None or (rule.has_default and rule.default is not None):
        return False
    unchanged = not (rule.transforms or rule.value_map is not None or rule.value_patterns or rule.uom or rule.coercion)
    return not (rule.has_const and rule.const is not None and unchanged)


def _literal(tree: dict[str, Any]) -> str:
    """A dict display for the output tree; keys are repr() literals, leaves are generated variable names."""
    items = (f"{key!r}: {_literal(node) if isinstance(node, dict) else node}" for key, node in tree.items())
    return "{" + ", ".join(items) + "}"
