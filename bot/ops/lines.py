"""One line of `python -m bot check`: ✓ or ✗, what was checked, what was found, a hint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    ok: bool
    label: str
    detail: str
    hint: str = ""

    def render(self) -> str:
        text = f"{'✓' if self.ok else '✗'} {self.label:<34} {self.detail}"
        return text if self.ok or not self.hint else f"{text}\n      → {self.hint}"
