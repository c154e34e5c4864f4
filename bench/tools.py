"""The tools under test: how each one renders a workload and which commands it runs.

zenctl, DVC and ZenML differ in files and commands but the benchmark asks the same questions of
each (create a project, plan it, apply it, edit a param), so each tool is one small class and
the measurement code in ``suite.py`` never branches on which tool it is driving.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import textwrap
from abc import ABC, abstractmethod
from pathlib import Path

from measure import Command, CommandFailed, Outcome, run_command
from workloads import Func, Step, Workload

SOURCE_NAME = "big.bin"
ZENML_CACHED = "Using cached version of step"
GIT_IDENTITY = (
    "-c",
    "user.name=zenctl-bench",
    "-c",
    "user.email=bench@localhost",
    "-c",
    "commit.gpgsign=false",
)


def source_pool(work: Path, wl: Workload) -> Path:
    """Where the big source file of ``wl`` is kept once, hard-linked into every project."""
    return work / f"source-{wl.n}mb.bin"


def step_timeout(wl: Workload) -> float:
    """Generous per-command limit: a fixed start-up allowance plus 2 s per step and 20 s/GiB."""
    return 120.0 + 2.0 * len(wl.steps) + 20.0 * (wl.source_bytes or 0) / 2**30


class Tool(ABC):
    """One tool under test, bound to the folder where its projects are generated."""

    name: str = ""
    primary: bool = False

    def __init__(self, work: Path, max_apply_steps: int | None = None) -> None:
        self.work = work
        # Larger graphs sit out (a peer needing many minutes per apply).
        self.max_apply_steps = max_apply_steps
        self.prepared: set[str] = set()  # labels applied once for forget_hashes

    def project(self, wl: Workload) -> Path:
        """The project folder of ``wl`` for this tool: ``bench/.work/<tool>-<shape>-<n>``."""
        return self.work / wl.dirname(self.name)

    def supports(self, wl: Workload) -> bool:
        """Whether this tool takes part in ``wl``: not above ``max_apply_steps``."""
        return self.max_apply_steps is None or len(wl.steps) <= self.max_apply_steps

    def make_applied(self, wl: Workload) -> None:
        """Bring a fresh project of ``wl`` to its applied state, untimed."""
        self.create(wl)
        self.run(self.apply(wl))

    def create(self, wl: Workload) -> Path:
        """Write a fresh project for ``wl`` and commit it: nothing cached, nothing applied."""
        dest = self.project(wl)
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        self.write_static(wl, dest)
        self.write_params(wl)
        if wl.source_bytes is not None:
            os.link(source_pool(self.work, wl), dest / SOURCE_NAME)
        self.git(dest, "init", "-q")
        self.init_project(dest)
        self.git(dest, "add", "-A")
        self.git(dest, *GIT_IDENTITY, "commit", "-q", "-m", "benchmark workload")
        return dest

    def git(self, dest: Path, *args: str) -> None:
        """Run git in ``dest``; the workloads are git repos because DVC (and provenance) need it."""
        run_command(Command(("git", *args), dest, os.environ, 60.0))

    @abstractmethod
    def init_project(self, dest: Path) -> None:
        """Tool-specific one-off initialisation inside the fresh git repo (``dvc init``)."""

    def run(self, command: Command | None) -> Outcome:
        """Run one of this tool's commands; a tool that lacks the command fails like a crash."""
        if command is None:
            raise CommandFailed(Command(("n/a",), self.work), "not supported")
        return run_command(command)

    def hash_cache(self, wl: Workload) -> Path | None:
        """Where the tool remembers the hashes of unchanged files (its stat cache), if anywhere."""
        return None

    def forget_hashes(self, wl: Workload) -> None:
        """Leave ``wl``'s project so that the next plan must hash its inputs from scratch.

        With a known hash cache, the project is applied once and only that cache is dropped:
        the next plan then differs from a warm one by the hashing alone, not by also creating
        the tool's state from nothing.
        """
        cache = self.hash_cache(wl)
        if cache is None:
            self.create(wl)
            return
        if wl.label not in self.prepared:
            self.make_applied(wl)
            self.prepared.add(wl.label)
        if cache.is_dir():
            shutil.rmtree(cache)
        else:
            cache.unlink(missing_ok=True)

    @abstractmethod
    def check_clean(self, outcome: Outcome, command: Command, wl: Workload) -> None:
        """Raise if a plan of a fully applied project does not say "nothing to do"."""

    def seed_applied(self, wl: Workload) -> bool:
        """Bring ``wl`` to its applied state without the tool's apply, for a graph above
        ``max_apply_steps``; False when the tool has no such way."""
        return False

    def find_cached(self, wl: Workload) -> Command | None:
        """The quickest way this tool has to find that every step of ``wl`` is cached."""
        return self.plan(wl)

    def config_cache(self, wl: Workload) -> Path | None:
        """Where the tool caches its parsed configuration (deleted for a cold plan), if it does."""
        return None

    @abstractmethod
    def write_static(self, wl: Workload, dest: Path) -> None:
        """Write the files that do not hold params: step code, ignore files."""

    @abstractmethod
    def write_params(self, wl: Workload) -> None:
        """(Re)write the file holding the params; called again by the "edit one param" runs."""

    @abstractmethod
    def plan(self, wl: Workload) -> Command | None:
        """The command that says what would run without running it (None: the tool has none)."""

    @abstractmethod
    def apply(
        self, wl: Workload, *, first: bool = False, parallelism: int | None = None
    ) -> Command | None:
        """The command that brings the project up to date; ``first`` asks for no cache reuse."""

    @abstractmethod
    def startup(self, what: str) -> Command | None:
        """``--help`` or ``version``: the floor every interactive command pays."""

    @abstractmethod
    def version(self) -> str:
        """The tool's version, for the machine description."""


