"""Structured output through the official `openai` client: response_format json_schema (strict)
and json_object, vLLM's structured_outputs (json, regex, choice, grammar) and guided_* fields.

The central check: at temperature 1, every generation that ends on its own (finish_reason "stop")
is JSON that validates against its schema under Python's `jsonschema`, over 200+ generations of
several schemas. max_tokens cutting a document short is the one way output can be invalid, and then
finish_reason is "length", as in vLLM."""
from __future__ import annotations

import copy
import json
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import jsonschema
import openai
import pytest

from conftest import SERVED_NAME

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "hobbies": {"type": "array", "items": {"enum": ["chess", "music", "hiking", "cooking"]}, "maxItems": 2},
        "employed": {"type": "boolean"},
    },
    "required": ["name", "age", "employed"],
    "additionalProperties": False,
}

# The shape vLLM builds for tool_choice="required": an array of {name, parameters} objects.
TOOL_CALLS = {
    "type": "array",
    "minItems": 1,
    "maxItems": 1,
    "items": {
        "type": "object",
        "anyOf": [
            {"properties": {"name": {"type": "string", "enum": ["get_weather"]},
                            "parameters": {"type": "object", "properties": {
                                "city": {"type": "string", "maxLength": 12},
                                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                                "days": {"type": "integer", "minimum": 1, "maximum": 14}},
                                "required": ["city", "unit"]}},
             "required": ["name", "parameters"]},
            {"properties": {"name": {"type": "string", "enum": ["search"]},
                            "parameters": {"type": "object", "properties": {
                                "query": {"type": "string", "maxLength": 16},
                                "limit": {"type": ["integer", "null"]}},
                                "required": ["query"]}},
             "required": ["name", "parameters"]},
        ],
    },
}

# Pydantic-style: $defs, $ref, a nullable anyOf, bounded numbers, a date.
EVENT = {
    "$defs": {
        "Place": {"type": "object", "properties": {
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180}}, "required": ["lat", "lon"]},
    },
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 12},
        "date": {"type": "string", "format": "date"},
        "priority": {"enum": ["low", "medium", "high"]},
        "attendees": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z][a-z]{1,7}$"}, "minItems": 1, "maxItems": 2},
        "place": {"anyOf": [{"$ref": "#/$defs/Place"}, {"type": "null"}]},
        "score": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    },
    "required": ["title", "date", "priority", "attendees", "place"],
}

PROMPTS = {
    "person": "Describe a fictional person as a JSON object.",
    "tool_calls": "What is the weather in Paris? Answer with the tool calls to make, as JSON.",
    "event": "Invent a meeting and describe it as JSON.",
}
SCHEMAS = {"person": PERSON, "tool_calls": TOOL_CALLS, "event": EVENT}

# Fractional bounds, exclusive and not, and multipleOf (decimal, on numbers and integers).
MEASUREMENT = {
    "type": "object",
    "properties": {
        "temperature": {"type": "number", "minimum": -3.59, "exclusiveMaximum": 41.25},
        "ratio": {"type": "number", "exclusiveMinimum": 0.1, "maximum": 0.35},
        "price": {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.05},
        "steps": {"type": "integer", "minimum": -50, "maximum": 50, "multipleOf": 7},
        "angle": {"type": "number", "exclusiveMinimum": -1, "exclusiveMaximum": 1, "multipleOf": 0.25},
        "delta": {"type": "number", "exclusiveMaximum": -0.001},
    },
    "required": ["temperature", "ratio", "price", "steps", "angle", "delta"],
    "additionalProperties": False,
}


def without_multiple_of(schema):
    """The schema less its multipleOf keywords: what a float-based validator can check soundly."""
    if isinstance(schema, dict):
        return {k: without_multiple_of(v) for k, v in schema.items() if k != "multipleOf"}
    if isinstance(schema, list):
        return [without_multiple_of(v) for v in schema]
    return schema


