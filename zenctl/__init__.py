"""zenctl: Terraform's plan/apply for ML pipelines.

The package is also the Python API, for notebooks (docs/python-api.md): `zenctl.load`,
`zenctl.runs`, `zenctl.metrics`, `zenctl.plan` and `zenctl.ZenctlError`, from zenctl/api.py.
"""

# Every command starts with `import zenctl`, so this module imports nothing (not even typing,
# nor __future__): zenctl/api.py, and the stages it reads through, is imported on first use of
# one of its names (PEP 562). Comments rather than docstrings: the bytecode is read by every
# command too.

import sys

__version__ = "0.1.0"
__all__ = ["ZenctlError", "load", "metrics", "plan", "runs"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

    from zenctl.api import ZenctlError, load, metrics, plan, runs
else:
    ModuleType = type(sys)


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module 'zenctl' has no attribute {name!r}")
    from zenctl import api

    return getattr(api, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


# `zenctl.plan` names both the API's function and the plan stage's package, zenctl/plan/.
# Importing a package binds it on its parent: that would hide the function from __getattr__
# as soon as anything imported zenctl.plan.model. So the attribute is the function, whatever
# was imported first, and the binding is dropped; code reaches the package by its full name
# (`from zenctl.plan.model import Plan`), through sys.modules.
class _Package(ModuleType):
    @property
    def plan(self) -> object:
        return __getattr__("plan")

    @plan.setter
    def plan(self, package: object) -> None:
        pass


sys.modules[__name__].__class__ = _Package