class Zenctl(Tool):
    """zenctl itself, run as the console script installed next to this interpreter."""

    name = "zenctl"
    primary = True

    def __init__(self, work: Path, executable: Path) -> None:
        super().__init__(work)
        self.executable = executable

    def command(
        self, cwd: Path, *args: str, timeout: float = 120.0, extra_env: dict[str, str] | None = None
    ) -> Command:
        """A zenctl invocation; runs from ``bench/.work`` so that ``-C`` is really exercised."""
        env = {**os.environ, **(extra_env or {})}
        return Command((str(self.executable), *args), cwd, env, timeout)

    def init_project(self, dest: Path) -> None:
        """``zenctl init``: the store exists before the first apply, as DVC's after ``dvc init``."""
        run_command(self.command(dest, "-C", str(dest), "init"))

    def write_static(self, wl: Workload, dest: Path) -> None:
        """steps.py holds every step function; .gitignore keeps state and the big file out."""
        (dest / "steps.py").write_text(ZENCTL_STEPS)
        (dest / ".gitignore").write_text(f".zenctl/\n__pycache__/\n{SOURCE_NAME}\n")

    def write_params(self, wl: Workload) -> None:
        """Params live in the HCL, so the whole ``main.zc.hcl`` is re-rendered."""
        (self.project(wl) / "main.zc.hcl").write_text(render_hcl(wl))

    def plan(self, wl: Workload, extra_env: dict[str, str] | None = None) -> Command:
        return self.command(
            self.work,
            "-C",
            str(self.project(wl)),
            "plan",
            timeout=step_timeout(wl),
            extra_env=extra_env,
        )

    def apply(
        self, wl: Workload, *, first: bool = False, parallelism: int | None = None
    ) -> Command:
        extra = ("--parallelism", str(parallelism)) if parallelism else ()
        return self.command(
            self.work,
            "-C",
            str(self.project(wl)),
            "apply",
            "--auto-approve",
            *extra,
            timeout=step_timeout(wl),
        )

    def startup(self, what: str) -> Command:
        return self.command(self.work, "--help" if what == "help" else "version")

    def version(self) -> str:
        """First line of ``zenctl version`` ("zenctl 0.1.0"); later lines list providers."""
        lines = run_command(self.startup("version")).stdout.strip().splitlines()
        return lines[0].removeprefix("zenctl ").strip() if lines else "unknown"

    def config_cache(self, wl: Workload) -> Path:
        """zenctl keeps the parsed and validated HCL here, keyed by the files' bytes."""
        return self.project(wl) / ".zenctl" / "cache"

    def hash_cache(self, wl: Workload) -> Path:
        return self.config_cache(wl) / "stat.json"

    def check_clean(self, outcome: Outcome, command: Command, wl: Workload) -> None:
        """A warm plan must find every step cached, or we would time re-planning work."""
        if "No changes" not in outcome.stdout:
            raise CommandFailed(
                command,
                "plan of a fully applied project is not 'No changes'",
                outcome.stdout[-2000:],
            )