def validate_exactly(text: str, schema: dict) -> None:
    """JSON Schema's numbers are decimals: validate with both sides parsed as Decimal (jsonschema
    then checks multipleOf with exact arithmetic; with floats 0.07 / 0.01 is not an integer), and
    the bounds once more as Python floats, the way most clients parse and validate."""
    exact_schema = json.loads(json.dumps(schema), parse_float=Decimal)
    jsonschema.validate(json.loads(text, parse_float=Decimal), exact_schema)
    jsonschema.validate(json.loads(text), without_multiple_of(schema))


def schema_format(name: str, schema: dict) -> dict:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def chat(client, content: str, **kw):
    return client.chat.completions.create(model=SERVED_NAME, messages=[{"role": "user", "content": content}], **kw)


def test_json_schema_outputs_validate_over_200_sampled_generations(server):
    # 3 schemas x 9 requests x n=8 = 216 generations at temperature 1, 9 requests in flight at once
    # (72 sequences); two thirds with vLLM's disable_any_whitespace, which keeps outputs short. The
    # schemas bound their strings and arrays so that documents end well within max_tokens.
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", max_retries=0, timeout=600)
    jobs = [(name, i) for name in SCHEMAS for i in range(9)]

    def run(job):
        name, i = job
        extra = {"structured_outputs": {"disable_any_whitespace": True}} if i % 3 else None
        r = chat(client, PROMPTS[name], temperature=1.0, max_tokens=120, n=8, seed=1000 + i,
                 response_format=schema_format(name, SCHEMAS[name]), extra_body=extra)
        return name, r

    with ThreadPoolExecutor(max_workers=9) as pool:
        results = list(pool.map(run, jobs))

    finished = 0
    cut = 0
    for name, r in results:
        assert len(r.choices) == 8
        for choice in r.choices:
            text = choice.message.content
            if choice.finish_reason == "length":
                cut += 1
                continue
            assert choice.finish_reason == "stop", choice
            value = json.loads(text)  # raises on invalid JSON
            try:
                jsonschema.validate(value, SCHEMAS[name])
            except jsonschema.ValidationError as e:
                pytest.fail(f"{name}: output does not validate: {e.message}\n{text}")
            finished += 1
    assert finished + cut == 216
    assert finished >= 200, f"only {finished} of 216 generations finished within max_tokens ({cut} cut)"


def test_fractional_bounds_and_multiple_of_validate(client):
    # 4 requests x n=8 at temperature 1: every finished document satisfies the bounds exactly (as
    # decimals and as floats) and the multiples exactly.
    finished = 0
    for seed in range(4):
        r = chat(client, "Report a measurement as JSON.", temperature=1.0, max_tokens=160, n=8, seed=70 + seed,
                 response_format=schema_format("measurement", MEASUREMENT),
                 extra_body={"structured_outputs": {"disable_any_whitespace": True}})
        for choice in r.choices:
            if choice.finish_reason == "length":
                continue
            assert choice.finish_reason == "stop", choice
            try:
                validate_exactly(choice.message.content, MEASUREMENT)
            except jsonschema.ValidationError as e:
                pytest.fail(f"output does not validate: {e.message}\n{choice.message.content}")
            finished += 1
    assert finished >= 24, f"only {finished} of 32 generations finished within max_tokens"


def test_json_object_gives_objects(client):
    r = chat(client, "Give me some data as JSON.", temperature=1.0, max_tokens=120, n=8, seed=5,
             response_format={"type": "json_object"})
    done = [c for c in r.choices if c.finish_reason == "stop"]
    assert done, "no json_object generation finished within 120 tokens"
    for c in done:
        assert isinstance(json.loads(c.message.content), dict)


def test_streaming_json_schema_deltas_join_into_a_valid_document(client):
    stream = chat(client, PROMPTS["person"], temperature=0.8, max_tokens=160, seed=3, stream=True,
                  response_format=schema_format("person", PERSON))
    text, reasons = "", []
    for chunk in stream:
        for c in chunk.choices:
            text += c.delta.content or ""
            if c.finish_reason:
                reasons.append(c.finish_reason)
    assert reasons == ["stop"]
    jsonschema.validate(json.loads(text), PERSON)


