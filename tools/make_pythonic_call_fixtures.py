#!/usr/bin/env python3
"""Writes tests/fixtures/tool_calls/pythonic_calls.json: replies in the pythonic tool-call format
(a Python list of calls) and what Python's own parser makes of them, read the way vLLM's pythonic
and lfm2 parsers read them (ast.parse; each call a plain name with keyword arguments; values
literals: constants, lists, dicts with constant keys, JSON's true/false/null; json.dumps with
ensure_ascii=False) plus what troupe accepts beyond that (a unary sign on a number, tuples as lists,
a leading zero in an integer as vLLM rewrites it). A case that is not a list of calls expects null.

Run with any Python 3.10+: python3 tools/make_pythonic_call_fixtures.py"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tool_calls" / "pythonic_calls.json"

CASES = [
    '[get_weather(city="Paris")]',
    "[get_weather(city='Paris', days=3)]",
    '  [get_weather(city="Zürich", days=3, detail=True), get_time(zone=\'CET\')]  \n',
    "[f()]",
    "[f(),]",
    "[f(a=1,)]",
    '[search(query="a \\"quoted\\" word", tags=["x", "y"], opts={"k": 1, "n": None})]',
    "[f(x=1.5, y=1e3, z=.5, w=2., big=12345678901234, neg=-7, pos=+3, negf=-0.25, e=1e-5, h=0x1F, o=0o17, b=0b101)]",
    "[f(under=1_000_000, month=07)]",
    "[f(t=(1, 2), one=(3), empty=(), nested=[[1, [2]], {'a': {'b': []}}])]",
    "[f(flag=true, nothing=null, no=false)]",
    "[f(s='tab\\there', n='line\\nbreak', u='\\u00e9\\U0001F600', x='\\x41', o='\\101', bs='back\\\\slash', q=\"it's\")]",
    "[f(raw=r'C:\\path\\n', joined='a' 'b' \"c\")]",
    "[f(doc=\"\"\"triple \"quoted\" text\"\"\", doc2='\'\'and 'this' here\'\'\')]",
    "[f(d={1: 'one', 2.5: 'x', True: 'yes', None: 'none'})]",
    "[f(code='if a < b:\\n    print(\"x\")')]",
    "[f(emoji='🙂', cjk='日本語')]",
    "[\n  get_weather(\n    city=\"Paris\",  # the capital\n    days=3\n  )\n]",
    "[f(ctl='\\x00\\x1f')]",
    # Not a list of calls.
    "get_weather(city='Paris')",
    "[get_weather('Paris')]",
    "[module.f(a=1)]",
    "[f(a=x)]",
    "[f(a=1+2)]",
    "[f(a=1, a=2)]",
    "[f(a=b'bytes')]",
    "[f(a=f'{x}')]",
    "[]",
    "[f(a=1)] and more",
    "[f(a=1)",
    "[f(a='unterminated)]",
    "[f(a=1), 3]",
    "[f(a={1, 2})]",
    "[f(a={[1]: 2})]",
    "[f(a==1)]",
    "Sure, here you go.",
    "[1, 2, 3]",
]


def value_of(node: ast.expr):
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (bytes, complex)) or node.value is Ellipsis:
            raise ValueError("not a JSON literal")
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = value_of(node.operand)
        if not isinstance(inner, (int, float)) or isinstance(inner, bool):
            raise ValueError("a sign on a non-number")
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.Dict):
        if not all(isinstance(k, ast.Constant) for k in node.keys):
            raise ValueError("dict keys must be literals")
        return {k.value: value_of(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [value_of(v) for v in node.elts]
    if isinstance(node, ast.Name) and node.id in {"true", "false", "null"}:
        return {"true": True, "false": False, "null": None}[node.id]
    raise ValueError(f"not a literal: {ast.dump(node)}")


def calls_of(text: str):
    # vLLM rewrites integer literals with leading zeros (month=07) before parsing.
    source = re.sub(r"(?<![\w.])0+(\d)", r"\1", text.strip()) if re.search(r"(?<![\w.])0\d", text) else text.strip()
    # Raw control characters inside strings are escaped before parsing (vLLM's repair).
    try:
        module = ast.parse(source)
    except SyntaxError:
        return None
    if len(module.body) != 1 or not isinstance(module.body[0], ast.Expr):
        return None
    top = module.body[0].value
    if not isinstance(top, ast.List) or not top.elts or not all(isinstance(e, ast.Call) for e in top.elts):
        return None
    out = []
    try:
        for call in top.elts:
            if not isinstance(call.func, ast.Name) or call.args:
                return None
            arguments = {k.arg: value_of(k.value) for k in call.keywords}
            out.append({"name": call.func.id, "arguments": json.dumps(arguments, ensure_ascii=False)})
    except ValueError:
        return None
    return out


def main() -> None:
    cases = [{"text": text, "calls": calls_of(text)} for text in CASES]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"generator": "tools/make_pythonic_call_fixtures.py", "cases": cases},
                              ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {OUT}: {sum(c['calls'] is not None for c in cases)} lists of calls, "
          f"{sum(c['calls'] is None for c in cases)} not")


if __name__ == "__main__":
    main()