class Dvc(Tool):
    """DVC from its own venv; ``python`` in stage commands resolves to that venv too."""

    name = "DVC"

    def __init__(self, work: Path, bin_dir: Path, max_apply_steps: int | None = None) -> None:
        super().__init__(work, max_apply_steps)
        self.bin_dir = bin_dir

    def project(self, wl: Workload) -> Path:
        return self.work / wl.dirname("dvc")

    def command(self, cwd: Path, *args: str, timeout: float = 120.0) -> Command:
        """A dvc invocation with analytics off and a per-project site cache.

        DVC keeps its hash database in a "site cache" outside the repo (/var/tmp/dvc); pointing
        it inside each project keeps runs independent and lets us forget hashes on purpose.
        """
        env = {
            **os.environ,
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(cwd / ".dvc" / "tmp" / "site-cache"),
        }
        return Command((str(self.bin_dir / "dvc"), *args), cwd, env, timeout)

    def init_project(self, dest: Path) -> None:
        """``dvc init`` needs the git repo; update checks and analytics would add noise."""
        run_command(self.command(dest, "init", "-q"))
        (dest / ".dvc" / "config").write_text(
            "[core]\n    analytics = false\n    check_update = false\n"
        )

    def write_static(self, wl: Workload, dest: Path) -> None:
        """dvc.yaml (the graph) and the one ``step.py`` every stage runs."""
        (dest / "step.py").write_text(DVC_STEP)
        (dest / "dvc.yaml").write_text(render_dvc_yaml(wl))
        (dest / ".gitignore").write_text(f"__pycache__/\n{SOURCE_NAME}\n")

    def write_params(self, wl: Workload) -> None:
        """params.yaml in DVC's usual block style: one shared file, ``s<i>.k`` per stage."""
        text = "".join(f"{s.name}:\n  k: {s.k}\n" for s in wl.steps)
        (self.project(wl) / "params.yaml").write_text(text)

    def plan(self, wl: Workload) -> Command:
        return self.command(self.project(wl), "status", timeout=step_timeout(wl))

    def apply(
        self, wl: Workload, *, first: bool = False, parallelism: int | None = None
    ) -> Command:
        return self.command(self.project(wl), "repro", timeout=step_timeout(wl))

    def startup(self, what: str) -> Command:
        return self.command(self.work, "--help" if what == "help" else "version")

    def hash_cache(self, wl: Workload) -> Path:
        """DVC's hash database ("site cache"), pointed inside the project by ``command``."""
        return self.project(wl) / ".dvc" / "tmp" / "site-cache"

    def seed_applied(self, wl: Workload) -> bool:
        """What ``dvc repro`` leaves, written without it: each stage's own command run in
        order, then ``dvc.lock`` and the cache. ``dvc repro`` of 1,000 stages takes hours here
        (it rewrites ``dvc.lock`` after each stage); ``dvc status`` then has a project to look
        at, and ``check_clean`` fails the run unless it finds everything up to date."""
        dest = self.create(wl)
        env = self.command(dest).env
        lock = ["schema: '2.0'", "stages:"]
        for step in wl.steps:  # in dependency order
            cmd, deps, output = dvc_stage(step)
            run_command(Command(tuple(shlex.split(cmd)), dest, env, 60.0))
            lock += [f"  {step.name}:", f"    cmd: {cmd}", "    deps:"]
            for dep in sorted(deps):
                lock += dvc_lock_entry(dest, dep)[0]
            entry, digest = dvc_lock_entry(dest, output)
            lock += ["    params:", "      params.yaml:", f"        {step.name}.k: {step.k}"]
            lock += ["    outs:", *entry]
            cached = dest / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
            cached.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dest / output, cached)
        (dest / "dvc.lock").write_text("\n".join(lock) + "\n")
        return True

    def check_clean(self, outcome: Outcome, command: Command, wl: Workload) -> None:
        """``dvc status`` must agree everything is cached, or the "warm plan" is not warm."""
        if "up to date" not in outcome.stdout:
            raise CommandFailed(command, "dvc status reports changes on a reproduced project")

    def version(self) -> str:
        return run_command(self.command(self.work, "--version")).stdout.strip()


