"""The training process: run one pickled step task, write its pickled result.

Both files are zenctl's own, written a moment before in a private temporary folder.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from zenctl.apply.task import execute_step
from zenctl_local.lifeline import die_with_parent


def main(task_file: str, result_file: str, zenctl_pid: str) -> None:
    die_with_parent(int(zenctl_pid))
    task = pickle.loads(Path(task_file).read_bytes())
    Path(result_file).write_bytes(pickle.dumps(execute_step(task)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
