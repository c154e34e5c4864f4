"""An edit inside one step block, applied to the last parsed configuration instead of
decoding every block again.

The config cache (`loader`) misses on any edit, and the cold path then decodes every step:
over half a second for 1,000 steps even with each block's tree cached. The common edit,
changing a value on a line of one step, leaves every other block's meaning untouched: a
step decodes from its own block, the project's locals and the installed components, and
only the checks between steps (references, loops, deployments' models) read the others.
So the last parse keeps what that needs (`EditBase`, beside the config cache), and when
exactly one step block's text changed, that block is parsed and decoded alone, the
pipeline's checks run again, and the rest of the last `Config` is reused (its ranges below
the block moved by the lines the edit added or removed). Anything else, and any
diagnostic, takes the full parse, which reports as it always has.
`tests/test_config_edits.py` checks the result against a full parse.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from zenctl.config.catalog import ComponentCatalog
from zenctl.config.model import Config, Pipeline, Step
from zenctl.config.values import Values
from zenctl.diagnostics import DiagnosticsError, Position, SourceRange


@dataclass(frozen=True)
class StepSpan:
    """Where a step block stands: from the start of its first line to the end of its
    `}` (which its line ends with), the offsets into the file's text."""

    file: str
    start: int
    brace_end: int
    line: int
    pipeline: str
    step: str


@dataclass(frozen=True)
class EditBase:
    """What the last full parse leaves for the next edit: its texts, where its steps stand,
    and the project's locals (a step's values may read them)."""

    salt: str  # what else the config depended on: zenctl, the project, the providers
    key: str  # the config cache entry this describes
    texts: list[tuple[Path, str]]
    spans: tuple[StepSpan, ...]
    values: Values


def step_span(file: str, text: str, block: Any, pipeline: str, step: str) -> StepSpan | None:
    """The span of a step block, or None when it shares a line with anything else (it is
    then never patched alone)."""
    meta = block._meta
    start = meta.start_pos - (meta.column - 1)
    line_end = text.find("\n", meta.end_pos)
    after = text[meta.end_pos : len(text) if line_end < 0 else line_end]
    if text[start : meta.start_pos].strip() or after.strip():
        return None
    return StepSpan(file, start, meta.end_pos, meta.line, pipeline, step)


def apply_edit(
    base: EditBase,
    config: Config,
    texts: list[tuple[Path, str]],
    catalog: ComponentCatalog,
    key: str,
) -> tuple[Config, EditBase] | None:
    """`config` with the one step whose block changed between `base.texts` and `texts`
    decoded again, and the base for the next edit; None when the edit is anything else or
    the result has a diagnostic (the caller parses everything, and reports)."""
    if [path for path, _ in texts] != [path for path, _ in base.texts]:
        return None
    changed = [
        (path, old, new)
        for (path, old), (_, new) in zip(base.texts, texts, strict=True)
        if old != new
    ]
    if len(changed) != 1:
        return None
    path, old, new = changed[0]
    prefix = _common_prefix(old, new)
    suffix = _common_suffix(old, new, limit=min(len(old), len(new)) - prefix)
    span = next(
        (
            span
            for span in base.spans
            # after the block's first character and before its `}`: what is around the
            # block, on its lines too, stays as it was
            if span.file == path.name
            and span.start <= prefix
            and len(old) - suffix < span.brace_end
            and _keyword(old, span) < prefix
        ),
        None,
    )
    pipeline = config.pipelines.get(span.pipeline) if span else None
    if span is None or pipeline is None or span.step not in pipeline.steps:
        return None
    shift = len(new) - len(old)
    values = base.values
    lines = new.count("\n") - old.count("\n")
    if lines:  # what stands below the block moved: the ranges recorded for it with it,
        # the locals too before the step is decoded, as it may read one (and its range)
        below = span.line + old.count("\n", span.start, span.brace_end)
        config, values = _moved_down((config, values), str(path), below, lines)
        pipeline = config.pipelines[pipeline.name]
    step = _decode_step(values, pipeline, path, new, span, shift, catalog)
    if step is None:
        return None
    steps = {name: step if name == span.step else kept for name, kept in pipeline.steps.items()}
    patched = replace(pipeline, steps=steps)
    if not _checks_pass(config, patched, values, catalog):
        return None
    spans = tuple(_span_moved(other, span, shift, lines) for other in base.spans)
    edited = replace(config, pipelines={**config.pipelines, patched.name: patched})
    return edited, EditBase(base.salt, key, list(texts), spans, values)


