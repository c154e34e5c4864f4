"""Checks of HCL values that python-hcl2 lets through.

python-hcl2 keeps the last of duplicate object keys (`{a = 1, a = 2}` is `{a = 2}`, where
Terraform refuses it) and reads `1e400` as infinity. This reads its syntax tree to say where.
"""

from __future__ import annotations

from typing import Any

from zenctl.config.syntax import node_range
from zenctl.config.types import number_problem
from zenctl.diagnostics import Diagnostic


def value_problems(filename: str, node: Any) -> list[Diagnostic]:
    """Duplicate keys and unrepresentable numbers in an attribute's parse tree."""
    from hcl2.rules.containers import ObjectElemKeyRule, ObjectRule
    from hcl2.rules.literal_rules import FloatLitRule, IntLitRule

    from zenctl.config.values import unquote

    # The exact classes, compared by identity: python-hcl2's rules are ABCs, whose isinstance
    # made this walk a tenth of a cold 1,000-step plan; none of these has a subclass.
    numbers = (FloatLitRule, IntLitRule)
    problems: list[Diagnostic] = []
    pending = [node]
    while pending:
        current = pending.pop()
        kind = type(current)
        if kind is ObjectRule:
            seen: dict[str, int] = {}
            for element in current.elements:
                if type(element.key) is not ObjectElemKeyRule:
                    continue  # an expression key, `(var.x) = 1`: its value is not known here
                key = unquote(str(element.key.serialize()))
                where = node_range(filename, element)
                if key in seen:
                    problems.append(
                        Diagnostic(
                            "error",
                            "Duplicate object key",
                            f'The key "{key}" was already set on line {seen[key]}; an object '
                            "takes each key once. Remove one of them.",
                            where,
                        )
                    )
                seen.setdefault(key, where.start.line)
        elif kind in numbers:
            text = str(current.token.value)
            problem = number_problem(text)
            if problem is not None:
                problems.append(
                    Diagnostic(
                        "error",
                        "Number out of range",
                        f"This number is {problem}.",
                        node_range(filename, current),
                    )
                )
        pending.extend(reversed(getattr(current, "children", None) or []))
    return problems
