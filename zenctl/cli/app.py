"""The `zenctl` command line: thin commands over the stages, errors rendered as diagnostics.

Every option has Terraform's single-dash spelling (`-auto-approve`) beside the double-dash one
(`--auto-approve`). Heavy modules are imported inside the commands, so `zenctl --help` stays fast.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from zenctl import __version__
from zenctl.cli.providers import providers_app
from zenctl.cli.workspace import workspace_app

app = typer.Typer(
    name="zenctl",
    help="Terraform's plan/apply for ML pipelines: see what will run and why, then run only that.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain click help: rich's help renderer costs ~0.2 s per --help
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help", "-help"]},
)

app.add_typer(workspace_app, name="workspace")

Chdir = Annotated[
    Path | None,
    typer.Option(
        "--chdir",
        "-C",
        "-chdir",
        help="Project folder (default: the current one).",
        show_default=False,
    ),
]
Vars = Annotated[
    list[str] | None,
    typer.Option(
        "--var", "-var", help="Set a variable: --var name=value (repeatable).", show_default=False
    ),
]
VarFiles = Annotated[
    list[str] | None,
    typer.Option(
        "--var-file",
        "-var-file",
        help="Set variables from an HCL file of name = value lines (repeatable).",
        show_default=False,
    ),
]
Targets = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        "-target",
        help="Plan only this step, deployment, stack resource or pipeline.NAME, and what it "
        "needs (repeatable).",
        show_default=False,
    ),
]
Excludes = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        "-exclude",
        help="Plan everything but this step, deployment, stack resource or pipeline.NAME, and "
        "what depends on it (repeatable).",
        show_default=False,
    ),
]
Replace = Annotated[
    list[str] | None,
    typer.Option(
        "--replace",
        "-replace",
        help="Run this step even if it is cached (repeatable).",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", "-json", help="Print machine-readable JSON.")]
DetailedExitcode = Annotated[
    bool,
    typer.Option(
        "--detailed-exitcode",
        "-detailed-exitcode",
        help="Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.",
    ),
]
Refresh = Annotated[
    str,
    typer.Option(
        "--refresh",
        "-refresh",
        metavar="BOOL",
        help="--refresh=false: trust the recorded resource state, do not read it back.",
    ),
]
AutoApprove = Annotated[
    bool, typer.Option("--auto-approve", "-auto-approve", help="Skip the confirmation.")
]
_state: dict[str, Path] = {}


@app.callback()
def _global(chdir: Chdir = None) -> None:
    if chdir is not None:
        _state["chdir"] = chdir


def _root(chdir: Path | None) -> Path:
    root = (chdir or _state.get("chdir") or Path.cwd()).resolve()
    if not root.is_dir():
        _fail_with("Project folder not found", f"{root} is not a folder. Check --chdir.")
    _state["root"] = root
    return root


def _refresh(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        _fail_with(
            "Invalid --refresh value", f"Use --refresh=true or --refresh=false, not {value!r}."
        )
    return value.lower() == "true"


def _fail_with(summary: str, detail: str) -> NoReturn:
    from zenctl.diagnostics import UserError

    raise UserError(summary, detail)


def main() -> None:
    """Entry point: run the app, turning every known failure into a diagnostic and an exit code."""
    from zenctl.diagnostics import DiagnosticsError, UserError

    # A shell starts background jobs with Ctrl-C ignored and Python keeps it so; an apply
    # sent SIGINT (Ctrl-C, a CI runner cancelling the job) must still stop gracefully.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    code = 0
    try:
        returned = app(standalone_mode=False)  # click returns typer.Exit's code here
        code = returned if isinstance(returned, int) else 0
    except DiagnosticsError as exc:
        _print_diagnostics(exc.diagnostics)
        code = 1
    except UserError as exc:
        _print_diagnostics((exc.diagnostic,))
        code = exc.exit_code
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        code = 1
    except KeyboardInterrupt:  # outside apply's walker, nothing was running yet
        print("\nInterrupted: nothing was changed.", file=sys.stderr)
        code = 130
    except Exception as exc:  # click usage errors, then anything unexpected
        code = _unexpected(exc)
    finally:
        _print_diagnostics(_provider_warnings())
        _trace()
    sys.exit(code)


def _provider_warnings() -> list[Any]:
    """Installed providers that failed to load, once the command looked at the providers.
    A command that never imported the registry did not, and must not pay for loading it."""
    registry = sys.modules.get("zenctl.providers.registry")
    return registry.load_warnings() if registry is not None else []


def _print_diagnostics(diagnostics: Any) -> None:
    from zenctl.render.console import stderr
    from zenctl.render.diagnostics import render_diagnostic

    for diagnostic in diagnostics:
        render_diagnostic(stderr(), diagnostic, _state.get("root"))


def _unexpected(exc: Exception) -> int:
    import click

    if isinstance(exc, click.ClickException):
        exc.show()
        return int(exc.exit_code)
    import tempfile
    import traceback

    from zenctl.diagnostics import Diagnostic

    report = Path(tempfile.gettempdir()) / f"zenctl-crash-{os.getpid()}.txt"
    report.write_text("".join(traceback.format_exception(exc)))
    _print_diagnostics(
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


_sql_counters: list[Any] = []


def _trace() -> None:
    """With ZENCTL_TRACE=1, print how many SQL statements the command issued and how many
    bytes it hashed, for the benchmark to check its own set-up (a "first" plan that hashed
    nothing would time the stat cache, not the hashing)."""
    if os.environ.get("ZENCTL_TRACE") == "1":
        total = sum(store.db.statements for store in _sql_counters)
        hashed = sys.modules.get("zenctl.fingerprint.files")
        print(f"sql-statements: {total}", file=sys.stderr)
        print(f"hashed-bytes: {hashed.hashed_bytes if hashed else 0}", file=sys.stderr)


def _open_state(project: Any, create: bool) -> Any:
    store = project.open_state(create)
    if store is not None:
        _sql_counters.append(store)
    return store


@app.command()
def version() -> None:
    """Print zenctl's version and the installed providers."""
    from zenctl.providers.registry import installed_providers

    typer.echo(f"zenctl {__version__}")
    for provider in sorted(installed_providers().values(), key=lambda p: p.name):
        kinds = ", ".join(f'{c.kind} "{c.type}"' for c in provider.components)
        typer.echo(f"provider {provider.name} {provider.version}: {kinds}")


