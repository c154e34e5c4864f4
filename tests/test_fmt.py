"""`zenctl fmt`'s formatter: canonical style in the manner of `terraform fmt`, comments kept."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from zenctl.config.tokens import Kind, tokenize
from zenctl.fmt import FormatError, FormatResult, format_paths, format_source

REPO = Path(__file__).resolve().parents[1]


def hcl(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


CANONICAL = hcl(
    """
    # The iris pipeline, as `zenctl fmt` writes it.

    variable "test_size" {
      type        = number # string | number | bool | list(T) | map(T) | any
      default     = 0.2    # no default: the variable is required
      description = "Fraction of rows held out for evaluation"
    }

    stack "local" {
      orchestrator "local" {}
      artifact_store "local" { path = ".zenctl/artifacts" }
      metadata_store "sqlite" { path = ".zenctl/metadata.db" }
      // optional: processing "…" {}, training "…" {}
    }

    pipeline "iris" {
      stack = stack.local

      source "raw" {
        path = "data/iris.csv" # hashed and snapshotted
      }

      /* The split feeds both the training
         and the evaluation step. */
      step "split" {
        run     = "steps.data:split"
        inputs  = { frame = step.load.outputs.output }
        params  = { test_size = var.test_size, seed = 42, tag = "run-${var.seed}" }
        outputs = ["train", "test"]
      }

      step "train" {
        run    = "steps.model:train"
        inputs = { train = step.split.outputs.train }
        params = {
          C        = 1.0
          max_iter = 200
          grid     = [0.1, 1, 10]
        }
        on = "training"
      }
    }
    """
)

# name -> (input, expected output)
CASES: dict[str, tuple[str, str]] = {
    "aligns a run of attributes": (
        hcl(
            """
            variable "seed" {
            type = number
              default=42
                description =    "Random seed of the split"
            }
            """
        ),
        hcl(
            """
            variable "seed" {
              type        = number
              default     = 42
              description = "Random seed of the split"
            }
            """
        ),
    ),
    "a blank line ends a run": (
        hcl(
            """
            step "load" {
              run = "steps.data:load"

              inputs = { raw = source.raw }
              on = "processing"
            }
            """
        ),
        hcl(
            """
            step "load" {
              run = "steps.data:load"

              inputs = { raw = source.raw }
              on     = "processing"
            }
            """
        ),
    ),
    "a comment line ends a run": (
        hcl(
            """
            step "load" {
              run = "steps.data:load"
              # where the data comes from
              inputs = { raw = source.raw }
            }
            """
        ),
        hcl(
            """
            step "load" {
              run = "steps.data:load"
              # where the data comes from
              inputs = { raw = source.raw }
            }
            """
        ),
    ),
    "a block ends a run": (
        hcl(
            """
            stack "gpu" {
              orchestrator "local" {}
              artifact_store "local" { path = "/mnt/artifacts" }
            }
            step "fit" {
              run = "steps:fit"
              resources "gpu" { count = 1 }
              outputs = ["model"]
              retry {
                attempts = 3
              }
              on = "training"
            }
            """
        ),
        hcl(
            """
            stack "gpu" {
              orchestrator "local" {}
              artifact_store "local" { path = "/mnt/artifacts" }
            }

            step "fit" {
              run = "steps:fit"
              resources "gpu" { count = 1 }
              outputs = ["model"]

              retry {
                attempts = 3
              }

              on = "training"
            }
            """
        ),
    ),
    "a multi-line value ends a run and aligns its own entries": (
        hcl(
            """
            step "split" {
              run = "steps.data:split"
              params = {
              test_size = var.test_size
              seed = 42
              }
              outputs = ["train", "test"]
              on = "processing"
            }
            """
        ),
        hcl(
            """
            step "split" {
              run = "steps.data:split"
              params = {
                test_size = var.test_size
                seed      = 42
              }
              outputs = ["train", "test"]
              on      = "processing"
            }
            """
        ),
    ),
    "a heredoc attribute stays in its run, as in Terraform": (
        hcl(
            """
            step "report" {
              run = "steps:report"
              params = { template = <<EOT
            x = 1
            EOT
              }
              on = "processing"
              header = <<-EOT
                Accuracy = ${var.metric}
                EOT
              verbose = true
            }
            """
        ),
        hcl(
            """
            step "report" {
              run = "steps:report"
              params = { template = <<EOT
            x = 1
            EOT
              }
              on      = "processing"
              header  = <<-EOT
                Accuracy = ${var.metric}
                EOT
              verbose = true
            }
            """
        ),
    ),
    "indents nested blocks": (
        hcl(
            """
            pipeline "iris" {
            source "raw" {
            path = "data/iris.csv"
            }

                    step "load" {
                  run = "steps.data:load"
                        }
            }
            """
        ),
        hcl(
            """
            pipeline "iris" {
              source "raw" {
                path = "data/iris.csv"
              }

              step "load" {
                run = "steps.data:load"
              }
            }
            """
        ),
    ),
    "indents multi-line maps and lists": (
        hcl(
            """
            step "train" {
            run = "steps.model:train"
            params = {
            grid = [
            0.1,
                  1,
            10,
            ]
            layers = [{
            units = 64
            }, {
            units = 10
            }]
            nested = { a = { b = [1, 2] } }
            calls = concat(
            [1],
            [2])
            }
            }
            """
        ),
        hcl(
            """
            step "train" {
              run = "steps.model:train"
              params = {
                grid = [
                  0.1,
                  1,
                  10,
                ]
                layers = [{
                  units = 64
                }, {
                  units = 10
                }]
                nested = { a = { b = [1, 2] } }
                calls = concat(
                  [1],
                  [2])
              }
            }
            """
        ),
    ),
    "keeps comments in place": (
        hcl(
            """
            # Full-line comment at the top.
            // Another style of full-line comment.
            variable "C" { # about C
               type = number    // inverse regularization
               /* a block comment
                     keeps its inner lines exactly */
                 default = 1.0 /* trailing block comment */
            # a comment at the end of a body
            }
            """
        ),
        hcl(
            """
            # Full-line comment at the top.
            // Another style of full-line comment.
            variable "C" {  # about C
              type = number // inverse regularization
              /* a block comment
                     keeps its inner lines exactly */
              default = 1.0 /* trailing block comment */
              # a comment at the end of a body
            }
            """
        ),
    ),
    "aligns the end-of-line comments of consecutive lines": (
        hcl(
            """
            step "train" {
              run = "steps.model:train" # module:function
              on = "training" # optional
              params = { C = 1.0 } # any HCL value

              outputs = ["model"] # after a blank line: a new run
            }
            """
        ),
        hcl(
            """
            step "train" {
              run    = "steps.model:train" # module:function
              on     = "training"          # optional
              params = { C = 1.0 }         # any HCL value

              outputs = ["model"] # after a blank line: a new run
            }
            """
        ),
    ),
    "never alters strings, heredocs or interpolations": (
        hcl(
            """
            step "echo" {
            run="steps:echo"
            params={
            message = "a = b  { # not a comment // nor this }"
            escaped = "say \\"x = { y }\\" ${"nested = ${var.x}"}"
            template = "run-${  var.name  }-%{ if var.on }on%{ endif }-$${literal}"
            object = "${ {a=1} }"
            script = <<-EOT
                  echo "x = {"   # kept, trailing spaces too\x20\x20
                //  ${ var.x } {
                EOT
            raw = <<EOT
            }  = # {
            EOT
            }
            }
            """
        ),
        hcl(
            """
            step "echo" {
              run = "steps:echo"
              params = {
                message  = "a = b  { # not a comment // nor this }"
                escaped  = "say \\"x = { y }\\" ${"nested = ${var.x}"}"
                template = "run-${  var.name  }-%{ if var.on }on%{ endif }-$${literal}"
                object   = "${ {a=1} }"
                script   = <<-EOT
                  echo "x = {"   # kept, trailing spaces too\x20\x20
                //  ${ var.x } {
                EOT
                raw      = <<EOT
            }  = # {
            EOT
              }
            }
            """
        ),
    ),
    "normalises blank lines": (
        "\n\n"
        + hcl(
            """
            # header


            variable "a" {

              default = 1


              type = number

            }
            variable "b" {}



            pipeline "p" {
              step "s" {
                run = "steps:s"
              }
              # the next step
              step "t" {
                run = "steps:t"
              }
              step "u" { run = "steps:u" }
            }
            """
        )
        + "\n\n\n",
        hcl(
            """
            # header

            variable "a" {
              default = 1

              type = number
            }

            variable "b" {}

            pipeline "p" {
              step "s" {
                run = "steps:s"
              }

              # the next step
              step "t" {
                run = "steps:t"
              }

              step "u" { run = "steps:u" }
            }
            """
        ),
    ),
    "spaces tokens like Terraform": (
        hcl(
            """
            stack   "local"{
              orchestrator   "local"  {  }
              artifact_store "local"  {path="a"}
            }
            variable "xs" {
              default = [ for x in [1,2,3] : x*2 if x>-1 ]
              type=list( number )
            }
            step "s" {
              run = "steps:s"
              params = {
                m = {for k,v in var.m : k=>v...}
                i = var.list[ 0 ]
                j = max( 1 , -2 ) [0]
                k = var.a [*] .b
                l = var.a .*. b
                n = ! var.flag && var.x==1
                o = var.flag ? -1:1-2
                p = provider::ns::fn( 1 )
              }
            }
            """
        ),
        hcl(
            """
            stack "local" {
              orchestrator "local" {}
              artifact_store "local" { path = "a" }
            }

            variable "xs" {
              default = [for x in [1, 2, 3] : x * 2 if x > -1]
              type    = list(number)
            }

            step "s" {
              run = "steps:s"
              params = {
                m = { for k, v in var.m : k => v... }
                i = var.list[0]
                j = max(1, -2)[0]
                k = var.a[*].b
                l = var.a.*.b
                n = !var.flag && var.x == 1
                o = var.flag ? -1 : 1 - 2
                p = provider::ns::fn(1)
              }
            }
            """
        ),
    ),
    "strips trailing whitespace, tabs and Windows line endings": (
        'variable "x" {\r\n\tdefault = 1   \r\n\ttype = number\t# n   \r\n}   ',
        hcl(
            """
            variable "x" {
              default = 1
              type    = number # n
            }
            """
        ),
    ),
    "is already canonical": (CANONICAL, CANONICAL),
}


@pytest.mark.parametrize("name", list(CASES))
def test_formats(name: str) -> None:
    source, expected = CASES[name]
    assert format_source(source) == expected


def sources() -> list[tuple[str, str]]:
    """Every input and output of the cases, plus the repository's own configurations."""
    found = [
        (f"{name} [{part}]", text)
        for name, pair in CASES.items()
        for part, text in zip(("input", "output"), pair, strict=True)
    ]
    for path in sorted([*REPO.glob("examples/**/*.zc.hcl"), *REPO.glob("zenctl/starter/*.zc.hcl")]):
        found.append((str(path.relative_to(REPO)), path.read_text()))
    return found


