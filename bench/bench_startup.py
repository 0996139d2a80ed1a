"""How long a command takes to answer `--help` (the target is under 1.5 s), against what importing
TensorFlow alone costs, measured side by side in fresh processes in one run.

Run: python bench/bench_startup.py [--repeats 5]
"""

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "pipelines.train --help": ["-m", "pipelines.train", "--help"],
    "pipelines.sweep --help": ["-m", "pipelines.sweep", "--help"],
    "pipelines.predict --help": ["-m", "pipelines.predict", "--help"],
    "pipelines.defaults --help": ["-m", "pipelines.defaults", "--help"],
    "train with a usage error": ["-m", "pipelines.train", "--epochs", "many"],
    "import tensorflow (for scale)": ["-c", "import tensorflow"],
}


def seconds(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per command (default: 5)")
    args = parser.parse_args()
    seconds(COMMANDS["pipelines.train --help"])  # warm the file cache so the first row is not penalised
    medians = {}
    print(f"{'command':<32}{'median (s)':>12}{'min (s)':>10}{'max (s)':>10}")
    for name, command in COMMANDS.items():
        times = [seconds(command) for _ in range(args.repeats)]
        medians[name] = statistics.median(times)
        print(f"{name:<32}{medians[name]:>12.2f}{min(times):>10.2f}{max(times):>10.2f}")
    slowest = max(v for k, v in medians.items() if "tensorflow" not in k)
    print(
        f"slowest command answer {slowest:.2f} s (target < 1.5 s); importing TensorFlow alone: "
        f"{medians['import tensorflow (for scale)'] / slowest:.1f}x that"
    )


if __name__ == "__main__":
    main()
