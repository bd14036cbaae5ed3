"""Reading a model's output as one JSON object, strictly, and naming what is wrong when it is not one.

The whole output, after surrounding whitespace, must be one JSON object. Decisions:

- A UTF-8 byte-order mark at the very start is dropped: some tokenizers and servers emit it as an
  encoding artefact; it is not something the model chose to write.
- Duplicate keys, NaN/Infinity, numbers that overflow a float and integers longer than MAX_INT_DIGITS
  are INVALID_JSON. RFC 8259 forbids the constants and leaves the rest undefined, a strict API rejects
  them, and Python's json would quietly accept them.
- Nesting deeper than MAX_DEPTH is never handed to the decoder, so no output reaches its recursion
  limit; a valid answer is two levels deep.

Failure kinds, in the order they are tried:

1. EMPTY: nothing but whitespace (or None).
2. NOT_OBJECT: valid JSON, but not an object.
3. PROSE: an object at the start followed by more text.
4. INVALID_JSON: a duplicate key, NaN/Infinity or an out-of-range number.
5. CODE_FENCE: a ``` fence around a valid object. A fence around anything else is classified by what
   is inside it (an unclosed fence around a cut-off object is TRUNCATED, not CODE_FENCE).
6. PROSE: text that does not start like JSON but holds a complete object, found among the first
   MAX_CANDIDATES opening braces.
7. TRUNCATED: starts with { or [ and stops inside a string or with brackets still open.
8. INVALID_JSON: everything else, with the decoder's reason.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from taskbench.scorers.render import show
from taskbench.scorers.types import Failure

BOM = "\ufeff"
MAX_DEPTH = 64
# Python refuses to convert integers past 4300 digits; an answer holds no numbers at all.
MAX_INT_DIGITS = 300
# Bounds the work on junk full of braces; a model that wraps its JSON in prose puts it early.
MAX_CANDIDATES = 16
_SNIPPET_LENGTH = 40

# A complete string (possessive, so an unterminated one costs linear time), a lone quote that opens a
# string never closed, or a bracket.
_TOKENS = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"|["\[\]{}]', re.DOTALL)
_FENCE_LANGUAGE = re.compile(r"[A-Za-z0-9_+.-]*")


@dataclass(frozen=True)
class Parsed:
    """The answer object when the output is one; otherwise None and the failure kind with its reason."""

    answer: dict[str, Any] | None
    failure: Failure
    explanation: str


def parse_answer(output: object) -> Parsed:
    """Classify a model's raw output; never raises."""
    if output is None:
        return Parsed(None, Failure.EMPTY, "the output is empty (no text at all)")
    if not isinstance(output, str):
        return Parsed(None, Failure.INVALID_JSON, f"the output is a {type(output).__name__}, not text")
    return _classify(output.removeprefix(BOM).strip(), fenced=False)


@dataclass(frozen=True)
class _Shape:
    """Bracket structure of a text, outside strings, as far as the first unterminated string."""

    max_depth: int
    open_brackets: int
    unterminated_string: bool
    mismatched: bool

    @property
    def cut_off(self) -> bool:
        return not self.mismatched and (self.unterminated_string or self.open_brackets > 0)


def _shape(text: str, start: int = 0, *, first_value: bool = False) -> _Shape:
    """The bracket structure from `start` to the end; with `first_value`, only as far as the decoder
    would read the value starting there, giving up once it is nested deeper than MAX_DEPTH."""
    stack: list[str] = []
    max_depth = 0
    mismatched = False
    for match in _TOKENS.finditer(text, start):
        token = match.group()
        if token == '"':
            return _Shape(max_depth, len(stack), unterminated_string=True, mismatched=mismatched)
        if token[0] == '"':
            if first_value and not stack:
                break
            continue
        if token in "[{":
            stack.append(token)
            max_depth = max(max_depth, len(stack))
            if first_value and max_depth > MAX_DEPTH:
                break
        elif stack and stack[-1] + token in ("[]", "{}"):
            stack.pop()
            if first_value and not stack:
                break
        else:
            mismatched = True
            if first_value:
                break
    return _Shape(max_depth, len(stack), unterminated_string=False, mismatched=mismatched)


class _Rejected(ValueError):
    """Something Python's json accepts but a strict JSON API does not."""


