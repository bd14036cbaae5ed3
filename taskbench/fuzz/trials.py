"""The values fuzzing passes around: a request with its ideal answer (Probe), and one check (Trial)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from taskbench.scorers.render import show

Property = Literal["valid", "metamorphic", "directed", "safety"]


@dataclass(frozen=True)
class Probe:
    """One request as a user types it, and the answer the contract asks for (None when the contract
    names no single right answer, e.g. for an impossible date). `protected` are substrings a
    meaning-preserving perturbation must leave alone: the title and the people, whose spelling is data.
    `accept` holds further right values per field, as a case's `accept` does."""

    input: str
    reference_date: str
    expected: dict[str, Any] | None
    protected: tuple[str, ...] = ()
    accept: dict[str, list[Any]] | None = None

    @property
    def key(self) -> tuple[str, str]:
        """What makes two probes one request to the model."""
        return (self.input, self.reference_date)


@dataclass(frozen=True)
class Trial:
    """One relational check between a base request and its variant.

    metamorphic: the variant means the same; its answer must agree with the base's on the action and
    every entity field except `ignore`. directed: the variant changes one part; the answers must differ
    in `field` only, with the variant's expected value there. safety: the variant's answer must take
    `required` (if set) and no action in `forbidden`. valid: no relation, only the contract.
    Every answer, base and variant, is also checked against the contract ("valid")."""

    family: str
    property: Property
    base: Probe
    variant: Probe
    field: str | None = None
    ignore: tuple[str, ...] = ()
    required: str | None = None
    forbidden: frozenset[str] = frozenset()

    def probes(self) -> tuple[Probe, ...]:
        return (self.base, self.variant)

    def describe(self) -> str:
        """The trial as a person reads it: both requests, their ideal answers and what relates them."""
        relation = {
            "metamorphic": "same answer" + (f" except {', '.join(self.ignore)}" if self.ignore else ""),
            "directed": f"only {self.field} changes",
            "safety": ", ".join(
                [f"must {self.required}"] * bool(self.required)
                + [f"must not {' or '.join(sorted(self.forbidden))}"] * bool(self.forbidden)
            ),
            "valid": "each answer satisfies the contract",
        }[self.property]
        return "\n".join(
            [
                f"{self.family} {self.property} trial ({relation}; today {self.variant.reference_date})",
                f"  base:    {_request(self.base)}",
                f"  variant: {_request(self.variant)}",
            ]
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints a failing example with this printer; a dataclass repr of nested probes is unreadable.
        first, *rest = self.describe().splitlines()
        printer.text(first)
        for line in rest:
            printer.break_()
            printer.text(line)


def _request(probe: Probe) -> str:
    expected = "no single right answer" if probe.expected is None else json.dumps(probe.expected, ensure_ascii=False)
    return f"{show(probe.input, 300)} -> {expected}"
