"""The Flux abstract syntax tree that ``POST /api/v2/query/ast`` answers (``ASTResponse`` in oss.yml).

Pure: text in, JSON-ready dicts out. The node shapes are Flux's own JSON AST (``ast/json.go``, what
InfluxDB 2.7 sends): a ``Package`` of one ``File`` (``metadata: parser-type=rust``) whose ``body`` holds
``ExpressionStatement``, ``VariableAssignment`` and ``OptionStatement`` nodes; expressions are
``PipeExpression``, ``CallExpression`` (its named arguments in one ``ObjectExpression``, left out when
there are none), ``MemberExpression``, ``IndexExpression``, ``FunctionExpression`` (parameters as
``Property`` nodes, a ``Block`` body for ``{ return ... }``), ``ObjectExpression`` (``with``),
``ArrayExpression``, ``BinaryExpression``, ``LogicalExpression``, ``UnaryExpression``,
``ConditionalExpression``, ``Identifier`` and the literals (``IntegerLiteral`` values are strings, as
Flux writes them; ``DurationLiteral`` has ``values: [{magnitude, unit}]``). Every node has a
``location``: 1-based ``start``/``end`` line and column (end exclusive) and the ``source`` text.

Parsing is syntax only, as InfluxDB's endpoint is: ``from(foo: "x")`` gets an AST. A syntax error raises
:class:`flux.FluxError` with Flux's ``error @l:c-l:c: ...`` position. Known differences: string
interpolation (``"${x}"``) is refused (the sandbox's lexer does not split it), and parentheses leave no
``ParenExpression`` node.
"""

from __future__ import annotations

import re
from typing import Any

from .flux import FluxError, _Parser, _Tok

_DURATION_PART = re.compile(r"(\d+)(mo|ms|us|µs|ns|y|w|d|h|m|s)")
_COMPARISON = ("==", "!=", "<", "<=", ">", ">=", "=~", "!~")


