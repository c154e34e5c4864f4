"""Find the project's `*.zc.hcl` files and load them, from the config cache when unchanged.

Parsing 1,000 step blocks takes ~0.3 s (`fastparse`; python-hcl2 ~0.7 s); the validated config is
cached under `.zenctl/cache/`, keyed by the files' names and bytes, zenctl's version and the
installed providers (their names and versions: parsing checks component types, settings and
`required_providers` against them), so a warm plan never parses HCL. When the files changed
and `fastparse` leaves a file to python-hcl2, only the blocks whose text changed are parsed
again (`chunks.BlockCache`, in `.zenctl/cache/blocks.pickle`).
"""

from __future__ import annotations

import gc
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import blake3

from zenctl import __version__
from zenctl.config.catalog import ComponentCatalog
from zenctl.config.model import Config
from zenctl.diagnostics import UserError
from zenctl.paths import ensure_private_dir, project_dir, read_pickle, write_atomic

if TYPE_CHECKING:
    from zenctl.config.edits import EditBase

CONFIG_GLOB = "*.zc.hcl"
CACHE_FORMAT = 9  # bumped when the cached `Config` changes shape, or the checks it passed
EDIT_BASE = "edit-base.pickle"  # what the last parse leaves for the next edit (`edits`)


def config_files(root: Path) -> list[Path]:
    """The project's configuration files. As Terraform does, names an editor leaves beside
    the file it edits are not: hidden ones (Emacs's lock `.#main.zc.hcl`, a dangling link)
    and `#main.zc.hcl#`; nor are folders."""
    return sorted(
        path
        for path in root.glob(CONFIG_GLOB)
        if not path.name.startswith((".", "#")) and not path.is_dir()
    )


def config_digests(root: Path) -> dict[str, str]:
    """`{file name: blake3}` of the project's configuration files, for saved plans."""
    return {path.name: blake3.blake3(path.read_bytes()).hexdigest() for path in config_files(root)}


def load_config(root: Path, catalog: ComponentCatalog) -> Config:
    """The validated config of the project at `root`, its components checked against
    `catalog`; raises DiagnosticsError on bad input."""
    files = config_files(root)
    if not files:
        raise UserError(
            f"No {CONFIG_GLOB} files in {root}",
            "Run `zenctl init` to create a starter main.zc.hcl, or point --chdir at the "
            "folder that holds your configuration.",
        )
    contents = [(path, _read(path)) for path in files]
    salt = f"{__version__}\0{CACHE_FORMAT}\0{root.resolve()}\0{catalog.signature()}\0"
    digest = blake3.blake3(salt.encode())
    for path, data in contents:
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    key = digest.hexdigest()[:32]
    cache_dir = project_dir(root) / "cache"
    cached = _read_cache(cache_dir, key)
    if cached is not None:
        return cached
    texts = [(path, data.decode("utf-8", errors="replace")) for path, data in contents]
    edited = _apply_edit(cache_dir, salt, texts, catalog, key)
    if edited is not None:
        return edited
    from importlib.metadata import version

    from hcl2.version import __version__ as hcl2_version

    from zenctl.config.chunks import BlockCache
    from zenctl.config.edits import EditBase
    from zenctl.config.hcl import ConfigParser

    # A block's tree depends only on its text and the parser: python-hcl2, and the lark it
    # builds on (its objects are in the pickled trees).
    parser = f"{hcl2_version}\0{version('lark')}\0{CACHE_FORMAT}"
    blocks = BlockCache(cache_dir / "blocks.pickle", parser)
    config_parser = ConfigParser(root.resolve(), catalog, blocks)
    try:
        with _no_cycle_collection():
            config = config_parser.parse(texts)
    finally:
        blocks.save()  # a file with errors still keeps its good blocks for the next run
    if config_parser.values is not None:  # set by every parse that returns
        _remember(
            cache_dir, config, EditBase(salt, key, texts, config_parser.spans, config_parser.values)
        )
    return config


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:  # a link to nothing, a file without read permission
        raise UserError(
            f"Cannot read {path.name}: {exc.strerror or exc}",
            f"Fix or remove {path}: every {CONFIG_GLOB} file in the folder is configuration.",
        ) from None


def _apply_edit(
    cache_dir: Path, salt: str, texts: list[tuple[Path, str]], catalog: ComponentCatalog, key: str
) -> Config | None:
    """The config after an edit inside one step block, from the last parse (`edits`); None
    when that does not apply."""
    from zenctl.config.edits import EditBase, apply_edit

    base = read_pickle(cache_dir / EDIT_BASE, EditBase)
    if base is None or base.salt != salt:
        return None
    config = _read_cache(cache_dir, base.key)
    if config is None:
        return None
    with _no_cycle_collection():
        edited = apply_edit(base, config, texts, catalog, key)
    if edited is None:
        return None
    _remember(cache_dir, *edited)
    return edited[0]


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Parsing builds some 10^5 long-lived objects (lark's and python-hcl2's trees, unpickled
    blocks) and frees few: the cycle collector's repeated passes over them took over half
    of a 1,000-step parse. Whatever cycles were made are collected once it is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_cache(cache_dir: Path, key: str) -> Config | None:
    return read_pickle(cache_dir / f"config-{key}.pickle", Config)


def _remember(cache_dir: Path, config: Config, base: EditBase) -> None:
    """Keep `config` under its key (`base.key`), the only one kept, and what the next edit
    starts from."""
    try:
        ensure_private_dir(cache_dir)
        for stale in cache_dir.glob("config-*.pickle"):
            stale.unlink(missing_ok=True)
        write_atomic(
            cache_dir / f"config-{base.key}.pickle",
            pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL),
        )
        write_atomic(cache_dir / EDIT_BASE, pickle.dumps(base, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass  # a read-only checkout still plans, only without the caches
