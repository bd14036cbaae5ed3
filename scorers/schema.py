"""Compiling a JSON schema once into a fast validator: a run checks tens of thousands of cases and answers.

Two steps, each giving exactly jsonschema's errors (messages and instance paths):

- Local `$ref`s are inlined once: jsonschema looks every `$ref` up in its registry on each validation, about
  half the time it takes to check a small answer.
- A plain-Python check, built from the schema's keywords, answers "valid" in a few microseconds; only what it
  does not pass goes to jsonschema, which then finds the errors (or none). The check is conservative: it
  passes an instance only when every keyword certainly holds, and a schema with a keyword it does not know
  (or cannot judge conservatively: oneOf, not, if) gets no check at all, so jsonschema decides everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError

# Keywords whose value is a schema, a list of schemas, or a map of names to schemas (draft 2020-12).
# Every other keyword's value is data (enum, const, required, ...) and is copied as it is.
_SCHEMA = frozenset(
    {
        "items",
        "contains",
        "additionalProperties",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "not",
        "if",
        "then",
        "else",
        "contentSchema",
    }
)
_SCHEMA_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_MAP = frozenset({"properties", "patternProperties", "dependentSchemas"})
_LOCAL = "#/$defs/"


def inline_refs(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` with every `{"$ref": "#/$defs/NAME"}` replaced by that definition, and `$defs` dropped.

    A `$ref` beside other keywords becomes an `allOf` with them, which is what draft 2020-12 means by it.
    Any other reference (remote, a JSON pointer elsewhere, recursive, dynamic) is a ValueError.
    """
    definitions = schema.get("$defs", {})

    def inline(node: Any, trail: frozenset[str]) -> Any:
        if not isinstance(node, Mapping):
            return node  # a boolean schema
        if "$dynamicRef" in node:
            raise ValueError("cannot inline a $dynamicRef")
        out: dict[str, Any] = {}
        for keyword, value in node.items():
            if keyword in ("$ref", "$defs"):
                continue
            if keyword in _SCHEMA:
                out[keyword] = inline(value, trail)
            elif keyword in _SCHEMA_LIST:
                out[keyword] = [inline(item, trail) for item in value]
            elif keyword in _SCHEMA_MAP:
                out[keyword] = {name: inline(item, trail) for name, item in value.items()}
            else:
                out[keyword] = value
        if "$ref" not in node:
            return out
        ref = node["$ref"]
        name = ref.removeprefix(_LOCAL)
        if not ref.startswith(_LOCAL) or name not in definitions:
            raise ValueError(f"cannot inline $ref {ref!r}: only {_LOCAL}NAME of the same schema is supported")
        if name in trail:
            raise ValueError(f"cannot inline the recursive $ref {ref!r}")
        target = inline(definitions[name], trail | {name})
        return {**out, "allOf": [*out.get("allOf", ()), target]} if out else target

    return inline(schema, frozenset())


Check = Callable[[Any], bool]

# What json.loads makes; an instance of any other type fails the check and goes to jsonschema.
_JSON_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
_NUMBERS = frozenset({int, float})
_TYPE_CHECKS: dict[str, Check] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "number": lambda v: type(v) in _NUMBERS,
    "integer": lambda v: type(v) is int or (type(v) is float and v.is_integer()),
}
# Keywords that never make an instance invalid.
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated"})


class SchemaValidator:
    """`iter_errors` and `is_valid` of jsonschema's Draft202012Validator, with the fast check in front."""

    def __init__(self, schema: Mapping[str, Any], format_checker: FormatChecker | None) -> None:
        inlined = inline_refs(schema)
        self.jsonschema = Draft202012Validator(inlined, format_checker=format_checker)
        self.check = _compile(inlined, format_checker)  # None: jsonschema decides every instance

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        if self.check is not None and self.check(instance):
            return iter(())
        return self.jsonschema.iter_errors(instance)

    def is_valid(self, instance: Any) -> bool:
        return (self.check is not None and self.check(instance)) or self.jsonschema.is_valid(instance)


def compile_schema(schema: Mapping[str, Any], *, check_formats: bool = False) -> SchemaValidator:
    """A validator for `schema`; build it once and keep it."""
    return SchemaValidator(schema, Draft202012Validator.FORMAT_CHECKER if check_formats else None)


def _compile(schema: Any, formats: FormatChecker | None) -> Check | None:
    """A check that returns True only for instances valid against `schema` (an inlined schema); None when
    the schema has a keyword this does not handle."""
    if schema is True:
        return lambda v: True
    if not isinstance(schema, Mapping):
        return None
    checks: list[Check] = []
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        check = _keyword(keyword, value, schema, formats)
        if check is None:
            return None
        checks.append(check)
    return checks[0] if len(checks) == 1 else _every(checks)