def _keyword(text: str, span: StepSpan) -> int:
    """The offset of the block's first character: the first after its line's indentation."""
    block = text[span.start : span.brace_end]
    return span.start + len(block) - len(block.lstrip(" \t"))


def _span_moved(span: StepSpan, edited: StepSpan, shift: int, lines: int) -> StepSpan:
    """Where `span` stands once the block of `edited` grew by `shift` characters and
    `lines` lines."""
    if span.file != edited.file or span.brace_end < edited.start:
        return span
    if span is edited:
        return replace(span, brace_end=span.brace_end + shift)
    return replace(
        span, start=span.start + shift, brace_end=span.brace_end + shift, line=span.line + lines
    )


_T = TypeVar("_T")


def _moved_down(objects: _T, filename: str, below: int, lines: int) -> _T:
    """A copy of `objects` with every source range of `filename` that starts after line
    `below` moved down `lines` lines (up, when negative): one pickling round trip, which
    rebuilds the frozen models with their ranges changed."""
    buffer = io.BytesIO()
    _RangeMover(buffer, filename, below, lines).dump(objects)
    moved: _T = pickle.loads(buffer.getvalue())
    return moved


class _RangeMover(pickle.Pickler):
    def __init__(self, file: io.BytesIO, filename: str, below: int, lines: int) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.filename, self.below, self.lines = filename, below, lines

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is not SourceRange or obj.filename != self.filename:
            return NotImplemented
        if obj.end.line <= self.below:
            return NotImplemented  # above the edit
        # what starts above and ends below (the pipeline around the block) keeps its start
        return SourceRange, (obj.filename, self._moved(obj.start), self._moved(obj.end))

    def _moved(self, position: Position) -> Position:
        if position.line <= self.below:
            return position
        return Position(position.line + self.lines, position.column)


def _decode_step(
    values: Values,
    pipeline: Pipeline,
    path: Path,
    text: str,
    span: StepSpan,
    shift: int,
    catalog: ComponentCatalog,
) -> Step | None:
    """The step of the edited block, decoded as the full parse would; None if the block is
    no longer that one step, or has an error."""
    from hcl2.query.blocks import BlockView

    from zenctl.config.chunks import BlockCache, parse_block
    from zenctl.config.decoding import Decoder, SourceFile
    from zenctl.config.lowering import hide_strip_markers
    from zenctl.config.pipelines import decode_step, pipeline_context

    cleaned, marks = hide_strip_markers(text)
    brace_end = span.brace_end + shift
    line_end = cleaned.find("\n", brace_end)
    end = len(cleaned) if line_end < 0 else line_end + 1
    try:  # one block, alone: never the cache of the file's blocks, which it would shrink
        block = parse_block(cleaned, span.start, end, span.line, BlockCache(None, ""))
    except Exception:  # lark raises many types; the full parse locates the error
        return None
    view = BlockView(block)
    if (
        block._meta.start_pos != _keyword(cleaned, span)
        or block._meta.end_pos != brace_end
        or view.block_type != "step"
        or view.labels[1:] != [span.step]
    ):
        return None
    decoder = Decoder(catalog)
    decoder.values = values
    step = decode_step(
        decoder, SourceFile(path, text, marks), view, span.step, pipeline_context(pipeline.name)
    )
    return None if decoder.diagnostics else step


def _checks_pass(
    config: Config, pipeline: Pipeline, values: Values, catalog: ComponentCatalog
) -> bool:
    """Whether the pipeline, one step changed, still passes the checks between its steps."""
    from zenctl.config.decoding import Decoder
    from zenctl.config.ordering import step_order
    from zenctl.config.pipelines import check_deployments, check_steps

    decoder = Decoder(catalog)
    decoder.values = values
    stack = None if pipeline.stack_var else config.stacks.get(pipeline.stack)
    check_steps(decoder, pipeline, stack, config.variables)
    check_deployments(decoder, pipeline)
    try:
        step_order(pipeline)
    except DiagnosticsError:
        return False
    return not decoder.diagnostics


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix, by halving (slice comparisons run in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: str, b: str, limit: int) -> int:
    """The length of the longest common suffix, at most `limit` (so that it never overlaps
    the common prefix)."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if a[len(a) - middle :] == b[len(b) - middle :]:
            low = middle
        else:
            high = middle - 1
    return low
