"""The plan as a pull-request comment: what a reviewer needs at a glance, the rest folded.

The summary, a removal banner and the steps and resources per action stay outside any fold;
the full plan, laid out by `plan_lines` exactly as in the terminal, goes in a ```diff block
inside `<details>`. The plan hash is shown in full, and a hidden marker carries it too, so a bot
finds its own comment to update and `apply --expect-plan-hash` can check that it applies what
was reviewed.

GitHub refuses a comment over 65,536 characters, so a long plan is shortened one part at a
time (`_FORMS`) until it fits, and says what it left out. What apply will surely change (a step
to run or remove, a move, a resource) is never left out while any form can list it.

One module on purpose, over 400 lines: the comment's layout and its folding to fit GitHub's
limit are one algorithm over the same parts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from zenctl import __version__
from zenctl.plan.model import (
    Action,
    Plan,
    ResourceAction,
    ResourceChange,
    Stage,
    StageKind,
    StepPlan,
)
from zenctl.plan.planfile import MARKER
from zenctl.plan.targeting import partial_plan_warnings
from zenctl.render.plan_text import (
    Group,
    PlanLine,
    changing,
    describe_resource,
    expected_duration_line,
    is_change,
    plan_lines,
    summary_groups,
    summary_line,
    why,
)

COMMENT_LIMIT = 65_536  # GitHub's limit on a comment body, in characters
# GitHub documents no unit for its limit: `github_length` counts the strictest one, and a
# margin covers whatever a posting step adds.
COMMENT_BUDGET = COMMENT_LIMIT - 1_536
MARKER_FORMAT_VERSION = "1.1"  # 1.1: basis
_LEAST_DIFF = 2_000  # a cut diff with less room than this shows too little to be worth it


def github_length(text: str) -> int:
    """`text`'s length by the strictest count GitHub might apply: its UTF-8 bytes (never fewer
    than its code points or UTF-16 units), each line break twice, as if stored as CRLF."""
    return len(text.encode()) + text.count("\n")


@dataclass(frozen=True, slots=True)
class _Form:
    """How much of each part a comment shows."""

    cached: bool  # list the cached steps (else only count them)
    may_run: bool  # list the steps that run only if an upstream output changes
    # the full plan: all of it, the lines of what surely changes, their ends, or none
    diff: Literal["full", "changes", "cut", "none"]
    grouped: bool  # steps and resources grouped by reason, as `plan --summary`, not by action


# From everything to the least; the first that fits is posted. The cached list goes first,
# then the diff's lines that change nothing, the steps that may run, the diff's middle, the
# diff, each step's reason; the last form cuts the grouped list itself (`_cut_groups`).
_FORMS = (
    _Form(cached=True, may_run=True, diff="full", grouped=False),
    _Form(cached=False, may_run=True, diff="full", grouped=False),
    _Form(cached=False, may_run=True, diff="changes", grouped=False),
    _Form(cached=False, may_run=False, diff="changes", grouped=False),
    _Form(cached=False, may_run=False, diff="cut", grouped=False),
    _Form(cached=False, may_run=False, diff="none", grouped=False),
)
_SUMMARY_FORMS = (
    _Form(cached=False, may_run=True, diff="none", grouped=True),
    _Form(cached=False, may_run=False, diff="none", grouped=True),
)


def render_markdown(
    plan: Plan,
    plan_hash: str,
    project: str,
    summary: bool = False,
    basis: dict[str, Any] | None = None,
    metrics: str = "",
) -> str:
    """The comment body, at most `COMMENT_BUDGET` by `github_length`; `summary` starts from the
    grouped form of `plan --summary` instead of the full plan.

    `project` (the project folder's name) is in the heading and the marker, so that a bot
    posting plans of several projects on one pull request updates the right comment. `basis`
    (`zenctl.plan.basis.for_marker`) goes in the marker too, for a refusal at apply to name
    what differs from the reviewed plan. `metrics`: the section of the metrics of the
    executions the plan reuses (zenctl/render/metrics.py), in every form: it is short.
    """
    comment = _Comment(plan, plan_hash, project, basis, metrics)
    forms = _SUMMARY_FORMS if summary else (*_FORMS, *_SUMMARY_FORMS[1:])
    first = comment.render(forms[0])
    if github_length(first) <= COMMENT_BUDGET:
        return first
    for form in forms[1:]:
        if form.diff == "cut":
            text = comment.cut_diff(forms[0], form)
        else:
            text = comment.render(form, comment.note(forms[0], form))
        if text and github_length(text) <= COMMENT_BUDGET:
            return text
    return comment.cut_groups(forms[0], forms[-1])


class _Comment:
    """One plan's comment, laid out in any `_Form`."""

    def __init__(
        self,
        plan: Plan,
        plan_hash: str,
        project: str,
        basis: dict[str, Any] | None,
        metrics: str = "",
    ) -> None:
        self.plan = plan
        self.metrics = metrics
        self.plan_hash = plan_hash
        self.project = project
        self.basis = basis
        self.groups = summary_groups(plan)
        self.may_run = [step for step in plan.to_run if step.conditional]
        # whether the diff of what surely changes leaves out any line of the full one
        self.quieter = not all(map(is_change, plan.steps)) or any(
            change.action is ResourceAction.NOOP for change in plan.resources
        )

    def render(
        self,
        form: _Form,
        note: str = "",
        diff: list[str] | None = None,
        groups: list[tuple[Group, int | None]] | None = None,
        rest: str = "",
    ) -> str:
        """The comment in `form`; `diff` replaces the full plan, `groups` the grouped list
        (each group with how many of its members to list, None to only count them), which
        `rest` then ends."""
        plan = self.plan
        parts = [self._head(), note]
        if form.grouped:
            if groups is None:
                groups = [
                    (group, len(group.members) if form.may_run or not group.may_run else None)
                    for group in self.groups
                ]
            parts += [_group(group, shown) for group, shown in groups]
            parts.append(rest)
        else:
            after_steps = False
            for stage in plan.stages:
                parts += _stage_lists(stage, form, after_steps)
                after_steps = after_steps or stage.kind is StageKind.STEPS
        if plan.cached:
            parts.append(
                f"<details><summary>Cached ({len(plan.cached):,})</summary>\n\n"
                f"{_list('', plan.cached)}</details>\n\n"
                if form.cached
                else f"**Cached ({len(plan.cached):,})**: not listed here.\n\n"
            )
        if diff is None and form.diff in ("full", "changes"):
            diff = self.diff(form)
        if diff:
            parts.append(_details("Full plan", diff))
        parts.append(self.metrics)
        parts.append(self._foot())
        return "".join(parts)

    def diff(self, form: _Form) -> list[str]:
        return [_diff_line(line) for line in plan_lines(self.plan, form.diff != "full")]

    def cut_diff(self, first: _Form, form: _Form) -> str:
        """The comment with the diff of what changes, its first and last lines in the room
        the rest leaves; "" when that room is too small to show anything useful."""
        lines = self.diff(form)
        # the note counts every line as cut: its numbers are at least as long as the real ones
        frame = self.render(form, self.note(first, form, cut=(len(lines), len(lines))), [])
        room = COMMENT_BUDGET - github_length(
            frame + _details("Full plan", [_cut_line(len(lines))])
        )
        if room < _LEAST_DIFF:
            return ""
        kept, cut = _keep_ends(lines, room)
        if not cut or len(kept) == 1:  # all of it fits (then so did the form before), or none
            return ""
        return self.render(form, self.note(first, form, cut=(cut, len(lines))), kept)

    def cut_groups(self, first: _Form, form: _Form) -> str:
        """The grouped comment with what fits, the rest counted: the last resort, when even one
        line per change does not fit in one comment. The smallest groups are filled first (in
        plan order when as small), so that a few removals or resources are not crowded out by a
        thousand steps to run for one reason."""
        listable = [form.may_run or not group.may_run for group in self.groups]
        total = sum(len(g.members) for g, ok in zip(self.groups, listable, strict=True) if ok)
        # The frame as if nothing were listed: its numbers are at least as long as the real
        # ones; each group adds at most its heading, its listed members and a `… more` line.
        frame = self.render(form, self.note(first, form, total), [], [], _rest(self.groups))
        room = COMMENT_BUDGET - github_length(frame)
        shown: dict[int, int | None] = {}
        for index in sorted(
            range(len(self.groups)),
            key=lambda i: (listable[i], len(self.groups[i].members)),  # counted ones first
        ):
            group = self.groups[index]
            heading = github_length(_group(group, 0 if listable[index] else None))
            if heading > room:
                continue
            room -= heading
            if not listable[index]:
                shown[index] = None
                continue
            count = 0
            for member in group.members:
                cost = github_length(_member(member))
                if cost > room:
                    break
                room -= cost
                count += 1
            if count == len(group.members):
                room += github_length(_more(count))  # listed whole: no `… more` line
            shown[index] = count
        headed = [(group, shown[i]) for i, group in enumerate(self.groups) if i in shown]
        rest = _rest([group for i, group in enumerate(self.groups) if i not in shown])
        unlisted = total - sum(count or 0 for count in shown.values())
        return self.render(form, self.note(first, form, unlisted), [], headed, rest)

    def note(
        self,
        first: _Form,
        form: _Form,
        unlisted: int = 0,
        cut: tuple[int, int] | None = None,
    ) -> str:
        """What `form` leaves out that `first` showed, and where to find it."""
        plan = self.plan
        left_out = []
        if first.cached and not form.cached and plan.cached:
            left_out.append("the cached steps are counted, not listed")
        if first.may_run and not form.may_run and self.may_run:
            left_out.append("the steps that may run are counted, not listed")
        if form.diff != first.diff and form.diff in ("changes", "cut"):
            shown = []
            if self.quieter:
                shown.append("the full plan shows only the steps and resources that surely change")
            if cut is not None:
                shown.append(
                    f"{cut[0]:,} of the full plan's {cut[1]:,} lines are cut in the middle"
                )
            left_out += shown
        if form.diff != first.diff and form.diff == "none" and not form.grouped:
            left_out.append("the full plan is left out")
        if form.grouped and not first.grouped:
            left_out.append(
                "the steps and resources that change are grouped by reason, as by "
                "`zenctl plan --summary`, without their diffs"
            )
        note = ""
        if left_out:
            note = (
                f"> [!NOTE]\n> This plan is too long for one comment (GitHub allows "
                f"{COMMENT_LIMIT:,} characters), so {'; '.join(left_out)}. "
                f"{_WHOLE_PLAN}\n\n"
            )
        if unlisted:
            note += (
                f"> [!WARNING]\n> **{unlisted:,} of the changes are not listed**: even one line "
                f"each does not fit in one comment. {_WHOLE_PLAN}\n\n"
            )
        return note

    def _head(self) -> str:
        plan = self.plan
        expected = expected_duration_line(plan)
        parts = [
            f"### zenctl plan for `{self.project}` · workspace `{plan.workspace}`\n\n",
            f"**{summary_line(plan)}**\n" + (f"{expected}\n" if expected else "") + "\n",
        ]
        if plan.removed:
            one = len(plan.removed) == 1
            parts.append(
                f"> [!CAUTION]\n> **{len(plan.removed)} step{'' if one else 's'} will be "
                f"removed.** Apply records {'it' if one else 'them'} as removed: past runs and "
                "artifacts stay in the metadata store, but nothing keeps them up to date any "
                "more.\n\n"
            )
        for warning in partial_plan_warnings(plan.targets, plan.replace, plan.excludes):
            parts.append(f"> [!WARNING]\n> **{warning.summary}.** {warning.detail}\n\n")
        return "".join(parts)

    def _foot(self) -> str:
        marker = json.dumps(
            {
                "format_version": MARKER_FORMAT_VERSION,
                "plan_hash": self.plan_hash,
                "project": self.project,
                "zenctl": __version__,
                **({"basis": self.basis} if self.basis is not None else {}),
            },
            sort_keys=True,
            ensure_ascii=False,
        ).replace("--", "-\\u002d")  # `-->` inside would end the HTML comment early
        return f"Plan hash `{self.plan_hash}`\n<!-- {MARKER} {marker} -->\n"


_WHOLE_PLAN = "The CI job's log has the whole plan (`zenctl show` of the plan saved by `--out`)."


def _diff_line(line: PlanLine) -> str:
    """The terminal line with its symbol moved to column 0, where GitHub's diff colouring
    looks (`+` green, `-` red); the rest keeps its relative indentation."""
    text = f"{line.symbol}{' ' * (line.indent - 1)}{line.subject}"
    if line.reason:
        text += f"  {line.reason}"
    if line.duration:
        text += f" {line.duration}"
    return text


def _details(title: str, lines: list[str]) -> str:
    return f"<details><summary>{title}</summary>\n\n{fenced(lines, 'diff')}\n</details>\n\n"


def fenced(lines: list[str], info: str = "") -> str:
    """A fenced code block, its fence longer than any run of backticks inside."""
    body = "\n".join(lines)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", body)), default=0))
    return f"{fence}{info}\n{body}\n{fence}\n"


def _stage_lists(stage: Stage, form: _Form, after_steps: bool) -> list[str]:
    """What a stage changes, listed by action."""
    if stage.kind is StageKind.STEPS:
        to_run = [step for step in stage.steps if step.action is Action.RUN]
        must = [step for step in to_run if not step.conditional]
        may = [step for step in to_run if step.conditional]
        return [
            _list("To run", must, with_reason=True),
            _list("May run, if upstream outputs change", may, form.may_run),
        ]
    if stage.kind is StageKind.REMOVALS:
        return [_list("To remove", list(stage.steps))]
    title = "Resources to change" if after_steps else "Resources to change before the steps"
    return [_resources(title, changing(stage).resources)]


def _list(title: str, steps: list[StepPlan], listed: bool = True, with_reason: bool = False) -> str:
    if not steps:
        return ""
    heading = f"**{title} ({len(steps):,})**" if title else ""
    if not listed:
        return f"{heading}: not listed here.\n\n"
    items = [
        f"- `{step.address}`"
        + (f": {why(step)}" if with_reason else "")
        + (f" (moved from `{step.moved_from}`)" if step.moved_from else "")
        for step in steps
    ]
    return (f"{heading}\n" if heading else "") + "\n".join(items) + "\n\n"


def _resources(title: str, changes: tuple[ResourceChange, ...]) -> str:
    if not changes:
        return ""
    items = [f"- `{change.address}`: {describe_resource(change)}" for change in changes]
    return f"**{title} ({len(changes):,})**\n" + "\n".join(items) + "\n\n"


def _member(member: tuple[str, str | None]) -> str:
    address, moved_from = member
    return f"- `{address}`" + (f" (moved from `{moved_from}`)" if moved_from else "") + "\n"


def _more(count: int) -> str:
    return f"- … and {count:,} more\n"


def _rest(groups: list[Group]) -> str:
    """The line that ends a grouped list cut before `groups`."""
    if not groups:
        return ""
    count = sum(len(group.members) for group in groups)
    return f"**… and {count:,} more, for {len(groups):,} other reasons**\n\n"


def _group(group: Group, shown: int | None) -> str:
    """A group of the grouped form: its reason and count, then its first `shown` members and
    how many more (None: the group is only counted, as the steps that may run can be)."""
    # a file name's `__init__` or `*` must not turn into emphasis
    reason = re.sub(r"([\\`*_\[\]<>~|])", r"\\\1", group.reason)
    heading = f"**{reason} ({len(group.members):,})**"
    if shown is None:
        return f"{heading}: not listed here.\n\n"
    items = "".join(_member(member) for member in group.members[:shown])
    rest = len(group.members) - shown
    return f"{heading}\n{items}{_more(rest) if rest else ''}\n"


def _keep_ends(lines: list[str], budget: int) -> tuple[list[str], int]:
    """The first and last lines that fit in `budget` (by `github_length`), a line saying how
    many were cut in between, and that count."""
    head: list[str] = []
    used = 0
    for line in lines:
        if used + github_length(line + "\n") > budget // 2:
            break
        head.append(line)
        used += github_length(line + "\n")
    tail: list[str] = []
    for line in reversed(lines[len(head) :]):
        if used + github_length(line + "\n") > budget:
            break
        tail.append(line)
        used += github_length(line + "\n")
    cut = len(lines) - len(head) - len(tail)
    if not cut:
        return lines, 0
    return [*head, _cut_line(cut), *reversed(tail)], cut


def _cut_line(count: int) -> str:
    return f"… {count:,} lines cut here …"