def _keyword(keyword: str, value: Any, schema: Mapping[str, Any], formats: FormatChecker | None) -> Check | None:
    """The check for one keyword; a keyword that ignores an instance's type passes every other JSON value."""
    if keyword == "type":
        kinds = [value] if isinstance(value, str) else value
        if not all(kind in _TYPE_CHECKS for kind in kinds):
            return None
        tests = [_TYPE_CHECKS[kind] for kind in kinds]
        return tests[0] if len(tests) == 1 else lambda v: any(test(v) for test in tests)
    if keyword in ("enum", "const"):
        allowed = value if keyword == "enum" else [value]
        # Only strings: jsonschema's equality (1 == 1.0, True != 1, nested values) is left to it.
        if not all(type(item) is str for item in allowed):
            return None
        strings = frozenset(allowed)
        return lambda v: type(v) is str and v in strings
    if keyword == "pattern":
        regex = re.compile(value)
        return _only(str, lambda v: regex.search(v) is not None)
    if keyword == "format":
        if formats is None:
            return lambda v: True  # an annotation unless a format checker is given
        return lambda v: formats.conforms(v, value)
    bound = _bound(keyword, value)
    if bound is not None:
        return bound
    if keyword in ("properties", "additionalProperties", "propertyNames", "items", "anyOf", "allOf"):
        return _subschemas(keyword, value, schema, formats)
    if keyword == "required":
        names = frozenset(value)
        return _only(dict, lambda v: v.keys() >= names)
    return None


def _bound(keyword: str, value: Any) -> Check | None:
    if keyword in ("minLength", "maxLength"):
        kind: type | frozenset[type] = str
    elif keyword in ("minItems", "maxItems"):
        kind = list
    elif keyword in ("minProperties", "maxProperties"):
        kind = dict
    elif keyword in ("minimum", "maximum"):
        kind = _NUMBERS
    else:
        return None
    if type(value) not in _NUMBERS:
        return None
    if keyword.startswith("min"):
        if kind is _NUMBERS:
            return _only(kind, lambda v: v >= value)
        return _only(kind, lambda v: len(v) >= value)
    if kind is _NUMBERS:
        return _only(kind, lambda v: v <= value)
    return _only(kind, lambda v: len(v) <= value)


def _subschemas(keyword: str, value: Any, schema: Mapping[str, Any], formats: FormatChecker | None) -> Check | None:
    if keyword in ("anyOf", "allOf"):
        branches = _compile_each(value, formats)
        if branches is None:
            return None
        return (lambda v: any(branch(v) for branch in branches)) if keyword == "anyOf" else _every(branches)
    if keyword == "properties":
        checks = _compile_each(value.values(), formats)
        if checks is None:
            return None
        pairs = tuple(zip(value, checks, strict=True))

        def properties(v: dict[str, Any]) -> bool:
            for name, check in pairs:  # noqa: SIM110 (a loop makes no generator per call on this hot path)
                if name in v and not check(v[name]):
                    return False
            return True

        return _only(dict, properties)
    if keyword == "additionalProperties":
        if "patternProperties" in schema:
            return None
        known = frozenset(schema.get("properties", ()))
        if value is False:
            return _only(dict, known.issuperset)
        extra = _compile(value, formats)
        if extra is None:
            return None
        return _only(dict, lambda v: all(extra(item) for name, item in v.items() if name not in known))
    if keyword == "propertyNames":
        names = _compile(value, formats)
        return None if names is None else _only(dict, lambda v: all(names(name) for name in v))
    if "prefixItems" in schema:  # items then covers only the elements after them
        return None
    each = _compile(value, formats)
    return None if each is None else _only(list, lambda v: all(each(item) for item in v))


def _compile_each(schemas: Iterable[Any], formats: FormatChecker | None) -> list[Check] | None:
    checks = []
    for schema in schemas:
        check = _compile(schema, formats)
        if check is None:
            return None
        checks.append(check)
    return checks


def _every(checks: list[Check]) -> Check:
    def every(v: Any) -> bool:
        for check in checks:  # noqa: SIM110 (a loop makes no generator per call on this hot path)
            if not check(v):
                return False
        return True

    return every


def _only(kind: type | frozenset[type], test: Check) -> Check:
    """`test` for instances of `kind`; any other JSON value passes (the keyword ignores it)."""
    kinds = kind if isinstance(kind, frozenset) else frozenset({kind})
    return lambda v: test(v) if type(v) in kinds else type(v) in _JSON_TYPES