@app.command()
def init(chdir: Chdir = None) -> None:
    """Create `.zenctl/`, the metadata store, and a starter `main.zc.hcl` when there is none.

    Example: `zenctl init --chdir my-project`
    """
    from zenctl.config.loader import config_files
    from zenctl.project import Project
    from zenctl.render.console import stdout

    root = _root(chdir)
    created = []
    if not config_files(root):
        starter = Path(__file__).parent.parent / "starter"
        for name, target in (("main.zc.hcl", "main.zc.hcl"), ("steps.py.txt", "starter_steps.py")):
            path = root / target
            if not path.exists():
                path.write_text((starter / name).read_text())
                created.append(target)
    project = Project.load(root)
    store = _open_state(project, create=True)
    store.close()
    console = stdout()
    for name in created:
        console.print(f"Created {name}")
    console.print(f"[green]Initialized zenctl in {root}.[/] Next: `zenctl plan`.")


@app.command()
def validate(
    chdir: Chdir = None, var: Vars = None, var_file: VarFiles = None, json_: Json = False
) -> None:
    """Check the configuration: syntax, references, types, cycles, and that each step's
    function exists and takes its params and inputs. Touches no state.

    Example: `zenctl validate`, `zenctl validate --json` (for editors and CI annotations)
    """
    from zenctl.config.signatures import check_steps
    from zenctl.diagnostics import DiagnosticsError, UserError
    from zenctl.project import Project
    from zenctl.render.console import stdout

    found: tuple[Any, ...] = ()
    try:
        project = Project.load(_root(chdir), _inputs(var, var_file))
        problems = check_steps(project.root, list(project.config.pipelines.values()))
        if problems:
            raise DiagnosticsError(problems)
    except (DiagnosticsError, UserError) as exc:
        if not json_:
            raise
        found = exc.diagnostics if isinstance(exc, DiagnosticsError) else (exc.diagnostic,)
    if json_:
        import json

        from zenctl.render.diagnostics import validate_document

        document = validate_document(found, _state.get("root", Path.cwd()))
        typer.echo(json.dumps(document, indent=2))
        if not document["valid"]:
            raise typer.Exit(1)
        return
    stdout().print("[green]Success![/] The configuration is valid.")


