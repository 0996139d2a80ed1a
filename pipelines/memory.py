"""How much memory a request needs and how much the machine has, so a request that cannot fit is
refused with a sentence before anything allocates it, not killed by the operating system.
"""

from __future__ import annotations

import os
from pathlib import Path

from data import ConfigError

FLOAT_BYTES = 4
COPIES_PER_WEIGHT = 5  # the weight, its gradient, two Adam slots and the probe's gradient
GATES = 4  # an LSTM has four weight blocks per layer, the most of any cell


def available_memory() -> int | None:
    """Bytes the system can give this process now (Linux MemAvailable), or None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def model_bytes(config) -> int:
    """A generous estimate of a model's weights and optimizer state for these options."""
    units = config.units
    return FLOAT_BYTES * COPIES_PER_WEIGHT * config.layers * GATES * units * (2 * units + 1)


def array_bytes(*shape: int, itemsize: int = FLOAT_BYTES) -> int:
    size = itemsize
    for n in shape:
        size *= int(n)
    return size


def check_memory(task, config) -> None:
    """Refuse a request that cannot fit before anything allocates it (not by the operating system)."""
    need = task.estimated_bytes(config) + model_bytes(config)
    have = available_memory()
    if have is not None and need > have:
        raise ConfigError(
            f"These options need about {need / 2**30:,.0f} GiB of memory but {have / 2**30:.1f} GiB is free: "
            "lower --units, --samples, --length, --lookback or --seq-len."
        )