def _reject_constant(name: str) -> Any:
    raise _Rejected(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Rejected(f"the number {text[:_SNIPPET_LENGTH]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise _Rejected(f"an integer of {len(text)} digits is out of range")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _Rejected(f"the key {show(key, _SNIPPET_LENGTH)} appears twice, which a strict JSON API rejects")
        seen.add(key)
    return dict(pairs)


@dataclass(frozen=True)
class _Attempt:
    """One decoding attempt: the value and where it ended, or why it failed."""

    value: Any = None
    end: int = 0
    error: str | None = None
    rejected: bool = False  # failed on a construct Python accepts but strict JSON does not

    @property
    def ok(self) -> bool:
        return self.error is None


def _decode(text: str, start: int) -> _Attempt:
    """Decode one JSON value at `start`, refusing one nested deeper than MAX_DEPTH."""
    if _shape(text, start, first_value=True).max_depth > MAX_DEPTH:
        return _Attempt(error=f"it is nested more than {MAX_DEPTH} levels deep")
    decoder = json.JSONDecoder(
        object_pairs_hook=_unique_keys,
        parse_constant=_reject_constant,
        parse_float=_finite_float,
        parse_int=_bounded_int,
    )
    try:
        value, end = decoder.raw_decode(text, start)
    except _Rejected as exc:
        return _Attempt(error=str(exc), rejected=True)
    except json.JSONDecodeError as exc:
        return _Attempt(error=str(exc))
    return _Attempt(value=value, end=end)


def _classify(text: str, *, fenced: bool) -> Parsed:
    if not text:
        return Parsed(None, Failure.EMPTY, "the output is empty or only whitespace")
    whole = _decode(text, 0)
    if whole.ok and whole.end == len(text):
        return _as_answer(whole.value)
    if whole.ok and isinstance(whole.value, dict):
        return _prose("", text[whole.end :].strip())
    if whole.rejected:
        return Parsed(None, Failure.INVALID_JSON, f"the output is not strict JSON: {whole.error}")
    if not fenced and text.startswith("```"):
        return _classify_fenced(text)
    if text[0] not in "{[":
        found = _find_object(text)
        if found is not None:
            return found
    shape = _shape(text) if text[0] in "{[" and not whole.ok else None
    if shape is not None and shape.cut_off:
        where = "inside a string" if shape.unterminated_string else f"with {shape.open_brackets} bracket(s) still open"
        return Parsed(None, Failure.TRUNCATED, f"the output stops {where}, before its JSON ends")
    reason = whole.error or f"more text follows the JSON value at character {whole.end + 1}"
    return Parsed(
        None, Failure.INVALID_JSON, f"the output is not valid JSON ({reason}); it starts {show(text, _SNIPPET_LENGTH)}"
    )


def _classify_fenced(text: str) -> Parsed:
    body = text[3:]
    body = body[_FENCE_LANGUAGE.match(body).end() :]
    inner = _classify(body.removesuffix("```").strip(), fenced=True)
    if inner.answer is not None:
        return Parsed(None, Failure.CODE_FENCE, "the JSON object is wrapped in a ``` code fence")
    return Parsed(None, inner.failure, f"{inner.explanation} (inside a ``` code fence)")


def _find_object(text: str) -> Parsed | None:
    """PROSE if a complete JSON object starts at one of the first opening braces, else None."""
    start = text.find("{")
    for _ in range(MAX_CANDIDATES):
        if start < 0:
            return None
        attempt = _decode(text, start)
        if attempt.ok and isinstance(attempt.value, dict):
            return _prose(text[:start].strip(), text[attempt.end :].strip())
        start = text.find("{", start + 1)
    return None


def _as_answer(value: Any) -> Parsed:
    if isinstance(value, dict):
        return Parsed(value, Failure.NONE, "the output is one JSON object")
    return Parsed(None, Failure.NOT_OBJECT, f"the output is valid JSON but {_json_kind(value)}, not an object")


def _prose(before: str, after: str) -> Parsed:
    around = [
        f"{show(before, _SNIPPET_LENGTH)} before it" if before else "",
        f"{show(after, _SNIPPET_LENGTH)} after it" if after else "",
    ]
    return Parsed(None, Failure.PROSE, "the JSON object has text around it: " + " and ".join(filter(None, around)))


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