Format = Annotated[
    str,
    typer.Option("--format", "-format", help="text, markdown (a pull-request comment) or json."),
]
Summary = Annotated[
    bool,
    typer.Option(
        "--summary",
        "-summary",
        help="Only the steps and resources that change, grouped by reason (code: FILE, params, "
        "new, upstream changes...), then the summary line. Not with --json.",
    ),
]


def _check_summary(summary: bool, format: str) -> None:
    if summary and format == "json":
        _fail_with(
            "Conflicting output options",
            "--summary shortens the text and markdown plans; the JSON plan is always whole (each "
            "step's `reasons` and `changes` are there to group by). Drop --summary or --json.",
        )


@app.command()
def plan(
    chdir: Chdir = None,
    var: Vars = None,
    var_file: VarFiles = None,
    target: Targets = None,
    exclude: Excludes = None,
    replace: Replace = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-out", help="Save the plan to FILE, for `zenctl apply FILE`."),
    ] = None,
    json_: Json = False,
    format: Format = "text",
    summary: Summary = False,
    detailed_exitcode: DetailedExitcode = False,
    refresh: Refresh = "true",
    refresh_only: Annotated[
        bool,
        typer.Option(
            "--refresh-only",
            "-refresh-only",
            help="Plan no steps: only report what changed since the last apply (resources, "
            "source data), as `zenctl drift` does; exit 2 on drift with --detailed-exitcode.",
        ),
    ] = False,
) -> None:
    """Show which steps are cached and which must run, and why; what resources will change.

    Example: `zenctl plan --var lr=0.02 --out plan.json`, `zenctl plan --format markdown`,
    `zenctl plan --summary` (a 1,000-step plan in a few lines per reason)
    """
    from zenctl.plan.planfile import write_planfile
    from zenctl.project import Project
    from zenctl.render.console import stdout

    format = output_format(format, json_)
    _check_summary(summary, format)
    if refresh_only:
        from zenctl.cli.drift import check_refresh_only, report_drift

        check_refresh_only(refresh, out, target, exclude, replace)
        if report_drift(chdir, var, var_file, format).drifted and detailed_exitcode:
            raise typer.Exit(2)
        return
    project = Project.load(_root(chdir), _inputs(var, var_file))
    # A saved plan or a PR comment needs the store's lineage now: secrets are hashed with a key
    # tied to it, and the plan hash covers the lineage, so `apply` must find the same hashes.
    hashed = out is not None or format == "markdown"
    store = _open_state(project, create=hashed)
    plan_ = project.plan(
        store,
        tuple(target or ()),
        tuple(replace or ()),
        _refresh(refresh),
        excludes=tuple(exclude or ()),
    )
    document: dict[str, Any] = _plan_document(project, store, plan_) if hashed else {}
    if format == "json":
        import json

        from zenctl.render.plan_json import to_document

        typer.echo(json.dumps(to_document(plan_), indent=2, sort_keys=True))
    elif format == "markdown":
        from zenctl.plan.basis import basis, for_marker
        from zenctl.render.plan_markdown import render_markdown

        comment = render_markdown(
            plan_,
            document["plan_hash"],
            project.root.name,
            summary=summary,
            basis=for_marker(basis(document)),
        )
        typer.echo(comment, nl=False)
    else:
        from zenctl.render.plan_text import render_plan

        render_plan(stdout(), plan_, summary)
    _warn_if_partial(plan_)
    if out is not None:
        write_planfile(out, document)
        if format == "text":
            stdout().print(
                f"\nSaved the plan to: {out} (plan hash {document['plan_hash'][:16]})\n"
                f"To perform exactly these actions, run: zenctl apply {out}"
            )
    if detailed_exitcode and plan_.has_changes:
        raise typer.Exit(2)


def output_format(format: str, json_: bool) -> str:
    """The --format chosen, --json being --format json."""
    if format not in ("text", "markdown", "json"):
        _fail_with("Unknown output format", f"Choose text, markdown or json, not {format!r}.")
    if json_ and format not in ("text", "json"):
        _fail_with("Conflicting output formats", f"Give --json or --format {format}, not both.")
    return "json" if json_ else format


def _plan_document(project: Any, store: Any, plan_: Any) -> dict[str, Any]:
    """The saved-plan document with its hash, as `plan --out` writes it."""
    from zenctl.config.loader import config_digests
    from zenctl.plan.planfile import plan_document
    from zenctl.render.plan_json import to_document

    redact = project.fingerprinter(store).redact
    document = to_document(plan_)
    return plan_document(document, config_digests(project.root), project.variables, redact)


