"""The training process: run one pickled step task, read from a pipe (it holds the step's
secrets: never written to a file), and write its pickled result in zenctl's private
temporary folder.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from zenctl.sdk import die_with_parent, execute_step


def main(task_fd: str, result_file: str, zenctl_pid: str) -> None:
    die_with_parent(int(zenctl_pid))
    with open(int(task_fd), "rb") as pipe:
        task = pickle.load(pipe)
    Path(result_file).write_bytes(pickle.dumps(execute_step(task)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
