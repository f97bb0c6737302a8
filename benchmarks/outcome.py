"""What a scenario measured: figures, ratios to its same-run baseline, and correctness checks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    label: str
    value: float
    unit: str


@dataclass(frozen=True)
class Comparison:
    """skillvoucher's figure against the machine's baseline for the same work, in one run.

    ``label`` says which way ``ratio`` is taken; ``met`` is None when the goal does not apply
    at the size measured (a goal stated for 1 M people, say, in a quick run).
    """

    label: str
    measured: str
    baseline: str
    ratio: float
    goal: str
    met: bool | None


@dataclass(frozen=True)
class Check:
    label: str
    passed: bool
    detail: str


@dataclass
class Outcome:
    scenario: str
    title: str
    backend: str
    figures: list[Figure] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def correct(self) -> bool:
        """Every correctness check held (goals not met do not make a run incorrect)."""
        return all(check.passed for check in self.checks)