@app.command()
def apply(
    plan_file: Annotated[
        Path | None,
        typer.Argument(help="A plan saved by `zenctl plan --out`: applied exactly, or refused."),
    ] = None,
    chdir: Chdir = None,
    var: Vars = None,
    var_file: VarFiles = None,
    target: Targets = None,
    exclude: Excludes = None,
    replace: Replace = None,
    auto_approve: AutoApprove = False,
    parallelism: Annotated[
        int | None,
        typer.Option(
            "--parallelism", "-parallelism", help="Steps run at once (default: CPU count).", min=1
        ),
    ] = None,
    detailed_exitcode: DetailedExitcode = False,
    refresh: Refresh = "true",
    lock_timeout: LockTimeout = "0s",
    expect_plan_hash: Annotated[
        str | None,
        typer.Option(
            "--expect-plan-hash",
            "-expect-plan-hash",
            help="Refuse unless the plan's hash is H (from `plan --out` or the PR comment).",
            metavar="H",
        ),
    ] = None,
    expect_plan_comment: Annotated[
        Path | None,
        typer.Option(
            "--expect-plan-comment",
            "-expect-plan-comment",
            help="Refuse unless the plan is the one reviewed in FILE (the PR comment of `plan "
            "--format markdown`, or its marker line), naming what differs.",
            metavar="FILE",
        ),
    ] = None,
) -> None:
    """Plan, confirm, then run exactly the steps the plan says must run.

    Holds the state lock from the plan to the end; `--lock-timeout 5m` waits for another
    apply's. Example: `zenctl apply --auto-approve --parallelism 4`, or `zenctl apply plan.json`
    """
    from zenctl.apply.session import apply_plan
    from zenctl.cli.state import hold_lock
    from zenctl.plan.planfile import check_expected_hash
    from zenctl.project import Project
    from zenctl.render.console import stderr, stdout
    from zenctl.render.plan_text import render_plan
    from zenctl.render.progress import ProgressReporter, render_apply_result

    expected = _expected(expect_plan_hash, expect_plan_comment)
    console = stdout()
    if plan_file is None:
        project = Project.load(_root(chdir), _inputs(var, var_file))
    else:  # a saved plan was reviewed already: no confirmation, as in Terraform
        if var or var_file:
            _fail_with(
                "Can't set variables when applying a saved plan",
                "A saved plan records the variable values it was made with. Make a new plan "
                "with the values you want: zenctl plan --var ... --out FILE.",
            )
        if target or exclude or replace:
            _fail_with(
                "Can't target, exclude or replace when applying a saved plan",
                "A saved plan records its --target, --exclude and --replace options. Make a new "
                "plan with the ones you want: zenctl plan --exclude ... --out FILE.",
            )
        project, saved = _saved_plan(_root(chdir), plan_file)
    store = _open_state(project, create=True)
    with hold_lock(store, project.workspace, "apply", lock_timeout):
        if plan_file is None:
            plan_ = project.plan(
                store,
                tuple(target or ()),
                tuple(replace or ()),
                _refresh(refresh),
                excludes=tuple(exclude or ()),
            )
            render_plan(console, plan_)
            _warn_if_partial(plan_)
            if expected is not None:
                document = _plan_document(project, store, plan_)
                check_expected_hash(expected, document, "the plan computed now", store.db.url)
            if plan_.has_changes and not auto_approve:
                _confirm()
        else:
            plan_, document = _still_valid(project, store, plan_file, saved)
            if expected is not None:
                check_expected_hash(expected, document, str(plan_file), store.db.url)
        if not plan_.has_changes:
            from zenctl.apply.walker import settle_plan

            store.interrupt_stale(project.workspace)  # still close what a killed apply left open
            settle_plan(store, plan_)
            return
        with ProgressReporter(console, total=len(plan_.to_run)) as reporter:
            result = apply_plan(
                project, store, plan_, parallelism or os.cpu_count() or 1, reporter, reporter.say
            )
    render_apply_result(console, stderr(), plan_, result, project.root)
    if result.status != "succeeded":
        raise typer.Exit(130 if result.status == "interrupted" else 1)
    if detailed_exitcode:
        raise typer.Exit(2)


