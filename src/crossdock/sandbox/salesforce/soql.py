"""A SOQL subset: tokenizer and recursive-descent parser (`soql_print` writes the text back).

Grammar:

    query     := SELECT item (',' item)* FROM name [WHERE cond] [ORDER BY order (',' order)*] [LIMIT n] [OFFSET n]
    item      := COUNT '(' ')' | '(' SELECT field (',' field)* FROM relationship [WHERE ..] [ORDER BY ..] [LIMIT n] ')'
               | field
    cond      := unary (AND unary)* | unary (OR unary)*     -- mixing AND and OR needs parentheses, as in SOQL
    unary     := NOT unary | '(' cond ')' | field op value | field [NOT] IN '(' value (',' value)* ')'
    op        := '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | LIKE
    value     := 'string' | number | TRUE | FALSE | NULL | 2026-11-22 | 2026-11-22T10:00:00Z | TODAY | LAST_N_DAYS:n ...

Names are checked against the schema later (`query.py`); this module knows only syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from crossdock.sandbox.salesforce.soql_ast import (
    And,
    Comparison,
    Condition,
    CountAll,
    FieldRef,
    InList,
    Literal,
    Not,
    Or,
    OrderItem,
    Query,
    SelectItem,
    SoqlError,
    SubQuery,
)

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),:])
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    "%": "\\%",
    "_": "\\_",
}
KEYWORDS = frozenset(
    {
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "NULLS",
        "FIRST",
        "LAST",
        "LIMIT",
        "OFFSET",
        "TRUE",
        "FALSE",
        "NULL",
        "COUNT",
        "GROUP",
        "HAVING",
        "WITH",
        "FOR",
        "USING",
        "TYPEOF",
    }
)
# Relative date literals: name -> takes a number (LAST_N_DAYS:7).
RELATIVE_DATES = {
    "TODAY": False,
    "YESTERDAY": False,
    "TOMORROW": False,
    "THIS_WEEK": False,
    "LAST_WEEK": False,
    "NEXT_WEEK": False,
    "THIS_MONTH": False,
    "LAST_MONTH": False,
    "NEXT_MONTH": False,
    "THIS_YEAR": False,
    "LAST_YEAR": False,
    "LAST_90_DAYS": False,
    "NEXT_90_DAYS": False,
    "LAST_N_DAYS": True,
    "NEXT_N_DAYS": True,
}


@dataclass(frozen=True, slots=True)
class Token:
    """One lexical token and where it starts."""

    kind: str
    text: str
    pos: int
    value: Any = None


def tokenize(text: str) -> list[Token]:
    """The tokens of a query, ending with an `eof` token; raises MALFORMED_QUERY on a character it cannot read."""
    tokens = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] == "'":
                raise SoqlError("MALFORMED_QUERY", "unterminated string literal", pos)
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text[pos]}'", pos)
        kind = match.lastgroup or ""
        if kind != "ws":
            raw = match.group()
            value: Any = _unescape(raw, pos) if kind == "string" else None
            tokens.append(Token(kind, raw, pos, value))
        pos = match.end()
    tokens.append(Token("eof", "", len(text)))
    return tokens


def _unescape(raw: str, pos: int) -> str:
    out = []
    index = 1
    while index < len(raw) - 1:
        char = raw[index]
        if char == "\\":
            code = raw[index + 1]
            if code not in _ESCAPES:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"Invalid string literal '{raw}'. Illegal character sequence '\\{code}' in string literal.",
                    pos,
                )
            out.append(_ESCAPES[code])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_keyword(self, *words: str) -> bool:
        return self.token.kind == "ident" and self.token.text.upper() in words

    def unexpected(self) -> SoqlError:
        token = self.token
        text = "<EOF>" if token.kind == "eof" else token.text
        return SoqlError("MALFORMED_QUERY", f"unexpected token: '{text}'", token.pos)

    def expect_keyword(self, word: str) -> Token:
        if not self.is_keyword(word):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, char: str) -> Token:
        if self.token.kind != "punct" or self.token.text != char:
            raise self.unexpected()
        return self.advance()

    def at_punct(self, char: str) -> bool:
        return self.token.kind == "punct" and self.token.text == char

    def name(self) -> Token:
        if self.token.kind != "ident" or self.token.text.upper() in KEYWORDS:
            raise self.unexpected()
        return self.advance()

    def integer(self) -> int:
        token = self.token
        if token.kind != "number" or not token.text.isdigit():
            raise self.unexpected()
        self.advance()
        return int(token.text)

    # -- grammar -------------------------------------------------------------------------------------------------

    def query(self) -> Query:
        self.expect_keyword("SELECT")
        select: list[SelectItem] = [self.select_item()]
        while self.at_punct(","):
            self.advance()
            select.append(self.select_item())
        self.expect_keyword("FROM")
        # Object names may be keywords (`FROM Order`), so any identifier is taken here.
        if self.token.kind != "ident" or "." in self.token.text:
            raise self.unexpected()
        sobject = self.advance()
        where = self.where()
        order_by = self.order_by()
        limit = self.limit()
        offset = None
        if self.is_keyword("OFFSET"):
            self.advance()
            offset = self.integer()
        if self.token.kind != "eof":
            raise self.unexpected()
        return Query(tuple(select), sobject.text, where, order_by, limit, offset, sobject.pos)

    def select_item(self) -> SelectItem:
        token = self.token
        if self.is_keyword("COUNT"):
            self.advance()
            self.expect_punct("(")
            self.expect_punct(")")
            return CountAll(token.pos)
        if self.at_punct("("):
            self.advance()
            sub = self.subquery(token.pos)
            self.expect_punct(")")
            return sub
        return self.field_ref()

    def field_ref(self) -> FieldRef:
        token = self.name()
        return FieldRef(token.text, token.pos)

    def subquery(self, pos: int) -> SubQuery:
        self.expect_keyword("SELECT")
        fields = [self.field_ref()]
        while self.at_punct(","):
            self.advance()
            fields.append(self.field_ref())
        self.expect_keyword("FROM")
        relationship = self.name()
        return SubQuery(tuple(fields), relationship.text, self.where(), self.order_by(), self.limit(), pos)

    def where(self) -> Condition | None:
        if not self.is_keyword("WHERE"):
            return None
        self.advance()
        return self.condition()

    def order_by(self) -> tuple[OrderItem, ...]:
        if not self.is_keyword("ORDER"):
            return ()
        self.advance()
        self.expect_keyword("BY")
        items = [self.order_item()]
        while self.at_punct(","):
            self.advance()
            items.append(self.order_item())
        return tuple(items)

    def order_item(self) -> OrderItem:
        ref = self.field_ref()
        descending = False
        if self.is_keyword("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        nulls_last = None
        if self.is_keyword("NULLS"):
            self.advance()
            if not self.is_keyword("FIRST", "LAST"):
                raise self.unexpected()
            nulls_last = self.advance().text.upper() == "LAST"
        return OrderItem(ref, descending, nulls_last)

    def limit(self) -> int | None:
        if not self.is_keyword("LIMIT"):
            return None
        self.advance()
        return self.integer()

    def condition(self) -> Condition:
        first = self.unary()
        if not self.is_keyword("AND", "OR"):
            return first
        joiner = self.token.text.upper()
        items = [first]
        while self.is_keyword(joiner):
            self.advance()
            items.append(self.unary())
        if self.is_keyword("AND", "OR"):
            raise self.unexpected()
        return And(tuple(items)) if joiner == "AND" else Or(tuple(items))

    def unary(self) -> Condition:
        if self.is_keyword("NOT"):
            self.advance()
            return Not(self.unary())
        if self.at_punct("("):
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        ref = self.field_ref()
        if self.is_keyword("NOT") or self.is_keyword("IN"):
            negated = self.is_keyword("NOT")
            if negated:
                self.advance()
            self.expect_keyword("IN")
            self.expect_punct("(")
            values = [self.value()]
            while self.at_punct(","):
                self.advance()
                values.append(self.value())
            self.expect_punct(")")
            return InList(ref, tuple(values), negated)
        if self.is_keyword("LIKE"):
            self.advance()
            return Comparison(ref, "LIKE", self.value())
        if self.token.kind != "op":
            raise self.unexpected()
        op = self.advance().text
        return Comparison(ref, "!=" if op == "<>" else op, self.value())

    def value(self) -> Literal:
        token = self.token
        if token.kind == "string":
            self.advance()
            return Literal("string", token.value, token.pos)
        if token.kind in {"number", "date", "datetime"}:
            self.advance()
            return Literal(token.kind, token.text, token.pos)
        if token.kind == "ident":
            word = token.text.upper()
            if word in {"TRUE", "FALSE"}:
                self.advance()
                return Literal("boolean", word == "TRUE", token.pos)
            if word == "NULL":
                self.advance()
                return Literal("null", None, token.pos)
            if word in RELATIVE_DATES:
                self.advance()
                amount = None
                if RELATIVE_DATES[word]:
                    self.expect_punct(":")
                    amount = self.integer()
                return Literal("relative", (word, amount), token.pos)
        raise self.unexpected()


def parse(text: str) -> Query:
    """Parse a SOQL query; raises `SoqlError` (MALFORMED_QUERY) with the position of the offending token."""
    return _Parser(text).query()
