"""A step's fingerprint components and the fingerprint over them.

Components (what `plan` diffs against state, see specs/caching.md):
  run      the `module:function` target
  code     {file: hash} of the definitions the step's function reaches in each module it runs
  params   the evaluated params, canonical; secrets replaced by a keyed hash
  inputs   {name: {ref, hash}}: the content hash of each consumed artifact or source
  outputs  the declared output names
  deps     {path: hash} of the files and folders named in `deps`, hashed like sources; only
           present when the step declares some, so other steps' keys are unchanged
  metrics  the outputs recorded as metrics, when any (absent otherwise, so declaring none
           keeps every earlier fingerprint): declaring one runs the step once, to record it
  materializers  {output: materializer} named for outputs, when any (absent otherwise): the
           bytes, and so the output's hash, follow the materializer
  materializer_code  {output: {file: hash}} of the named materializers that are the
           project's own, when any: editing how one writes or reads runs its steps again
The git commit is recorded beside them for lineage but is not one of them: an unrelated
commit must not bust the cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import blake3

from zenctl.config.model import Pipeline, Source, Step
from zenctl.config.variables import Sensitive
from zenctl.diagnostics import Diagnostic
from zenctl.fingerprint.canonical import canonical_json, digest
from zenctl.fingerprint.code import CodeIndex
from zenctl.fingerprint.files import StatCache, hash_path
from zenctl.paths import resolve_in_project

Components = dict[str, Any]
# 2: code hashed as a token normal form (was an AST dump, which differs between Pythons);
# params hashed as the step receives them (50 and 50.0 were one key).
# 3: code hashed per file over the definitions the step's function reaches (was whole files).
FINGERPRINT_VERSION = 3


class Fingerprinter:
    """Computes components for the steps of one project, memoising code and source hashes."""

    def __init__(
        self, root: Path, cache: StatCache, code_cache: StatCache, secret_key: bytes
    ) -> None:
        self.root = root
        self.cache = cache
        self.code = CodeIndex(root, code_cache)
        self._secret_key = secret_key
        self._sources: dict[str, str] = {}

    def source_hash(self, source: Source) -> str:
        return self.data_hash(source.path)

    def data_hash(self, written: str) -> str:
        """The hash of a source or a dep, as written in the configuration: once per plan."""
        path = resolve_in_project(self.root, written)
        key = str(path)
        if key not in self._sources:
            self._sources[key] = hash_path(path, self.cache)
        return self._sources[key]

    def save_caches(self) -> None:
        self.cache.save()
        self.code.cache.save()

    def check(self, pipeline: Pipeline, step: Step) -> Diagnostic | None:
        """Source data the step reads that is missing (its code: `config.signatures`)."""
        for ref in step.inputs.values():
            if ref.kind == "source":
                source = pipeline.sources[ref.parts[1]]
                if not resolve_in_project(self.root, source.path).exists():
                    return Diagnostic(
                        "error",
                        "Source data not found",
                        f'Source "{source.name}" reads {source.path}, which does not exist '
                        f"under {self.root}. Create it or fix the path.",
                        source.range,
                        f'in pipeline "{pipeline.name}"',
                    )
        for dep in step.deps:
            if not resolve_in_project(self.root, dep).exists():
                return Diagnostic(
                    "error",
                    "Dependency not found",
                    f'Step "{step.name}" depends on {dep}, which does not exist under '
                    f"{self.root}. Create it or fix the path in deps.",
                    step.deps_range or step.range,
                    f'in pipeline "{pipeline.name}"',
                )
        return None

    def components(
        self,
        pipeline: Pipeline,
        step: Step,
        params: dict[str, Any],
        upstream_hashes: dict[str, str | None],
    ) -> Components:
        """`upstream_hashes` maps `step.X.outputs.Y` to its artifact hash, None if not yet known."""
        inputs: dict[str, dict[str, Any]] = {}
        for name, ref in step.inputs.items():
            if ref.kind == "source":
                source = pipeline.sources[ref.parts[1]]
                inputs[name] = {
                    "ref": str(ref),
                    "path": source.path,
                    "hash": self.source_hash(source),
                }
            else:
                inputs[name] = {"ref": str(ref), "hash": upstream_hashes.get(str(ref))}
        components: Components = {
            "run": step.run,
            "code": self.code.closure(step.run),
            "params": self.redact(params),
            "inputs": inputs,
            "outputs": list(step.outputs),
        }
        if step.deps:
            components["deps"] = {dep: self.data_hash(dep) for dep in step.deps}
        if step.metrics:
            components["metrics"] = list(step.metrics)
        if step.materializers:
            components["materializers"] = dict(sorted(step.materializers.items()))
            own = {out: self._own_code(name) for out, name in sorted(step.materializers.items())}
            if any(own.values()):
                components["materializer_code"] = {out: code for out, code in own.items() if code}
        return components

    def _own_code(self, materializer: str) -> dict[str, str]:
        """The code a materializer of the project's own ("module:Class") reaches, hashed as a
        step's; none for an installed one, keyed by its name alone as libraries are."""
        return self.code.closure(materializer) if ":" in materializer else {}

    def redact(self, value: Any) -> Any:
        """Params as stored and hashed: a secret becomes a hash keyed by the store's secret key.
        Everything else is exactly what the step receives: `50` and `50.0` differ (see
        specs/caching.md)."""
        if isinstance(value, Sensitive):
            keyed = blake3.blake3(canonical_json(value.value).encode(), key=self._secret_key)
            return {"sensitive": keyed.hexdigest()[:20]}
        if isinstance(value, list):
            return [self.redact(item) for item in value]
        if isinstance(value, dict):
            return {key: self.redact(item) for key, item in value.items()}
        return value


def changed_dep(root: Path, deps: dict[str, str], cache: StatCache) -> str | None:
    """The first of the planned `deps` ({path: hash}) whose bytes are not the planned ones,
    and how (`data/x.csv changed since the plan`); None when all are. An unchanged file is
    not read again: its stat cache entry is trusted outside the racy window."""
    for dep, planned in deps.items():
        try:
            if hash_path(resolve_in_project(root, dep), cache) != planned:
                return f"{dep} changed since the plan"
        except FileNotFoundError:
            return f"{dep} is gone since the plan"
    return None


def is_known(components: Components) -> bool:
    return all(item["hash"] is not None for item in components["inputs"].values())


def fingerprint(components: Components, version: int = FINGERPRINT_VERSION) -> str:
    """The step's cache key; only defined once every input's hash is known."""
    return digest({"fingerprint_version": version, **components})


def older_version(components: Components, recorded: str | None) -> int | None:
    """The older scheme a recorded fingerprint was made with, None if not an older one's: after
    an upgrade of zenctl its steps run once, and the plan says why."""
    return next(
        (v for v in range(1, FINGERPRINT_VERSION) if fingerprint(components, v) == recorded), None
    )


def same_work(
    recorded_key: str | None, recorded: Components, key: str, components: Components
) -> bool:
    """Whether a recorded execution did this work: the same fingerprint, or the same data
    from a renamed producer (`same_data`). The planner and the walker both reuse by it."""
    return recorded_key == key or same_data(recorded, components)


def same_data(recorded: Components, components: Components) -> bool:
    """Whether two steps' components differ at most in which step produced each input (its
    `ref`): the step receives the same bytes, so it does the same work."""

    def unlabelled(c: Components) -> Components:
        inputs = {name: {**entry, "ref": ""} for name, entry in c.get("inputs", {}).items()}
        return {**c, "inputs": inputs}

    return fingerprint(unlabelled(recorded)) == fingerprint(unlabelled(components))
