"""One project on disk: its config, variables, state and stacks, loaded the same way for
every command, so that `plan` and `apply` cannot disagree about what they look at."""

from __future__ import annotations

import dataclasses
import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zenctl import __version__
from zenctl.config.loader import load_config
from zenctl.config.model import COMPONENT_KINDS, Component, Config, references
from zenctl.config.variables import VariableInputs, choose_stacks, evaluate, resolve_variables
from zenctl.diagnostics import UserError
from zenctl.fingerprint.code import code_cache_file
from zenctl.fingerprint.files import StatCache, data_cache_file
from zenctl.fingerprint.step import Fingerprinter
from zenctl.paths import project_dir
from zenctl.plan.model import Plan
from zenctl.plan.planner import ArtifactChecker, PlanInputs, make_plan
from zenctl.providers.protocol import ArtifactStore, Integrity
from zenctl.providers.registry import InstalledCatalog, build_component, settings_of
from zenctl.state.opening import open_store
from zenctl.state.records import EMPTY_LINEAGE
from zenctl.state.store import StateStore
from zenctl.workspaces import current

if TYPE_CHECKING:
    from zenctl.plan.drift import DriftReport, ResourceDrift


@dataclass(frozen=True, slots=True)
class Project:
    root: Path
    config: Config
    variables: dict[str, Any]
    workspace: str

    @classmethod
    def load(
        cls,
        root: Path,
        inputs: VariableInputs | None = None,
        preset: dict[str, Any] | None = None,
    ) -> Project:
        """`inputs` None: a command that evaluates nothing (runs, show, graph) and so needs
        no variable values. `preset`: values already decided (a saved plan's)."""
        config = load_config(root, InstalledCatalog())
        variables = {} if inputs is None else resolve_variables(config, inputs, preset=preset)
        config = choose_stacks(config, variables)
        return cls(Path(config.root), config, variables, current(Path(config.root)))

    def metadata_store(self) -> Component:
        """The one metadata store the project's pipelines share."""
        used = {pipeline.stack for pipeline in self.config.pipelines.values()} or set(
            self.config.stacks
        )
        components = {
            name: self.config.stacks[name].components["metadata_store"] for name in sorted(used)
        }
        distinct = {(c.type, repr(sorted(c.settings.items()))) for c in components.values()}
        if len(distinct) > 1:
            raise UserError(
                "Pipelines use different metadata stores",
                f"Stacks {', '.join(components)} declare different metadata_store blocks; a "
                "project keeps one history, so give them the same metadata_store.",
            )
        return next(iter(components.values()))

    def open_state(self, create: bool) -> StateStore | None:
        component = self.metadata_store()
        return open_store(self.root, component, self.store_settings(component), create)

    def store_settings(self, component: Component) -> dict[str, Any]:
        """The metadata store's settings with variables filled in (a password from a
        sensitive one)."""
        settings: dict[str, Any] = evaluate(component.settings, self._variables_of(component))
        return settings

    def _variables_of(self, component: Component) -> dict[str, Any]:
        """The variables a component's settings use. A command that evaluates nothing else
        (runs, show, gc, state ...) resolves them now, from the environment and defaults."""
        missing = {ref.parts[1] for ref in references(component.settings)} - set(self.variables)
        if not missing:
            return self.variables
        only = {name: self.config.variables[name] for name in missing}
        config = replace(self.config, variables=only)
        return self.variables | resolve_variables(config, VariableInputs())

    def fingerprinter(self, store: StateStore | None) -> Fingerprinter:
        key = store.secret_key() if store else None
        # Without a store nothing is recorded and every step runs: a throwaway key keeps the
        # hashes in a store-less plan's JSON from being checked against guesses.
        return Fingerprinter(
            self.root,
            StatCache(data_cache_file(self.root)),
            StatCache(code_cache_file(self.root)),
            key or os.urandom(32),
        )

    def artifact_store(self, stack: str) -> ArtifactStore:
        component = self.config.stacks[stack].components["artifact_store"]
        settings = settings_of(component, self._variables_of(component))
        built: ArtifactStore = build_component(
            "artifact_store", component.type, settings, self.root
        )
        return built

    def artifact_stores(self) -> list[ArtifactStore]:
        """Each distinct artifact store the stacks declare, once."""
        distinct: dict[str, str] = {}
        for name in sorted(self.config.stacks):
            component = self.config.stacks[name].components["artifact_store"]
            distinct.setdefault(f"{component.type}|{sorted(component.settings.items())}", name)
        return [self.artifact_store(stack) for stack in distinct.values()]

    def _placed_elsewhere(self, plan: Plan) -> frozenset[str]:
        """The steps to run with `resources` whose executor places them itself (Dask on its
        workers): this machine's capacity does not bound them."""
        from zenctl.providers.registry import component_type

        placed = set()
        for step in plan.to_run:
            if step.resources:
                kind = self.config.pipelines[step.pipeline].steps[step.step].executor_kind
                component = self.config.stacks[plan.stacks[step.pipeline]].components[kind]
                if component_type(kind, component.type).places_steps:
                    placed.add(step.address)
        return frozenset(placed)

    def artifact_checker(self) -> ArtifactChecker:
        """Checks cached outputs in each stack's artifact store, built only when first needed."""
        stores: dict[str, ArtifactStore] = {}

        def check(stack: str, expected: Mapping[str, int]) -> dict[str, Integrity]:
            if stack not in stores:
                stores[stack] = self.artifact_store(stack)
            return stores[stack].check(expected)

        return check

    def plan(
        self,
        store: StateStore | None,
        targets: tuple[str, ...] = (),
        replace: tuple[str, ...] = (),
        refresh: bool = True,
        excludes: tuple[str, ...] = (),
    ) -> Plan:
        """The plan of steps and resources; `refresh=False` trusts the recorded state."""
        fingerprinter = self.fingerprinter(store)
        records = store.resources(self.workspace) if store else {}
        used = {pipeline.stack for pipeline in self.config.pipelines.values()}
        stack_resources = frozenset(
            f"stack.{name}.{kind}"
            for name in used
            for kind in self.config.stacks[name].components
            if kind not in COMPONENT_KINDS
        )
        plan = make_plan(
            PlanInputs(
                self.config,
                self.variables,
                self.workspace,
                targets,
                replace,
                stack_resources | set(records),
                excludes,
            ),
            fingerprinter,
            store,
            self.artifact_checker(),
        )
        fingerprinter.save_caches()
        if any(step.resources for step in plan.to_run):
            from zenctl.plan.capacity import check_fits, machine_capacity

            elsewhere = self._placed_elsewhere(plan)
            here = [s for s in plan.to_run if s.resources and s.address not in elsewhere]
            # only steps that run here are bounded by this machine, and only then is what it
            # offers part of the plan (a plan saved here and applied in CI stays valid)
            capacity = machine_capacity(os.environ) if here else None
            if capacity is not None:
                check_fits(here, capacity, self.config, os.environ)
            plan = dataclasses.replace(plan, capacity=capacity, placed_elsewhere=elsewhere)
        pipelines = self.config.pipelines.values()
        declares = bool(stack_resources) or any(p.deployments for p in pipelines)
        if not records and not declares:
            return plan  # no provider to load: the warm plan of a project without resources
        from zenctl.graph import build_graph
        from zenctl.plan.resources import declared_resources, model_lookup, plan_resources
        from zenctl.plan.targeting import excluded_addresses

        # a model a cached step made is known now; one a step to run makes is not, until apply
        model = model_lookup({step.address: step.cached_outputs for step in plan.steps})
        declared = declared_resources(self.config, self.variables, model, fingerprinter.redact)
        graphs = [build_graph(pipeline) for pipeline in pipelines]
        left_out = excluded_addresses(graphs, excludes)
        changes = plan_resources(
            declared, records, self.root, self.workspace, refresh, targets, left_out
        )
        return dataclasses.replace(plan, resources=changes, refreshed=refresh)

    def drift(self, store: StateStore | None) -> DriftReport:
        """What moved since the last apply: recorded resources, source data and deps against
        reality. Reads only: no step is fingerprinted, no cache saved, no lock taken."""
        from zenctl.plan.drift import DriftReport, data_drift, resource_drift

        if store is None:
            return DriftReport(self.workspace, EMPTY_LINEAGE, 0, False, (), (), 0, 0)
        snapshot = store.snapshot(self.workspace)
        fingerprinter = self.fingerprinter(store)
        steps, checked = data_drift(self.root, snapshot.settled, fingerprinter.cache)
        records = store.resources(self.workspace)
        resources: tuple[ResourceDrift, ...] = ()
        if records:  # without any, no provider is loaded
            from zenctl.plan.resources import declared_resources

            # declared only for the settings to read each resource with: no model is looked up
            declared = declared_resources(
                self.config, self.variables, lambda pipeline, ref: None, fingerprinter.redact
            )
            wanted = {item.address: item for item in declared}
            resources = resource_drift(records, wanted, self.root, self.workspace)
        return DriftReport(
            self.workspace,
            snapshot.lineage,
            snapshot.serial,
            True,
            resources,
            steps,
            len(records),
            checked,
        )

    def plan_destroy(self, store: StateStore | None, refresh: bool = True) -> Plan:
        """Every resource the workspace owns, to delete; steps and their history stay."""
        from zenctl.plan.resources import plan_resources

        plan = Plan(self.workspace, EMPTY_LINEAGE, 0, (), (), {})
        if store is None:
            return plan
        snapshot_lineage, serial = store.lineage_serial()
        changes = plan_resources(
            [], store.resources(self.workspace), self.root, self.workspace, refresh
        )
        return dataclasses.replace(
            plan, lineage=snapshot_lineage, serial=serial, resources=changes, refreshed=refresh
        )