SOURCES = sources()
SOURCE_IDS = [name for name, _ in SOURCES]


@pytest.mark.parametrize(("name", "text"), SOURCES, ids=SOURCE_IDS)
def test_idempotent(name: str, text: str) -> None:
    once = format_source(text)
    assert format_source(once) == once


def significant(text: str) -> list[str]:
    return [token.text for token in tokenize(text) if token.kind is not Kind.NEWLINE]


@pytest.mark.parametrize(("name", "text"), SOURCES, ids=SOURCE_IDS)
def test_keeps_every_token(name: str, text: str) -> None:
    # Only whitespace may change: the same tokens, comments included, in the same order.
    assert significant(format_source(text)) == significant(text.replace("\r\n", "\n"))


def test_empty_and_whitespace_only() -> None:
    assert format_source("") == ""
    assert format_source("\n \n\t\n") == ""
    assert format_source("# only a comment") == "# only a comment\n"


def test_strip_markers_in_a_quoted_interpolation_are_formatted_not_refused() -> None:
    """`"${~ x ~}"` is valid HCL (the loader reads it) though python-hcl2 alone refuses it."""
    text = 'locals {\n  s   =   "a ${~ var.x ~} b"\n}\n'
    assert format_source(text) == 'locals {\n  s = "a ${~ var.x ~} b"\n}\n'


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('pipeline "p" {\n  step "s" {\n    run = "x"\n}\n', 1, "never closed"),
        ('variable "x" {\n  default = "abc\n}\n', 2, "unterminated string"),
        ('variable "x" {\n  default = 1\n}\n}\n', 4, "unexpected '}'"),
        ('variable "x" {\n  default = [1, 2)\n}\n', 2, "does not close"),
        ('step "s" {\n  script = <<EOT\n  echo\n}\n', 2, "no closing EOT"),
        ('variable "x" {\n  default = 1 +\n}\n', 3, "unexpected"),
        ('step "s" {\n  run "steps:s"\n}\n', 3, "unexpected"),
        ('variable "x" {\n  default = 1 /* open\n}\n', 2, "unterminated /*"),
        ('variable "x" {\n  default = @\n}\n', 2, "unexpected character"),
    ],
)
def test_syntax_error_raises_format_error(text: str, line: int, words: str) -> None:
    with pytest.raises(FormatError) as raised:
        format_source(text)
    assert raised.value.line == line
    assert raised.value.column >= 1
    assert words in raised.value.message
    assert str(raised.value).startswith(f"line {line}:")


