"""The plan as a pull-request comment: what a reviewer needs at a glance, the rest folded.

The summary, a removal banner and the steps per action stay outside any fold; the full plan,
laid out by `plan_lines` exactly as in the terminal, goes in a ```diff block inside
`<details>`. A hidden marker carries the plan hash, so a bot finds its own comment to update
and `apply --expect-plan-hash` can check that it applies what was reviewed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from zenctl import __version__
from zenctl.plan.model import Plan, StepPlan
from zenctl.plan.targeting import partial_plan_warnings
from zenctl.render.plan_text import PlanLine, expected_duration_line, plan_lines, why

COMMENT_LIMIT = 65_536  # GitHub's limit on a comment body, in characters
MARKER = "zenctl-plan"
MARKER_FORMAT_VERSION = "1.1"  # 1.1: basis
LISTED_WHEN_CUT = 20  # steps listed per action once a comment has to be cut
_RESERVE = 600  # room for the cut notes, whose numbers are known only after cutting
_MARKER_LINE = re.compile(f"<!-- {MARKER} (\\{{.*?\\}}) -->")


def render_markdown(
    plan: Plan,
    plan_hash: str,
    project: str,
    limit: int = COMMENT_LIMIT,
    basis: dict[str, Any] | None = None,
) -> str:
    """The comment body; past `limit` characters the lists and the diff's middle are cut.

    `project` (the project folder's name) is in the heading and the marker, so that a bot
    posting plans of several projects on one pull request updates the right comment. `basis`
    (`zenctl.plan.basis.for_marker`) goes in the marker too, for a refusal at apply to name
    what differs from the reviewed plan.
    """
    head = _Head(plan, plan_hash, project, basis)
    diff = [_diff_line(line) for line in plan_lines(plan)]
    comment = _comment(head, diff, listed=None, note="")
    if len(comment) <= limit:
        return comment
    frame = _comment(head, [], listed=LISTED_WHEN_CUT, note="")
    kept, cut = _keep_ends(diff, limit - len(frame) - _RESERVE)
    full = (
        f"the full plan keeps its first and last lines: {cut:,} of its {len(diff):,} lines are cut"
        if cut
        else "the full plan below is complete"
    )
    note = (
        f"> [!NOTE]\n> This plan is too long for one comment ({len(comment):,} characters; "
        f"GitHub allows {limit:,}). Each list shows its first {LISTED_WHEN_CUT} steps and "
        f"{full}. `zenctl plan` (or the CI log) shows the whole plan.\n\n"
    )
    return _comment(head, kept, listed=LISTED_WHEN_CUT, note=note)


def _diff_line(line: PlanLine) -> str:
    """The terminal line with its symbol moved to column 0, where GitHub's diff colouring
    looks (`+` green, `-` red); the rest keeps its relative indentation."""
    text = f"{line.symbol}{' ' * (line.indent - 1)}{line.subject}"
    if line.reason:
        text += f"  {line.reason}"
    if line.duration:
        text += f" {line.duration}"
    return text


@dataclass(frozen=True, slots=True)
class _Head:
    plan: Plan
    plan_hash: str
    project: str
    basis: dict[str, Any] | None


def _comment(head: _Head, diff: list[str], listed: int | None, note: str) -> str:
    plan = head.plan
    expected = expected_duration_line(plan)
    parts = [
        f"### zenctl plan for `{head.project}` · workspace `{plan.workspace}`\n\n",
        f"**{plan.summary_line}**\n" + (f"{expected}\n" if expected else "") + "\n",
    ]
    if plan.removed:
        one = len(plan.removed) == 1
        parts.append(
            f"> [!CAUTION]\n> **{len(plan.removed)} step{'' if one else 's'} will be removed.** "
            f"Apply records {'it' if one else 'them'} as removed: past runs and artifacts stay "
            "in the metadata store, but nothing keeps them up to date any more.\n\n"
        )
    for warning in partial_plan_warnings(plan.targets, plan.replace, plan.excludes):
        parts.append(f"> [!WARNING]\n> **{warning.summary}.** {warning.detail}\n\n")
    parts.append(note)
    must = [step for step in plan.to_run if not step.conditional]
    parts.append(_list("To run", must, listed, with_reason=True))
    may = [step for step in plan.to_run if step.conditional]
    parts.append(_list("May run, if upstream outputs change", may, listed))
    parts.append(_list("To remove", list(plan.removed), listed))
    if plan.cached:
        parts.append(
            f"<details><summary>Cached ({len(plan.cached)})</summary>\n\n"
            f"{_list('', plan.cached, listed)}</details>\n\n"
        )
    if diff:
        parts.append(
            f"<details><summary>Full plan</summary>\n\n{fenced(diff, 'diff')}\n</details>\n\n"
        )
    marker = json.dumps(
        {
            "format_version": MARKER_FORMAT_VERSION,
            "plan_hash": head.plan_hash,
            "project": head.project,
            "zenctl": __version__,
            **({"basis": head.basis} if head.basis is not None else {}),
        },
        sort_keys=True,
        ensure_ascii=False,
    ).replace("--", "-\\u002d")  # `-->` inside would end the HTML comment early
    parts.append(f"Plan hash `{head.plan_hash[:16]}`\n<!-- {MARKER} {marker} -->\n")
    return "".join(parts)


def fenced(lines: list[str], info: str = "") -> str:
    """A fenced code block, its fence longer than any run of backticks inside."""
    body = "\n".join(lines)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", body)), default=0))
    return f"{fence}{info}\n{body}\n{fence}\n"


def read_markers(text: str) -> list[Any]:
    """The JSON of every marker in `text` (a comment, or just its marker line); a marker
    that is not JSON is an empty object, which no reader accepts."""
    found = []
    for raw in _MARKER_LINE.findall(text):
        try:
            found.append(json.loads(raw))
        except ValueError:
            found.append({})
    return found


def _list(title: str, steps: list[StepPlan], listed: int | None, with_reason: bool = False) -> str:
    if not steps:
        return ""
    shown = steps if listed is None else steps[:listed]
    items = [
        f"- `{step.address}`"
        + (f": {why(step)}" if with_reason else "")
        + (f" (moved from `{step.moved_from}`)" if step.moved_from else "")
        for step in shown
    ]
    if len(shown) < len(steps):
        items.append(f"- … and {len(steps) - len(shown):,} more")
    heading = f"**{title} ({len(steps)})**\n" if title else ""
    return heading + "\n".join(items) + "\n\n"


def _keep_ends(lines: list[str], budget: int) -> tuple[list[str], int]:
    """The first and last lines that fit in `budget` characters, a line saying how many were
    cut in between, and that count."""
    head: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget // 2:
            break
        head.append(line)
        used += len(line) + 1
    tail: list[str] = []
    for line in reversed(lines[len(head) :]):
        if used + len(line) + 1 > budget:
            break
        tail.append(line)
        used += len(line) + 1
    cut = len(lines) - len(head) - len(tail)
    if not cut:
        return lines, 0
    return [*head, f"… {cut:,} lines cut here …", *reversed(tail)], cut
