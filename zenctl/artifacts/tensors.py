"""torch tensors and modules as safetensors: a JSON header, then each tensor's raw bytes, the
same for the same values in any process (pickle's bytes, torch.save's, vary).

torch is never imported here unless a value is already a torch object: a torch object means
torch is in `sys.modules`. A module is stored as its `state_dict`, and read back as that
state_dict (loading a module needs its class and its arguments, which zenctl cannot know):
`model.load_state_dict(value)` (docs/artifacts.md#materializers). A dict of tensors by name
(a state_dict a step returns) is stored the same way, and read back as a dict.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, BinaryIO

TENSOR, MODULE, TENSORS = "torch-tensor", "torch-module", "torch-tensors"


def kind(value: Any) -> str:
    """The materializer of a torch tensor, a module, or a dict of tensors by name (a
    state_dict, an optimizer-free checkpoint); "" for any other value."""
    if "torch" not in sys.modules:  # a torch object means torch is imported: never import it
        return ""
    import torch

    if isinstance(value, torch.Tensor):
        return TENSOR
    if isinstance(value, torch.nn.Module):
        return MODULE
    if (
        isinstance(value, dict)
        and value
        and all(type(key) is str and isinstance(item, torch.Tensor) for key, item in value.items())
    ):
        return TENSORS
    return ""


def write_tensors(tensors: dict[str, Any], out: BinaryIO) -> None:
    """safetensors' bytes: a JSON header, its keys sorted, then each tensor's raw bytes."""
    from safetensors.torch import save

    seen: set[int] = set()
    contiguous = {}
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu().contiguous()
        if tensor.data_ptr() in seen:  # tied weights: safetensors refuses shared storage
            tensor = tensor.clone()
        seen.add(tensor.data_ptr())
        contiguous[name] = tensor
    out.write(save(contiguous))


def load(source: Path | bytes) -> dict[str, Any]:
    """The tensors by name, on the CPU: a module's state_dict, for `load_state_dict`."""
    from safetensors.torch import load as read

    tensors: dict[str, Any] = read(source if isinstance(source, bytes) else source.read_bytes())
    return tensors


def write_tensor(value: Any, out: BinaryIO) -> None:
    write_tensors({"tensor": value}, out)


def load_tensor(source: Path | bytes) -> Any:
    return load(source)["tensor"]


def write_module(value: Any, out: BinaryIO) -> None:
    write_tensors(value.state_dict(), out)
