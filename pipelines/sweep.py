"""The classic vanishing-gradient experiments: vary one setting (sequence length, recurrent gain,
clipping) across cells and seeds, at an equal training budget, and tabulate what happens.

Usage: python -m pipelines.sweep --task adding --over length --values 10 25 50 100 --seeds 0 1 2
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from pipelines.cli import OneLineParser, add_config_options, none_or, run_command
from pipelines.config import CONFIGS, TrainConfig
from pipelines.train import print_table, run_experiment

SWEEPABLE = {"length": int, "gain": float, "clipnorm": none_or(float), "seq_len": int, "lookback": int, "units": int}
HEADLINE = {"adding": "test_mse", "text": "val_bpc", "stock": "mase"}


def sweep(
    config: TrainConfig, over: str, values: list, seeds: list[int], *, overwrite=False, progress=None, report=None
) -> pd.DataFrame:
    """Train every cell for every value x seed; return one row per (value, seed, cell)."""
    if over not in SWEEPABLE or not hasattr(config, over):
        options = [name for name in SWEEPABLE if hasattr(config, name)]
        raise ValueError(f"Cannot sweep over {over!r} for --task {config.task}: choose one of {', '.join(options)}.")
    base = config.experiment_name()
    rows = []
    total = len(values) * len(seeds)
    for index, (value, seed) in enumerate((v, s) for v in values for s in seeds):
        label = f"{over}={value} seed={seed}"
        trial = replace(config, **{over: value}, seed=seed, name=f"{base}/{over}-{value}-seed{seed}")
        sub_report = (
            None if report is None else (lambda f, m, i=index, tag=label: report((i + f) / total, f"{tag}: {m}"))
        )
        result = run_experiment(trial, overwrite=overwrite, progress=progress, report=sub_report)
        for cell in config.cells:
            metrics = result.table.set_index("model").loc[cell].to_dict()
            rows.append({over: value, "seed": seed, "cell": cell, **metrics})
    return pd.DataFrame(rows)


def summarise(trials: pd.DataFrame, over: str, headline: str) -> pd.DataFrame:
    """Mean and spread over seeds of the headline metric, the gradient horizon and the largest gradient norm."""
    grouped = trials.groupby([over, "cell"], sort=False, dropna=False)  # clipnorm "none" is NaN: keep it
    return grouped.agg(
        **{
            f"{headline}_mean": (headline, "mean"),
            f"{headline}_std": (headline, "std"),
            "horizon_mean": ("gradient_horizon", "mean"),
            "decay_mean": ("gradient_decay", "mean"),
            "max_grad_norm": ("max_global_grad_norm", "max"),
            "seeds": ("seed", "count"),
        }
    ).reset_index()


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="python -m pipelines.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=list(CONFIGS), default="adding", help="the task to sweep (default: adding)")
    parser.add_argument("--over", required=True, choices=list(SWEEPABLE), help="the setting to vary")
    parser.add_argument("--values", nargs="+", required=True, help="its values ('none' turns clipping off)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds per value (default: 0 1 2)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing runs of the same name")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_config_options(
        parser.add_argument_group("training options (every task)"), TrainConfig, exclude=("task", "seed")
    )
    for task, config_class in CONFIGS.items():
        group = parser.add_argument_group(f"--task {task}")
        add_config_options(group, config_class, exclude=tuple(TrainConfig.__dataclass_fields__))
    return parser


def main() -> int:
    args = build_parser().parse_args()
    config_class = CONFIGS[args.task]
    given = {k: v for k, v in vars(args).items() if k not in ("task", "over", "values", "seeds", "overwrite", "quiet")}
    wrong = sorted(set(given) - set(config_class.__dataclass_fields__))
    if wrong:
        raise ValueError(f"--{wrong[0].replace('_', '-')} does not apply to --task {args.task}: see --help.")
    config = config_class(**given)
    if args.over in given:
        raise ValueError(
            f"--{args.over.replace('_', '-')} is what the sweep varies: give its values with --values only."
        )
    try:
        values = [SWEEPABLE[args.over](v) for v in args.values]
    except ValueError as exc:
        raise ValueError(
            f"--values for {args.over} must be numbers{' or none' if args.over == 'clipnorm' else ''}: got {' '.join(args.values)}."
        ) from exc
    if config.name is None:
        config = replace(config, name=f"sweep-{args.task}-{args.over}")
    if args.quiet:
        trials = sweep(config, args.over, values, args.seeds, overwrite=args.overwrite)
    else:
        from pipelines.progress import make_progress

        with make_progress() as progress:
            trials = sweep(config, args.over, values, args.seeds, overwrite=args.overwrite, progress=progress)
    headline = HEADLINE[args.task]
    table = summarise(trials, args.over, headline)
    folder = Path(config.out) / config.experiment_name()
    trials.to_csv(folder / "trials.csv", index=False)
    table.to_csv(folder / "sweep.csv", index=False)
    print_table(
        table, f"sweep over {args.over}: {args.task}, {config.epochs} epochs, seeds {' '.join(map(str, args.seeds))}"
    )
    print(f"saved: {folder}/sweep.csv, {folder}/trials.csv and one run folder per trial")
    return 0


if __name__ == "__main__":
    run_command(main)