class _AstParser(_Parser):
    """Flux's grammar (statements, records, arithmetic, conditionals) on the sandbox lexer's tokens."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text
        self.last: _Tok | None = None

    def next(self) -> _Tok:
        tok = super().next()
        if tok.kind != "eof":
            self.last = tok
        return tok

    # -- nodes -------------------------------------------------------------------------------
    def node(self, kind: str, start: int, **fields: Any) -> dict[str, Any]:
        end = self.last.end if self.last is not None else start
        return {"type": kind, "location": self.location(start, end), **fields}

    def location(self, start: int, end: int) -> dict[str, Any]:
        (l1, c1), (l2, c2) = self.src.loc(start), self.src.loc(max(start, end))
        return {"start": {"line": l1, "column": c1}, "end": {"line": l2, "column": c2},
                "source": self.text[start:end]}

    @staticmethod
    def begin(node: dict[str, Any]) -> int:
        return node["_start"]

    def mark(self, node: dict[str, Any], start: int) -> dict[str, Any]:
        node["_start"] = start
        return node

    def identifier(self) -> dict[str, Any]:
        tok = self.next()
        if tok.kind != "ident":
            raise self.fail(tok, f"expected IDENT, got {self._shown(tok)}")
        return self.mark(self.node("Identifier", tok.pos, name=tok.value), tok.pos)

    @staticmethod
    def _shown(tok: _Tok) -> str:
        return "EOF" if tok.kind == "eof" else str(tok.value if tok.kind in ("op", "ident") else tok.kind)

    # -- statements --------------------------------------------------------------------------
    def file(self) -> dict[str, Any]:
        body: list[dict[str, Any]] = []
        imports: list[dict[str, Any]] = []
        package = None
        if self.is_word("package"):
            start = self.next().pos
            package = self.node("PackageClause", start, name=self.identifier())
        while self.is_word("import"):
            start = self.next().pos
            alias = self.identifier() if self.peek().kind == "ident" else None
            path = self.next()
            if path.kind != "string":
                raise self.fail(path, f"expected STRING, got {self._shown(path)}")
            node = self.node("ImportDeclaration", start,
                             path=self.node("StringLiteral", path.pos, value=path.value))
            if alias is not None:
                node["as"] = alias
            imports.append(node)
        while self.peek().kind != "eof":
            body.append(self.statement())
        first = self.toks[0].pos
        end = self.last.end if self.last is not None else first
        out = {"type": "File", "location": self.location(first, end), "metadata": "parser-type=rust"}
        if package is not None:
            out["package"] = package
        if imports:
            out["imports"] = imports
        out["body"] = body
        return out

    def statement(self) -> dict[str, Any]:
        tok = self.peek()
        if tok.kind == "ident" and tok.value == "option":
            self.next()
            target = self.identifier()
            if self.is_op("."):
                self.next()
                prop = self.identifier()
                member = self.node("MemberExpression", self.begin(target), object=target, property=prop)
                self.expect_op("=")
                init = self.expression()
                assignment = self.node("MemberAssignment", self.begin(target), member=member, init=init)
            else:
                self.expect_op("=")
                init = self.expression()
                assignment = self.node("VariableAssignment", self.begin(target), id=target, init=init)
            return self.node("OptionStatement", tok.pos, assignment=assignment)
        if tok.kind == "ident" and tok.value == "return":
            self.next()
            return self.node("ReturnStatement", tok.pos, argument=self.expression())
        if tok.kind == "ident" and self.is_op("=", 1) and tok.value not in ("not", "exists"):
            target = self.identifier()
            self.expect_op("=")
            return self.node("VariableAssignment", tok.pos, id=target, init=self.expression())
        return self.node("ExpressionStatement", tok.pos, expression=self.expression())

    # -- expressions, lowest precedence first -------------------------------------------------
    def expression(self) -> dict[str, Any]:
        if self.is_word("if"):
            start = self.next().pos
            test = self.expression()
            self._keyword("then")
            consequent = self.expression()
            self._keyword("else")
            alternate = self.expression()
            return self.mark(self.node("ConditionalExpression", start, test=test, consequent=consequent,
                                       alternate=alternate), start)
        return self.logical_or()

    def _keyword(self, word: str) -> None:
        tok = self.next()
        if tok.kind != "ident" or tok.value != word:
            raise self.fail(tok, f"expected {word.upper()}, got {self._shown(tok)}")

    def _binary(self, kind: str, operators: tuple[str, ...], operand, words: bool = False) -> dict[str, Any]:
        left = operand()
        while True:
            tok = self.peek()
            if not ((tok.kind == "ident" if words else tok.kind == "op") and tok.value in operators):
                return left
            self.next()
            right = operand()
            left = self.mark(self.node(kind, self.begin(left), operator=tok.value, left=left, right=right),
                             self.begin(left))

    def logical_or(self):
        return self._binary("LogicalExpression", ("or",), self.logical_and, words=True)

    def logical_and(self):
        return self._binary("LogicalExpression", ("and",), self.unary_logical, words=True)

    def unary_logical(self):
        if self.is_word("not") or self.is_word("exists"):
            tok = self.next()
            argument = self.unary_logical()
            return self.mark(self.node("UnaryExpression", tok.pos, operator=tok.value, argument=argument), tok.pos)
        return self.comparison()

    def comparison(self):
        return self._binary("BinaryExpression", _COMPARISON, self.additive)

    def additive(self):
        return self._binary("BinaryExpression", ("+", "-"), self.multiplicative)

    def multiplicative(self):
        return self._binary("BinaryExpression", ("*", "/", "%", "^"), self.pipe)

    def pipe(self):
        left = self.unary()
        while self.is_op("|>"):
            tok = self.next()
            call = self.postfix()
            if call["type"] != "CallExpression":
                raise self.fail(tok, "pipe destination must be a function call")
            left = self.mark(self.node("PipeExpression", self.begin(left), argument=left, call=call),
                             self.begin(left))
        return left

    def unary(self):
        if self.is_op("-") or self.is_op("+"):
            tok = self.next()
            argument = self.unary()
            return self.mark(self.node("UnaryExpression", tok.pos, operator=tok.value, argument=argument), tok.pos)
        return self.postfix()

    def postfix(self):
        expr = self.primary()
        start = self.begin(expr)
        while True:
            if self.is_op("."):
                self.next()
                expr = self.mark(self.node("MemberExpression", start, object=expr, property=self.identifier()), start)
            elif self.is_op("["):
                self.next()
                index = self.expression()
                self.expect_op("]")
                if index["type"] == "StringLiteral":
                    expr = self.node("MemberExpression", start, object=expr, property=index)
                else:
                    expr = self.node("IndexExpression", start, array=expr, index=index)
                self.mark(expr, start)
            elif self.is_op("("):
                self.next()
                properties = self.properties(")")
                self.expect_op(")")
                call = {"callee": expr}
                if properties:
                    call["arguments"] = [self.node_between("ObjectExpression", properties, properties=properties)]
                expr = self.mark(self.node("CallExpression", start, **call), start)
            else:
                return expr

    def node_between(self, kind: str, children: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        """A node that spans its children (an ObjectExpression of call arguments)."""
        start, end = self.begin(children[0]), children[-1]["_end"]
        return self.mark({"type": kind, "location": self.location(start, end), **fields}, start)

    def properties(self, closing: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while not self.is_op(closing):
            tok = self.next()
            if tok.kind == "ident":
                key = self.mark(self.node("Identifier", tok.pos, name=tok.value), tok.pos)
            elif tok.kind == "string":
                key = self.mark(self.node("StringLiteral", tok.pos, value=tok.value), tok.pos)
            else:
                raise self.fail(tok, f"expected IDENT or STRING, got {self._shown(tok)}")
            value = None
            if self.is_op(":"):
                self.next()
                value = self.expression()
            prop = self.mark(self.node("Property", tok.pos, key=key, value=value), tok.pos)
            prop["_end"] = self.last.end
            out.append(prop)
            if not self.is_op(closing):
                self.expect_op(",")
        return out

    def primary(self):
        tok = self.peek()
        if tok.kind == "op" and tok.value == "(" and self._looks_like_function():
            return self.function()
        tok = self.next()
        start = tok.pos
        if tok.kind == "ident":
            return self.mark(self.node("Identifier", start, name=tok.value), start)
        if tok.kind == "int":
            return self.mark(self.node("IntegerLiteral", start, value=str(tok.value)), start)
        if tok.kind == "float":
            return self.mark(self.node("FloatLiteral", start, value=tok.value), start)
        if tok.kind == "string":
            return self.mark(self.node("StringLiteral", start, value=tok.value), start)
        if tok.kind == "regex":
            return self.mark(self.node("RegexpLiteral", start, value=tok.value.source), start)
        if tok.kind == "time":
            return self.mark(self.node("DateTimeLiteral", start, value=self.text[tok.pos:tok.end]), start)
        if tok.kind == "duration":
            values = [{"magnitude": int(n), "unit": u}
                      for n, u in _DURATION_PART.findall(self.text[tok.pos:tok.end])]
            return self.mark(self.node("DurationLiteral", start, values=values), start)
        if tok.kind == "op" and tok.value == "(":
            inner = self.expression()
            self.expect_op(")")
            return inner
        if tok.kind == "op" and tok.value == "[":
            elements = []
            while not self.is_op("]"):
                elements.append(self.expression())
                if not self.is_op("]"):
                    self.expect_op(",")
            self.expect_op("]")
            return self.mark(self.node("ArrayExpression", start, elements=elements), start)
        if tok.kind == "op" and tok.value == "{":
            fields: dict[str, Any] = {}
            if self.peek().kind == "ident" and self.peek(1).kind == "ident" \
                    and self.peek(1).value == "with":
                fields["with"] = self.identifier()
                self.next()
            fields["properties"] = self.properties("}")
            self.expect_op("}")
            return self.mark(self.node("ObjectExpression", start, **fields), start)
        raise self.fail(tok, f"unexpected token for expression: {self._shown(tok)}")

    def function(self):
        start = self.expect_op("(").pos
        params = []
        while not self.is_op(")"):
            key = self.identifier()
            value = None
            if self.is_op("="):
                self.next()
                if self.is_op("<-"):
                    pipe = self.next()
                    value = self.node("PipeLiteral", pipe.pos)
                else:
                    value = self.expression()
            params.append(self.node("Property", self.begin(key), key=key, value=value))
            if not self.is_op(")"):
                self.expect_op(",")
        self.expect_op(")")
        self.expect_op("=>")
        if self.is_op("{"):
            block_start = self.next().pos
            statements = []
            while not self.is_op("}"):
                if self.peek().kind == "eof":
                    raise self.fail(self.peek(), "expected RBRACE, got EOF")
                statements.append(self.statement())
            self.expect_op("}")
            body = self.node("Block", block_start, body=statements)
        else:
            body = self.expression()
        return self.mark(self.node("FunctionExpression", start, params=params, body=body), start)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        # private marks go; so do empty fields (a parameter without default has no `value`): oss.yml's
        # node schemas are not nullable
        return {k: _clean(v) for k, v in value.items() if not k.startswith("_") and v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def parse_to_ast(query: str) -> dict[str, Any]:
    """The ``Package`` node of ``query``; raises :class:`FluxError` (code ``invalid``) on a syntax error."""
    if not isinstance(query, str):
        raise FluxError("query must be a string")
    parser = _AstParser(query)
    return {"type": "Package", "package": "main", "files": [_clean(parser.file())]}
