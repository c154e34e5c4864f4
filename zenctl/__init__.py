"""zenctl: Terraform's plan/apply for ML pipelines.

The package is also the Python API, for notebooks (docs/python-api.md): `zenctl.load`,
`zenctl.runs`, `zenctl.plan` and `zenctl.ZenctlError`, defined in zenctl/api.py. Every command
of the command line starts with `import zenctl`, so this module imports nothing: zenctl/api.py
(and the stages it reads through) is imported on first use of one of its names (PEP 562).
"""

import sys  # no `from __future__ import annotations`: it imports the __future__ module

__version__ = "0.1.0"
__all__ = ["ZenctlError", "load", "plan", "runs"]

TYPE_CHECKING = False  # not typing's: importing typing would cost every command
if TYPE_CHECKING:
    from types import ModuleType

    from zenctl.api import ZenctlError, load, plan, runs
else:
    ModuleType = type(sys)


def __getattr__(name: str) -> object:
    """A name of the API, imported on first use."""
    if name not in __all__:
        raise AttributeError(f"module 'zenctl' has no attribute {name!r}")
    from zenctl import api

    return getattr(api, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(ModuleType):
    """`zenctl.plan` is both the API's function and the name of the plan stage's package,
    zenctl/plan/. Importing a package binds it on its parent, which would replace the
    function, or hide it from `__getattr__`, as soon as anything imported zenctl.plan.model.
    The attribute is the function whatever was imported first; the package is reached as
    code reaches it, by its full name (`from zenctl.plan.model import Plan`)."""

    @property
    def plan(self) -> object:
        return __getattr__("plan")

    @plan.setter
    def plan(self, package: object) -> None:
        """Where the import system binds zenctl/plan/ on zenctl: sys.modules keeps it."""


sys.modules[__name__].__class__ = _Package
