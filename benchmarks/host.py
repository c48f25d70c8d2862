"""The machine a benchmark ran on, for the first line of its table: figures differ from host to host
(this project's CPU runs have landed on an Intel Xeon with AMX and on an AMD EPYC without it)."""

from __future__ import annotations

import os
import platform


def cpu_name() -> str:
    """The CPU's model name and core count, e.g. 'AMD EPYC, 2 cores'."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name}, {os.cpu_count()} cores"
