"""Which GPU each step gets: two `resources { gpus = 1 }` steps applied at once.

    python bench/gpus.py

On a machine with NVIDIA GPUs (nvidia-smi present), applies a two-step project with
`CUDA_VISIBLE_DEVICES` as set (else the first two devices nvidia-smi lists) and prints, per
step, the CUDA_VISIBLE_DEVICES it ran with, the device torch saw (its name and UUID, when torch
is installed) and that UUID's index in nvidia-smi's list: two steps, two distinct physical
devices. Elsewhere it prints `no GPU: skipped`. See docs/resources.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MAIN = """
pipeline "gpus" {
  step "a" {
    run    = "gpu_steps:report"
    params = { name = "a" }
    resources {
      gpus = 1
    }
  }
  step "b" {
    run    = "gpu_steps:report"
    params = { name = "b" }
    resources {
      gpus = 1
    }
  }
}
"""

STEPS = """
import json, os, time
from pathlib import Path

def report(name):
    seen = {"CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": time.time()}
    try:
        import torch
        if torch.cuda.is_available():
            held = torch.ones(1024, 1024, device="cuda")  # hold the device while the other runs
            properties = torch.cuda.get_device_properties(0)
            seen["torch"] = {
                "device_count": torch.cuda.device_count(),
                "name": properties.name,
                "uuid": "GPU-" + str(getattr(properties, "uuid", "")),
            }
            time.sleep(2)
            del held
        else:
            seen["torch"] = "torch sees no CUDA device"
    except ImportError:
        seen["torch"] = "torch not installed"
        time.sleep(2)
    seen["end"] = time.time()
    (Path(__file__).parent / f"{name}.json").write_text(json.dumps(seen))
    return seen["CUDA_VISIBLE_DEVICES"]
"""


def listed_gpus() -> list[tuple[str, str]]:
    """(index, UUID) of each GPU nvidia-smi lists, whatever CUDA_VISIBLE_DEVICES says."""
    query = ["nvidia-smi", "--query-gpu=index,uuid", "--format=csv,noheader"]
    done = subprocess.run(query, capture_output=True, text=True, timeout=60, check=False)
    rows = [line.split(",") for line in done.stdout.splitlines() if "," in line]
    return [(index.strip(), uuid.strip()) for index, uuid in rows]


def main() -> int:
    if shutil.which("nvidia-smi") is None or not (gpus := listed_gpus()):
        print("no GPU: skipped")
        return 0
    pool = os.environ.get("CUDA_VISIBLE_DEVICES") or ",".join(index for index, _ in gpus[:2])
    by_uuid = {uuid: index for index, uuid in gpus}
    with tempfile.TemporaryDirectory(prefix="zenctl-gpus-") as folder:
        root = Path(folder)
        (root / "main.zc.hcl").write_text(MAIN)
        (root / "gpu_steps.py").write_text(STEPS)
        applied = subprocess.run(
            [sys.executable, "-m", "zenctl", "-C", folder, "apply", "--auto-approve"],
            env={**os.environ, "CUDA_VISIBLE_DEVICES": pool},
            capture_output=True,
            text=True,
            check=False,
        )
        if applied.returncode != 0:
            print(applied.stdout + applied.stderr)
            return 1
        print(f"pool: CUDA_VISIBLE_DEVICES={pool}; nvidia-smi lists {len(gpus)} GPU(s)")
        seen = {name: json.loads((root / f"{name}.json").read_text()) for name in ("a", "b")}
    for name, step in seen.items():
        torch = step["torch"]
        where = (
            torch
            if isinstance(torch, str)
            else (
                f"torch: {torch['device_count']} device(s), {torch['name']} "
                f"= nvidia-smi index {by_uuid.get(torch['uuid'], '?')}"
            )
        )
        print(f"step {name}: CUDA_VISIBLE_DEVICES={step['CUDA_VISIBLE_DEVICES']}; {where}")
    a, b = seen["a"], seen["b"]
    overlapped = a["start"] < b["end"] and b["start"] < a["end"]
    print(f"ran at once: {'yes' if overlapped else 'no (the second waited for a device)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