class ZenML(Tool):
    """ZenML: a Python pipeline run against a throw-away local store.

    ZenML has no plan: the only way it has to find that every step is cached is to run the
    pipeline, so that run is its "plan, all cached" figure and the other plan rows read n/a.
    Only the chain shape is rendered because a fan-in of N named inputs has no direct ZenML
    spelling.
    """

    name = "ZenML"

    def __init__(
        self, work: Path, bin_dir: Path, config_dir: Path, max_apply_steps: int | None = None
    ) -> None:
        super().__init__(work, max_apply_steps)
        self.bin_dir = bin_dir
        self.config_dir = config_dir

    def project(self, wl: Workload) -> Path:
        return self.work / wl.dirname("zenml")

    def supports(self, wl: Workload) -> bool:
        """Chains only (see the class docstring), and not above ``max_apply_steps``."""
        return wl.shape == "chain" and super().supports(wl)

    def command(self, cwd: Path, *argv: str, timeout: float = 300.0) -> Command:
        """Analytics off and ``ZENML_CONFIG_PATH`` in a temp dir: a fresh local store per run."""
        env = {
            **os.environ,
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_LOGGING_COLORS_DISABLED": "true",
            "ZENML_CONFIG_PATH": str(self.config_dir),
        }
        return Command(argv, cwd, env, timeout)

    def init_project(self, dest: Path) -> None:
        run_command(self.command(dest, str(self.bin_dir / "zenml"), "init"))

    def write_static(self, wl: Workload, dest: Path) -> None:
        (dest / "run_pipeline.py").write_text(
            ZENML_PIPELINE.format(name=f"bench_{wl.shape}_{wl.n}")
        )
        (dest / ".gitignore").write_text("__pycache__/\n")

    def write_params(self, wl: Workload) -> None:
        ks = [s.k for s in wl.steps]
        (self.project(wl) / "params.json").write_text(json.dumps(ks) + "\n")

    def plan(self, wl: Workload) -> None:
        return None

    def find_cached(self, wl: Workload) -> Command:
        return self.apply(wl)

    def check_clean(self, outcome: Outcome, command: Command, wl: Workload) -> None:
        """The cached run must reuse every step, or we would time real step executions."""
        reused = (outcome.stdout + outcome.stderr).count(ZENML_CACHED)
        if reused != len(wl.steps):
            raise CommandFailed(
                command, f"ZenML reused {reused} of {len(wl.steps)} steps from its cache"
            )

    def apply(
        self, wl: Workload, *, first: bool = False, parallelism: int | None = None
    ) -> Command:
        flags = ("--no-cache",) if first else ()
        return self.command(
            self.project(wl),
            str(self.bin_dir / "python"),
            "run_pipeline.py",
            *flags,
            timeout=step_timeout(wl) + 300.0,
        )

    def startup(self, what: str) -> Command:
        return self.command(
            self.work, str(self.bin_dir / "zenml"), "--help" if what == "help" else "version"
        )

    def version(self) -> str:
        probe = "import importlib.metadata as m; print(m.version('zenml'))"
        return run_command(
            self.command(self.work, str(self.bin_dir / "python"), "-c", probe)
        ).stdout.strip()


def hcl_inputs(step: Step) -> str:
    """The ``inputs`` map of one step: upstream outputs, or the big source."""
    if step.reads_source:
        return "{ raw = source.big }"
    if step.func is Func.GATHER:
        pairs = "\n".join(f"      u{up[1:]} = step.{up}.outputs.output" for up in step.upstreams)
        return "{\n" + pairs + "\n    }"
    return f"{{ prev = step.{step.upstreams[0]}.outputs.output }}"


