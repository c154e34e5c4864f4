"""The `zenctl` command line: the commands put together, and one call of it run to an exit code,
every known failure rendered as a diagnostic.

The commands live in zenctl/cli/commands/, the options they share in options.py, and what one
call knows (its arguments, project folder, consoles) in the invocation (context.py) that `run`
makes and hands to every command: nothing outlives a call, so `run` may be called again in the
same process (the tests do) and each call runs against its own arguments and project.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from zenctl import __version__
from zenctl.cli.commands.apply import apply
from zenctl.cli.commands.checkout import checkout
from zenctl.cli.commands.destroy import destroy
from zenctl.cli.commands.drift import drift
from zenctl.cli.commands.fmt import fmt
from zenctl.cli.commands.gc import gc
from zenctl.cli.commands.graph import graph
from zenctl.cli.commands.history import show
from zenctl.cli.commands.init import init
from zenctl.cli.commands.logs import logs
from zenctl.cli.commands.metrics import metrics_app, params_app
from zenctl.cli.commands.plan import plan
from zenctl.cli.commands.providers import providers_app
from zenctl.cli.commands.pull import pull
from zenctl.cli.commands.report import report
from zenctl.cli.commands.runs import runs_app
from zenctl.cli.commands.state import force_unlock, state_app
from zenctl.cli.commands.validate import validate
from zenctl.cli.commands.version import version
from zenctl.cli.commands.workspace import workspace_app
from zenctl.cli.context import Invocation, invocation
from zenctl.cli.options import Chdir
from zenctl.diagnostics import Diagnostic, DiagnosticsError, UserError

app = typer.Typer(
    name="zenctl",
    help="Terraform's plan/apply for ML pipelines: see what will run and why, then run only that.",
    no_args_is_help=True,
    # --install-completion and --show-completion: typer writes the script for the user's shell.
    add_completion=True,
    rich_markup_mode=None,  # plain click help: rich's help renderer costs ~0.2 s per --help
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help", "-help"]},
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"zenctl {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    chdir: Chdir = None,
    no_color: Annotated[
        bool,
        typer.Option(
            "--no-color",
            "-no-color",
            help="Print no colours nor bold (also: the NO_COLOR environment variable).",
        ),
    ] = False,
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-version",
            help="Print zenctl's version and exit (`zenctl version` lists the providers too).",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    call = invocation(ctx)
    call.no_color = no_color
    if chdir is not None:
        call.chdir = chdir


# `zenctl --help` lists the commands in this order, then the groups.
app.command()(version)
app.command()(init)
app.command()(validate)
app.command()(plan)
app.command()(apply)
app.command()(destroy)
app.command()(show)
app.command()(logs)
app.command()(graph)
app.command()(report)
app.command()(drift)
app.command()(fmt)
app.command()(gc)
app.command()(pull)
app.command()(checkout)
app.command("force-unlock")(force_unlock)
app.add_typer(runs_app, name="runs")
app.add_typer(workspace_app, name="workspace")
app.add_typer(providers_app, name="providers")
app.add_typer(state_app, name="state")
app.add_typer(metrics_app, name="metrics")
app.add_typer(params_app, name="params")


def main() -> NoReturn:
    """The `zenctl` program: one call, then exit with its code."""
    # A shell starts background jobs with Ctrl-C ignored and Python keeps it so; an apply
    # sent SIGINT (Ctrl-C, a CI runner cancelling the job) must still stop gracefully.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(run(sys.argv[1:]))


def run(argv: Sequence[str], prog_name: str | None = None) -> int:
    """Run one call of zenctl with these arguments; its exit code. `prog_name` names the
    program in usage messages (None: as it was started)."""
    call = Invocation(tuple(argv))
    # Standalone mode: typer reports its own usage errors (exit 2) and exits with typer.Exit's
    # code, whichever click it carries; zenctl's errors pass through to the handlers below.
    try:
        app(args=list(argv), prog_name=prog_name, obj=call)
        code = 0  # not reached: standalone mode always exits
    except SystemExit as exc:  # typer.Exit, a usage error, --help
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        if _interrupted(exc):  # typer turns Ctrl-C in a command into a silent exit 130
            print("\nInterrupted: nothing was changed.", file=sys.stderr)
    except DiagnosticsError as exc:
        call.print_diagnostics(exc.diagnostics)
        code = 1
    except UserError as exc:
        call.print_diagnostics((exc.diagnostic,))
        code = exc.exit_code
    except KeyboardInterrupt:  # outside apply's walker, nothing was running yet
        print("\nInterrupted: nothing was changed.", file=sys.stderr)
        code = 130
    except Exception as exc:  # anything unexpected
        code = _crashed(call, exc)
    finally:
        call.print_diagnostics(_provider_warnings())
        call.trace()
        call.close()
    return code


def _interrupted(exc: BaseException) -> bool:
    """Whether Ctrl-C is what ended the command, however many exceptions wrap it; not when a
    command answered it itself (`raise typer.Exit(130) from None`: `logs -f` stopping)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return False


def _provider_warnings() -> list[Any]:
    """Installed providers that failed to load, once the command looked at the providers.
    A command that never imported the registry did not, and must not pay for loading it."""
    registry = sys.modules.get("zenctl.providers.registry")
    return registry.load_warnings() if registry is not None else []


def _crashed(call: Invocation, exc: Exception) -> int:
    import tempfile
    import traceback

    report = Path(tempfile.gettempdir()) / f"zenctl-crash-{os.getpid()}.txt"
    report.write_text("".join(traceback.format_exception(exc)))
    call.print_diagnostics(
        (
            Diagnostic(
                "error",
                "zenctl crashed",
                f"{type(exc).__name__}: {exc}\nThis is a bug in zenctl, not in your project. "
                f"The traceback is in {report}; please attach it to an issue. Recorded state is "
                "unaffected: every finished step was committed.",
            ),
        )
    )
    return 1
