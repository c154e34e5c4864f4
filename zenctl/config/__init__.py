"""Config loading: `*.zc.hcl` files to typed, frozen models (the first stage)."""

from zenctl.config.loader import load_config
from zenctl.config.model import Config, Expression, Pipeline, Ref, Stack, Step, Variable

__all__ = ["Config", "Expression", "Pipeline", "Ref", "Stack", "Step", "Variable", "load_config"]
