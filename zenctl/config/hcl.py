"""Parse and validate `*.zc.hcl` files: the cold path, run only when the config cache misses.

Every problem becomes a `Diagnostic` with its source range; the whole set is raised at the
end so that one run shows all of them. This module reads the files and puts the stage's
parts in order; the parts are:

- `decoding`: a block's arguments as values, its label, what it may not hold;
- `schemas`: the blocks' pydantic schemas, and the wording of what does not fit them;
- `blocks`, `pipelines`: each kind of block decoded into its model;
- `references`, `ordering`: the references between declarations, resolved and checked;
- `components`: what the configuration asks of the installed providers, through the
  `catalog.ComponentCatalog` the caller hands in (config never imports the providers).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from zenctl.config import blocks
from zenctl.config.catalog import ComponentCatalog
from zenctl.config.chunks import BlockCache
from zenctl.config.components import DEFAULT_STACK, default_stack
from zenctl.config.decoding import Decoder, SourceFile
from zenctl.config.edits import StepSpan, step_span
from zenctl.config.lowering import parse_document
from zenctl.config.model import Config, Moved, Pipeline, ProviderRequirement, Stack, Variable
from zenctl.config.ordering import step_order
from zenctl.config.pipelines import pipeline as decode_pipeline
from zenctl.config.references import check_locals, check_moved, check_validations
from zenctl.config.syntax import syntax_diagnostic
from zenctl.config.values import Values
from zenctl.diagnostics import DiagnosticsError

_TOP_LEVEL = ("variable", "locals", "stack", "pipeline", "zenctl", "moved")


class ConfigParser:
    """Builds a `Config` from file contents, collecting diagnostics instead of stopping."""

    def __init__(
        self, root: Path, catalog: ComponentCatalog, blocks: BlockCache | None = None
    ) -> None:
        self.root = root
        self.catalog = catalog
        self.blocks = blocks  # the parsed blocks kept between runs, if any
        # Set by a parse without errors, for the next edit (`edits.EditBase`): where each
        # step block stands, and the project's locals.
        self.spans: tuple[StepSpan, ...] = ()
        self.values: Values | None = None

    def parse(self, contents: Iterable[tuple[Path, str]]) -> Config:
        decoder = Decoder(self.catalog)
        variables: dict[str, Variable] = {}
        stacks: dict[str, Stack] = {}
        required: dict[str, ProviderRequirement] = {}
        pipeline_blocks: list[tuple[SourceFile, Any]] = []
        moved: list[Moved] = []
        files: list[str] = []
        documents: list[tuple[SourceFile, Any]] = []
        texts: dict[str, str] = {}
        for path, text in contents:
            files.append(path.name)
            try:
                document, marks = parse_document(text, self.blocks)
            except Exception as exc:  # lark raises many types; all carry line/column
                decoder.diagnostics.append(syntax_diagnostic(str(path), exc, text))
                continue
            documents.append((SourceFile(path, text, marks), document))
            texts[path.name] = text
        locals_ = blocks.locals_of(decoder, documents)
        decoder.values = Values(str(self.root), locals_, decoder.broken_locals)
        for source, document in documents:
            decoder.no_arguments(
                source,
                document,
                'An argument named "{name}" is not expected at the top level; declare values '
                "with a variable block, or a local in a locals block.",
            )
            for block in document.blocks():
                kind = block.block_type
                if kind == "variable":
                    decoder.add_unique(
                        variables, blocks.variable(decoder, source, block), "variable"
                    )
                elif kind == "stack":
                    stack = blocks.stack(decoder, source, block)
                    if stack is None and len(block.name_labels) == 1:
                        decoder.invalid.add(("stack", str(block.name_labels[0]), ""))
                    decoder.add_unique(stacks, stack, "stack")
                elif kind == "pipeline":
                    pipeline_blocks.append((source, block))
                elif kind == "zenctl":
                    blocks.required_providers(decoder, source, block, required)
                elif kind == "moved":
                    moved.extend(blocks.moved(decoder, source, block))
                elif kind != "locals":
                    decoder.unsupported_block(source, block, _TOP_LEVEL)
        check_locals(decoder, variables)
        check_validations(decoder, variables)
        if not stacks:
            stacks[DEFAULT_STACK] = default_stack(self.catalog)
        pipelines: dict[str, Pipeline] = {}
        for source, block in pipeline_blocks:
            pipeline = decode_pipeline(decoder, source, block, stacks, variables)
            decoder.add_unique(pipelines, pipeline, "pipeline")
        check_moved(decoder, moved, pipelines)
        decoder.diagnostics.extend(self.catalog.check_required(required.values()))
        for pipeline in pipelines.values():
            try:
                step_order(pipeline)  # a loop is reported with the other errors
            except DiagnosticsError as exc:
                decoder.diagnostics += exc.diagnostics
        if decoder.diagnostics:
            raise DiagnosticsError(list(dict.fromkeys(decoder.diagnostics)))
        self.values = decoder.values
        self.spans = tuple(_step_spans(pipeline_blocks, texts))
        return Config(
            str(self.root), variables, stacks, pipelines, tuple(files), required, tuple(moved)
        )


def _step_spans(
    pipeline_blocks: list[tuple[SourceFile, Any]], texts: dict[str, str]
) -> Iterator[StepSpan]:
    for source, block in pipeline_blocks:
        name = Path(source.filename).name
        for child in block.blocks("step"):
            span = step_span(name, texts[name], child.raw, block.labels[1], child.labels[1])
            if span is not None:
                yield span