def test_completions_endpoint_takes_response_format_too(client):
    r = client.completions.create(model=SERVED_NAME, prompt="A person:", temperature=1.0, max_tokens=160, n=4, seed=9,
                                  extra_body={"response_format": schema_format("person", PERSON)})
    for c in r.choices:
        if c.finish_reason == "stop":
            jsonschema.validate(json.loads(c.text), PERSON)


def test_regex_choice_and_grammar_constraints(client):
    phone = r"\(\d{3}\) \d{3}-\d{4}"
    r = chat(client, "A phone number:", temperature=1.0, max_tokens=30, n=6, seed=11,
             extra_body={"structured_outputs": {"regex": phone}})
    for c in r.choices:
        assert c.finish_reason == "stop"
        assert re.fullmatch(phone, c.message.content), c.message.content
    r = client.completions.create(model=SERVED_NAME, prompt="Sentiment:", temperature=1.0, max_tokens=10, n=6, seed=2,
                                  extra_body={"guided_choice": ["positive", "negative", "neutral"]})
    assert {c.text for c in r.choices} <= {"positive", "negative", "neutral"}
    assert all(c.finish_reason == "stop" for c in r.choices)
    gbnf = 'root ::= "The answer is " num "."\nnum ::= [1-9] [0-9]{0,2}'
    r = chat(client, "How many?", temperature=1.0, max_tokens=20, n=4, seed=4,
             extra_body={"structured_outputs": {"grammar": gbnf}})
    for c in r.choices:
        assert re.fullmatch(r"The answer is [1-9][0-9]{0,2}\.", c.message.content), c.message.content
    r = chat(client, "Pick one", temperature=1.0, max_tokens=10, extra_body={"guided_regex": "(yes|no)!"})
    assert r.choices[0].message.content in ("yes!", "no!")


def test_max_tokens_cuts_a_document_short_with_finish_reason_length(client):
    r = chat(client, PROMPTS["person"], temperature=0, max_tokens=4, response_format=schema_format("person", PERSON))
    choice = r.choices[0]
    assert choice.finish_reason == "length"
    assert r.usage.completion_tokens == 4
    assert choice.message.content.startswith("{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(choice.message.content)


def test_unsupported_or_malformed_constraints_are_400(client):
    cases = [
        ({"response_format": schema_format("x", {"type": "array", "uniqueItems": True})}, "uniqueItems", "response_format"),
        ({"response_format": schema_format("x", {"type": "object", "patternProperties": {"^a": {}}})}, "patternProperties",
         "response_format"),
        ({"response_format": schema_format("x", {"$ref": "#/$defs/nope"})}, "does not resolve", "response_format"),
        ({"extra_body": {"structured_outputs": {"regex": "(a)\\1"}}}, "backreferences", "structured_outputs.regex"),
        ({"extra_body": {"structured_outputs": {"regex": "a", "choice": ["b"]}}}, "one kind", None),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "schema", "response_format"),
        ({"response_format": schema_format("x", {"type": "number", "multipleOf": 1234567.5})},
         "multipleOf 1234567.5 is not supported", "response_format"),
        ({"response_format": schema_format("x", {"type": "number", "minimum": 0.2, "maximum": 0.3, "multipleOf": 0.5})},
         "no number satisfies", "response_format"),
        ({"response_format": schema_format("x", {"type": "number", "multipleOf": 0})}, "greater than 0", "response_format"),
    ]
    for kw, words, param in cases:
        with pytest.raises(openai.BadRequestError) as info:
            chat(client, "x", max_tokens=5, **kw)
        err = info.value.body
        assert info.value.status_code == 400
        assert words in err["message"], err
        if param:
            assert err["param"] == param, err
