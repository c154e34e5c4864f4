"""`plan --explain`: what each step's code fingerprint covers, file by file, and why a module
is hashed whole (zenctl/fingerprint/code.py): the answer to "why did this step re-run?" and
"why did it not?"."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape


def render_code_explanation(console: Console, steps: list[tuple[str, list[str]]]) -> None:
    """`steps`: each step's address with its lines (`Reach.explain`), in the plan's order."""
    lines = ["", "[bold]What each step's code fingerprint covers:[/]"]
    for address, explained in steps:
        lines.append(f"  {escape(address)}")
        lines.extend(f"      code: {escape(line)}" for line in explained)
    console.print("\n".join(lines))
