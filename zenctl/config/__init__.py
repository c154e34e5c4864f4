"""Config loading: `*.zc.hcl` files to typed, frozen models (the first stage)."""

from zenctl.config.loader import load_config
from zenctl.config.model import Config, Pipeline, Ref, Stack, Step, Template, Variable

__all__ = ["Config", "Pipeline", "Ref", "Stack", "Step", "Template", "Variable", "load_config"]