def _expected(plan_hash: str | None, comment: Path | None) -> Any:
    """The reviewed plan that --expect-plan-hash or --expect-plan-comment names, if any."""
    from zenctl.plan.planfile import expected_comment, expected_hash

    if plan_hash is not None and comment is not None:
        _fail_with(
            "Conflicting expected plans",
            "Give --expect-plan-hash or --expect-plan-comment, not both: the comment's marker "
            "holds the plan hash.",
        )
    if comment is not None:
        return expected_comment(comment)
    return None if plan_hash is None else expected_hash(plan_hash)


def _saved_plan(root: Path, plan_file: Path) -> tuple[Any, dict[str, Any]]:
    """The project a saved plan was made for, with its variable values; the saved document."""
    from zenctl.plan.planfile import read_planfile
    from zenctl.project import Project

    document = read_planfile(plan_file)
    preset = {n: entry["value"] for n, entry in document["variables"].items() if "value" in entry}
    with _planning_again(plan_file):
        return Project.load(root, _inputs(None, None), preset=preset), document


def _still_valid(
    project: Any, store: Any, plan_file: Path, saved: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The plan computed now (under the state lock) and its document, if the saved document
    is exactly that document: apply runs this plan, never one decoded from the file."""
    from zenctl.plan.planfile import check_saved_plan

    with _planning_again(plan_file):
        fresh = project.plan(
            store,
            tuple(saved["targets"]),
            tuple(saved["replace"]),
            excludes=tuple(saved["excludes"]),
        )
    document = _plan_document(project, store, fresh)
    check_saved_plan(plan_file, saved, document, store.db.url)
    return fresh, document


@contextlib.contextmanager
def _planning_again(plan_file: Path) -> Iterator[None]:
    """Say that a failure to plan again (its variables or --target no longer fit) refuses
    the saved plan, after the located diagnostics of why."""
    from zenctl.diagnostics import Diagnostic, DiagnosticsError, UserError

    try:
        yield
    except (UserError, DiagnosticsError) as exc:
        found = exc.diagnostics if isinstance(exc, DiagnosticsError) else (exc.diagnostic,)
        again = Diagnostic(
            "error",
            "Saved plan cannot be planned again",
            f"{plan_file} cannot be checked against the plan computed now, for the reason "
            f"above. Nothing was run. Make a new plan: zenctl plan --out {plan_file}",
        )
        raise DiagnosticsError([*found, again]) from None


def _inputs(var: list[str] | None, var_file: list[str] | None) -> Any:
    from zenctl.cli.inputs import variable_inputs

    return variable_inputs(var, var_file)


def _warn_if_partial(plan_: Any) -> None:
    """Terraform's warning, after the plan, when --target, --exclude or --replace shaped it."""
    from zenctl.plan.targeting import partial_plan_warnings

    _print_diagnostics(partial_plan_warnings(plan_.targets, plan_.replace, plan_.excludes))


@app.command()
def destroy(
    chdir: Chdir = None,
    var: Vars = None,
    var_file: VarFiles = None,
    auto_approve: AutoApprove = False,
    refresh: Refresh = "true",
    lock_timeout: LockTimeout = "0s",
) -> None:
    """Destroy every resource the workspace owns (model servers...), after confirmation.

    Recorded runs, step history and artifacts are kept. Example: `zenctl destroy --auto-approve`
    """
    from zenctl.apply.masking import Masker
    from zenctl.apply.resources import apply_resources
    from zenctl.apply.session import apply_secrets
    from zenctl.cli.state import hold_lock
    from zenctl.project import Project
    from zenctl.render.console import stderr, stdout
    from zenctl.render.plan_text import render_plan
    from zenctl.render.progress import render_destroy_result, say_to

    console = stdout()
    project = Project.load(_root(chdir), _inputs(var, var_file))
    store = _open_state(project, create=False)
    if store is None:
        render_plan(console, project.plan_destroy(store, _refresh(refresh)))
        return
    with hold_lock(store, project.workspace, "destroy", lock_timeout):
        plan_ = project.plan_destroy(store, _refresh(refresh))
        render_plan(console, plan_)
        if not plan_.has_changes:
            return
        if not auto_approve:
            _confirm("destroy")
        masker = Masker(apply_secrets(project, store))
        outcomes = apply_resources(
            project, store, plan_.resources, {}, say_to(console), plan_.refreshed, masker
        )
    if not render_destroy_result(console, stderr(), outcomes, project.root):
        raise typer.Exit(1)


def _confirm(command: str = "apply", flag: str = "--auto-approve") -> None:
    if not sys.stdin.isatty():
        _fail_with(
            f"{command.capitalize()} needs confirmation",
            "There is no terminal to ask on. Review the above, then run "
            f"`zenctl {command} {flag}` to go ahead without asking.",
        )
    from zenctl.render.console import stdout

    console = stdout()
    console.print("\n[bold]Do you want to perform these actions?[/]")
    console.print("  Only 'yes' will be accepted to approve.\n")
    answer = console.input("  Enter a value: ").strip()
    if answer != "yes":
        _fail_with(f"{command.capitalize()} cancelled", "Nothing was changed.")


@app.command()
def runs(
    chdir: Chdir = None,
    limit: Annotated[int, typer.Option("--limit", "-limit", help="How many runs to list.")] = 20,
) -> None:
    """List past applies, newest first.

    Example: `zenctl runs --limit 5`
    """
    from zenctl.project import Project
    from zenctl.render.console import stdout
    from zenctl.render.history import render_runs

    project = Project.load(_root(chdir))
    store = _open_state(project, create=False)
    render_runs(stdout(), store.runs(project.workspace, limit) if store else [])


@app.command()
def show(
    target: Annotated[
        str,
        typer.Argument(
            help="A saved plan file, a step address, a run ID or an artifact hash (prefixes work)."
        ),
    ],
    chdir: Chdir = None,
    json_: Json = False,
    summary: Summary = False,
) -> None:
    """Show a saved plan, or a step, run or artifact with its lineage: commit, params, inputs.

    Example: `zenctl show pipeline.iris.step.train`, `zenctl show --json plan.json`,
    `zenctl show --summary plan.json`
    """
    from zenctl.project import Project
    from zenctl.render.console import stdout
    from zenctl.render.history import show_target
    from zenctl.state.history import target_view

    _check_summary(summary, "json" if json_ else "text")
    if summary and not Path(target).is_file():
        _fail_with(
            "--summary shows a saved plan only",
            f"{target} is not a plan file. Give a file saved by `zenctl plan --out FILE`, or "
            "drop --summary to show a step, run or artifact.",
        )
    if Path(target).is_file():
        from zenctl.plan.planfile import read_planfile
        from zenctl.render.plan_json import from_document
        from zenctl.render.plan_text import render_plan

        document = read_planfile(Path(target))
        if json_:
            import json

            typer.echo(json.dumps(document, indent=2, sort_keys=True))
        else:
            render_plan(stdout(), from_document(document), summary)
        return
    project = Project.load(_root(chdir))
    store = _open_state(project, create=False)
    if store is None:
        _fail_with("Nothing recorded yet", "Run `zenctl apply` first; then its steps can be shown.")
    show_target(stdout(), target_view(store, project.workspace, target, project.config.moved_to()))


@app.command()
def graph(
    chdir: Chdir = None,
    format: Annotated[
        str, typer.Option("--format", "-format", help="text, mermaid or dot.")
    ] = "text",
) -> None:
    """Print the pipelines' step graph, as text or as Mermaid / DOT for docs.

    Example: `zenctl graph --format mermaid`
    """
    from zenctl.graph import build_graph
    from zenctl.project import Project
    from zenctl.render.graph import FORMATS

    if format not in FORMATS:
        _fail_with("Unknown graph format", f"Choose one of {', '.join(FORMATS)}, not {format!r}.")
    project = Project.load(_root(chdir))
    graphs = [
        build_graph(project.config.pipelines[name]) for name in sorted(project.config.pipelines)
    ]
    typer.echo(FORMATS[format](graphs))


from zenctl.cli.drift import drift  # noqa: E402  (commands in their own module register here)
from zenctl.cli.fmt import fmt  # noqa: E402
from zenctl.cli.gc import gc  # noqa: E402
from zenctl.cli.pull import pull  # noqa: E402
from zenctl.cli.state import LockTimeout, force_unlock, state_app  # noqa: E402

app.command()(drift)
app.command()(fmt)
app.command()(gc)
app.command()(pull)
app.add_typer(providers_app, name="providers")
app.add_typer(state_app, name="state")
app.command("force-unlock")(force_unlock)