def test_format_paths(tmp_path: Path) -> None:
    tidy = tmp_path / "tidy.zc.hcl"
    tidy.write_text(CANONICAL)
    messy = tmp_path / "messy.zc.hcl"
    messy.write_text('variable "a" {\ntype=number\n  default = 1\n}')

    results = format_paths([tidy, messy])

    assert [result.path for result in results] == [tidy, messy]
    assert not results[0].changed
    assert results[0].unified_diff() == ""
    assert results[1].changed
    assert results[1].original == messy.read_text()  # nothing is written
    assert results[1].formatted == 'variable "a" {\n  type    = number\n  default = 1\n}\n'
    assert results[1].unified_diff() == (
        "--- a/messy.zc.hcl\n"
        "+++ b/messy.zc.hcl\n"
        "@@ -1,4 +1,4 @@\n"
        ' variable "a" {\n'
        "-type=number\n"
        "+  type    = number\n"
        "   default = 1\n"
        "-}\n"
        "\\ No newline at end of file\n"
        "+}\n"
    )


def test_format_result_is_frozen() -> None:
    result = FormatResult(Path("main.zc.hcl"), "a = 1\n", "a = 1\n")
    with pytest.raises(AttributeError):
        result.formatted = "b = 2\n"  # type: ignore[misc]


def test_format_paths_names_the_broken_file(tmp_path: Path) -> None:
    good = tmp_path / "good.zc.hcl"
    good.write_text(CANONICAL)
    bad = tmp_path / "bad.zc.hcl"
    bad.write_text('variable "x" {\n  default = "abc\n}\n')
    with pytest.raises(FormatError) as raised:
        format_paths([good, bad])
    assert raised.value.path == bad
    assert str(raised.value) == f"{bad}:2:13: unterminated string"


def test_format_paths_rejects_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.zc.hcl"
    path.write_bytes(b'variable "x" {\n  default = "caf\xe9"\n}\n')
    with pytest.raises(FormatError) as raised:
        format_paths([path])
    assert (raised.value.line, raised.value.column, raised.value.path) == (2, 17, path)