def lineage_info(root: Path) -> dict[str, Any]:
    """Who ran it, where, from which commit: recorded with every run, never in a fingerprint."""
    info: dict[str, Any] = {"zenctl_version": __version__, "host": socket.gethostname()}
    try:
        info["user"] = getpass.getuser()
    except (KeyError, OSError):
        info["user"] = None
    try:
        import git

        repo = git.Repo(root, search_parent_directories=True)
        info["git_sha"] = repo.head.commit.hexsha
        info["git_dirty"] = _uncommitted_changes(repo, root)
    except Exception:  # not a repository, no commit yet, or git missing: lineage without it
        info["git_sha"] = None
        info["git_dirty"] = None
    return info


def _uncommitted_changes(repo: Any, root: Path) -> bool:
    """Whether the work tree differs from its commit, `.zenctl/` left out even when no
    .gitignore names it: zenctl's own store, artifacts and caches change with every apply,
    so counting them would mark every run after the first as uncommitted."""
    top = Path(repo.working_tree_dir).resolve()
    own = project_dir(root.resolve())
    pathspec = [":/"]
    if own.is_relative_to(top):
        pathspec.append(f":(top,exclude){own.relative_to(top).as_posix()}")
    return bool(repo.git.status("--porcelain", "--", *pathspec))
