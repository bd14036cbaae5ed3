"""The values fuzzing passes around: a request with its ideal answer (Probe), and one check (Trial)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