def render_hcl(wl: Workload) -> str:
    """``main.zc.hcl`` for ``wl``: one pipeline "bench", one step block per step."""
    blocks = []
    if wl.source_bytes is not None:
        blocks.append(f'  source "big" {{\n    path = "{SOURCE_NAME}"\n  }}\n')
    for step in wl.steps:
        lines = [f'  step "{step.name}" {{', f'    run    = "steps:{step.func.value}"']
        if step.upstreams or step.reads_source:
            lines.append(f"    inputs = {hcl_inputs(step)}")
        lines.append(f"    params = {{ i = {step.index}, k = {step.k} }}")
        blocks.append("\n".join([*lines, "  }\n"]))
    return 'pipeline "bench" {\n' + "\n".join(blocks) + "}\n"


def dvc_stage(step: Step) -> tuple[str, list[str], str]:
    """A stage's command, dependencies and output, as ``dvc.yaml`` declares them."""
    ups = [f"out/{up}.txt" for up in step.upstreams]
    deps = ["step.py", *ups, *([SOURCE_NAME] if step.reads_source else [])]
    flags = ["--nap"] if step.func is Func.NAP else []
    cmd = f"python step.py {' '.join([str(step.index), *ups, *flags])}"
    return cmd, deps, f"out/{step.name}.txt"


def render_dvc_yaml(wl: Workload) -> str:
    """``dvc.yaml`` equivalent to :func:`render_hcl`: same graph, one stage per step."""
    out = ["stages:"]
    for step in wl.steps:
        cmd, deps, output = dvc_stage(step)
        out += [
            f"  {step.name}:",
            f"    cmd: {cmd}",
            "    deps:",
            *(f"      - {d}" for d in deps),
            "    params:",
            f"      - {step.name}.k",
            "    outs:",
            f"      - {output}",
        ]
    return "\n".join(out) + "\n"


def dvc_lock_entry(dest: Path, path: str) -> tuple[list[str], str]:
    """One file of a stage in ``dvc.lock`` (schema 2.0), as ``dvc repro`` writes it, and the
    file's md5 (DVC's content hash, which also names it in DVC's cache)."""
    data = (dest / path).read_bytes()
    digest = hashlib.md5(data).hexdigest()
    lines = [
        f"    - path: {path}",
        "      hash: md5",
        f"      md5: {digest}",
        f"      size: {len(data)}",
    ]
    return lines, digest


ZENCTL_STEPS = textwrap.dedent('''\
    """Step functions of the zenctl benchmark workloads (generated by bench/run.py)."""

    import time


    def step(prev=None, i=0, k=1):
        return (prev or 0) + i * k


    def gather(i=0, k=1, **upstream):
        return sum(upstream.values()) + i * k


    def nap(i=0, k=1):
        time.sleep(1)
        return i * k


    def measure(raw=None, i=0, k=1):
        return i * k
    ''')

DVC_STEP = textwrap.dedent('''\
    """One DVC benchmark stage: the sum of its upstream outputs plus i * k (mirrors steps.py)."""

    import sys
    import time
    from pathlib import Path

    i = int(sys.argv[1])
    ups = [a for a in sys.argv[2:] if not a.startswith("--")]
    lines = Path("params.yaml").read_text().splitlines()
    k = int(lines[lines.index(f"s{i}:") + 1].split(":")[1])
    if "--nap" in sys.argv:
        time.sleep(1)
    Path("out").mkdir(exist_ok=True)
    Path(f"out/s{i}.txt").write_text(str(sum(int(Path(u).read_text()) for u in ups) + i * k))
    ''')

ZENML_PIPELINE = textwrap.dedent('''\
    """ZenML version of the zenctl chain benchmark (generated by bench/run.py)."""

    import json
    import sys
    from pathlib import Path

    from zenml import pipeline, step

    K = json.loads(Path("params.json").read_text())


    @step
    def link(i: int, k: int, prev: int = 0) -> int:
        return prev + i * k


    @pipeline(name="{name}")
    def bench() -> None:
        prev = None
        for i, k in enumerate(K):
            upstream = {{}} if prev is None else {{"prev": prev}}
            prev = link(i=i, k=k, id=f"s{{i}}", **upstream)


    if __name__ == "__main__":
        bench.with_options(enable_cache="--no-cache" not in sys.argv)()
    ''')
