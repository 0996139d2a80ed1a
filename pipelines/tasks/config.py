"""What a task's options are: the training options every task shares, the helpers a task's own
options validate themselves with, and rebuilding options saved in run.json.

Each field's `help` is also the --help text of the command-line option of the same name.
"""

from __future__ import annotations

import math
import re
import types
import typing
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, replace
from typing import Any, ClassVar

from data import ConfigError, LabError
from models.cells import CELL_TABLE, CELLS, GATE_INITS, INITS, RESERVOIR_CELLS
from models.distribution import DISTRIBUTIONS
from models.execution import JIT_COMPILE
from models.experiment_store import MAX_NAME, ExperimentRequest, check_name
from models.run_checks import MAX_PARAMS, RECURRENT_BLOCKS

# Upper bounds of the whole-number options: generous for real use, and a typo such as 10^20 epochs or
# 100,000 layers is refused with a sentence instead of running until it is killed. Floats need only be
# finite (a huge learning rate diverges at once, which is a result).
SEED_MAX = 2**32 - 1  # what NumPy's and TensorFlow's seeding accept
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 100_000
MAX_UNITS = 2048  # and the model no larger than a saved run may be (MAX_PARAMS)
MAX_LAYERS = 64
MAX_LOG_EVERY = 1_000_000
MAX_PROBE_SIZE = 10_000
MAX_STEPS = 10_000  # sequence length, window, lookback, truncation: time steps of one input
# Options that say how or where to train, not what: never part of a run's name.
RUN_ONLY = ("cells", "name", "out", "tensorboard", "jit_compile")
SHORT_LABELS = {"learning_rate": "lr", "batch_size": "batch", "max_chars": "chars", "seq_len": "seq"}


def option(default, help: str, **metadata):
    """A config field that documents the command-line option of the same name."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, **metadata})
    return field(default=default, metadata={"help": help, **metadata})


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass
class TrainConfig:
    """The training budget and model shared by every task; identical for every cell of an experiment."""

    task: ClassVar[str] = ""
    cells: list[str] = option(["simple_rnn", "lstm"], "cells trained side by side: " + " ".join(CELLS), choices=CELLS)
    epochs: int = option(10, "training epochs, identical for every cell")
    batch_size: int = option(64, "windows per training batch")
    units: int = option(32, "units per recurrent layer", sweep=True)
    layers: int = option(1, "stacked recurrent layers")
    learning_rate: float = option(1e-3, "Adam learning rate", sweep=True)
    clipnorm: float | None = option(None, "clip each gradient to this norm ('none' for off)", sweep=True)
    gain: float = option(1.0, "orthogonal recurrent-initializer gain: <1 vanishing, >1 exploding", sweep=True)
    init: str = option(
        "orthogonal",
        "recurrent weights: orthogonal (x --gain), irnn (identity x --gain with ReLU; SimpleRNN only) or glorot",
        choices=INITS,
        sweep=True,
    )
    forget_bias: float = option(
        1.0,
        "initial forget-gate bias of LSTM layers: sigmoid(b) of the cell state is kept each step at first "
        "(1: Keras' unit_forget_bias; larger holds memory longer from the start)",
        sweep=True,
    )
    gate_init: str = option(
        "constant",
        "LSTM gate biases: constant (--forget-bias) or chrono (Tallec & Ollivier 2018: each unit's forget bias "
        "log U(1, T-1), its input bias the negative, T the sequence length)",
        choices=GATE_INITS,
        sweep=True,
    )
    tbptt: int | None = option(
        None, "truncated back-propagation through time: the gradient stops every K steps ('none': off)", sweep=True
    )
    penalty: float = option(
        0.0, "weight of Pascanu et al.'s gradient-norm penalty on SimpleRNN layers (0: off)", sweep=True
    )
    spectral_radius: float = option(0.95, "esn: the reservoir's largest absolute eigenvalue", sweep=True)
    leak_rate: float = option(1.0, "esn: the share of the new state mixed in at each step (1: no leak)")
    ridge: float = option(1e-3, "esn: L2 penalty of the readout's ridge regression")
    dropout: float = option(0.0, "input dropout of each recurrent layer")
    distribute: str = option(
        "none",
        "train each cell with tf.distribute: mirrored (every GPU here, else every CPU device; one batch split "
        "between them) or none",
        choices=DISTRIBUTIONS,
    )
    jit_compile: str = option(
        "auto",
        "compile each training step with XLA: auto (where bench/bench_compiled.py measured it faster for the "
        "cell, sequence length, batch, budget and device), on, or off (op by op)",
        choices=JIT_COMPILE,
    )
    seed: int = option(0, "seed for weights, data order and generated data")
    log_every: int = option(100, "GradientLogger cadence in training batches (0: epoch ends only)")
    probe_size: int = option(64, "validation windows in the gradient probe batch")
    name: str | None = option(
        None,
        "experiment folder name (default: the task and every option given a value other than its default, "
        "e.g. adding-T100-units64; numbered -2, -3, ... when that folder is taken)",
    )
    out: str = option("runs", "folder that holds the experiments")
    tensorboard: str | None = option(
        None,
        "also write each cell's gradient log for TensorBoard under DIR/<experiment>/<cell> (tensorboard --logdir DIR)",
    )

    def __post_init__(self):
        unknown = [cell for cell in self.cells if cell not in CELLS]
        require(
            bool(self.cells) and not unknown,
            f"Unknown cell {', '.join(unknown) or '(none given)'}: choose from {', '.join(CELLS)}.",
        )
        require(
            len(set(self.cells)) == len(self.cells),
            f"--cells names a cell twice ({' '.join(self.cells)}): name each once.",
        )
        for name in ("epochs", "batch_size", "units", "layers", "probe_size"):
            at_least(self, name, 1)
        at_least(self, "log_every", 0)
        check_seed(self.seed)
        at_most(self, "epochs", MAX_EPOCHS)
        at_most(self, "batch_size", MAX_BATCH_SIZE)
        at_most(self, "units", MAX_UNITS, "a larger layer would need more memory and time than one training can give")
        at_most(self, "layers", MAX_LAYERS)
        at_most(self, "log_every", MAX_LOG_EVERY, "0 records at epoch ends only")
        at_most(self, "probe_size", MAX_PROBE_SIZE)
        self.check_model_size()
        require(
            0 < self.learning_rate < math.inf, f"--learning-rate must be a positive number (got {self.learning_rate})."
        )
        require(
            self.clipnorm is None or 0 < self.clipnorm < math.inf,
            f"--clipnorm must be a positive number or none (got {self.clipnorm}).",
        )
        require(0 < self.gain < math.inf, f"--gain must be a positive number (got {self.gain}).")
        require(
            math.isfinite(self.forget_bias) and abs(self.forget_bias) <= 30,
            f"--forget-bias must be a number between -30 and 30 (got {self.forget_bias}).",
        )
        require(self.init in INITS, f"Unknown --init {self.init!r}: choose one of {', '.join(INITS)}.")
        require(
            self.gate_init in GATE_INITS,
            f"Unknown --gate-init {self.gate_init!r}: choose one of {', '.join(GATE_INITS)}.",
        )
        require(
            self.init != "irnn" or self.cells == ["simple_rnn"],
            "--init irnn (identity recurrent weights with ReLU, Le et al. 2015) is a SimpleRNN initialisation: "
            "add --cells simple_rnn.",
        )
        require(
            self.jit_compile in JIT_COMPILE,
            f"Unknown --jit-compile {self.jit_compile!r}: choose one of {', '.join(JIT_COMPILE)}.",
        )
        require(0 <= self.dropout < 1, f"--dropout must be at least 0 and below 1 (got {self.dropout}).")
        self.check_remedies()
        if self.name is not None:
            check_name(self.name)
        require(bool(str(self.out).strip()) and "\0" not in str(self.out), f"--out {self.out!r} is not a folder path.")
        require(
            self.tensorboard is None or (bool(self.tensorboard.strip()) and "\0" not in self.tensorboard),
            f"--tensorboard {self.tensorboard!r} is not a folder path.",
        )

    def check_model_size(self) -> None:
        """Refuse a model larger than a saved run may be (models/run_checks.py refuses to load one of more
        than MAX_PARAMS weights): counted as the fewest weights any model of these options has (an input
        of one feature, one output), so a model that could be loaded is never refused."""
        least, cell = max((self.least_weights(cell), cell) for cell in self.cells)
        require(
            least <= MAX_PARAMS,
            f"--units {self.units} with --layers {self.layers} give the {cell} model at least {least:,} weights, more "
            f"than the {MAX_PARAMS:,} a saved run may have (an LSTM of about 1,000 units): lower --units or --layers.",
        )

    def least_weights(self, cell: str) -> int:
        """Kernels, recurrent kernels and a bias per block in every layer, then a head of one output."""
        blocks = RECURRENT_BLOCKS[CELL_TABLE[cell].layer] * self.units
        first, each_further = blocks * (1 + self.units + 1), blocks * (2 * self.units + 1)
        return first + (self.layers - 1) * each_further + self.units + 1

    def check_remedies(self) -> None:
        """The options of the remedies that need a particular cell or training, refused where they do not apply."""
        require(self.tbptt is None or self.tbptt >= 1, f"--tbptt must be at least 1 or none (got {self.tbptt}).")
        if self.tbptt is not None:
            at_most(self, "tbptt", MAX_STEPS, "none turns truncation off")
        require(0 <= self.penalty < math.inf, f"--penalty must be 0 or a positive number (got {self.penalty}).")
        require(
            not self.penalty or self.cells == ["simple_rnn"],
            "--penalty (Pascanu et al. 2013) is a loss term on a SimpleRNN's gradient: add --cells simple_rnn.",
        )
        custom = self.tbptt is not None or self.penalty > 0
        require(
            not custom or self.dropout == 0,
            "--tbptt and --penalty train without dropout: set --dropout 0.",
        )
        reservoir = [cell for cell in self.cells if cell in RESERVOIR_CELLS]
        require(
            self.distribute == "none" or not (custom or reservoir),
            f"--distribute {self.distribute} trains with model.fit: drop --tbptt, --penalty and the esn cell.",
        )
        require(
            not reservoir or not custom,
            "The esn's readout is fitted by ridge regression, not by back-propagation: train it without --tbptt and --penalty.",
        )
        require(not reservoir or self.layers == 1, "An esn has one reservoir: set --layers 1.")
        require(
            0 < self.spectral_radius < math.inf,
            f"--spectral-radius must be a positive number (got {self.spectral_radius}).",
        )
        require(0 < self.leak_rate <= 1, f"--leak-rate must be above 0 and at most 1 (got {self.leak_rate}).")
        require(0 <= self.ridge < math.inf, f"--ridge must be 0 or a positive number (got {self.ridge}).")

    def experiment_name(self) -> str:
        return self.name or self.default_name()

    def default_name(self) -> str:
        """The task's own name for a run of it (adding-T100, stock-AAPL): what a config given no name
        trains into, as the default runs do."""
        return self.task

    def descriptive_name(self, limit: int = MAX_NAME) -> str:
        """default_name() followed by every option that differs from its default, the task's own first
        (adding-T100-samples20000-units64-clipnorm1): what the commands name a run not given --name, so
        runs of other options never share a folder. Options already in default_name() (adding's length,
        stock's ticker) are not repeated; at most `limit` characters, cut between options."""
        identity = self.default_name()
        tags = [option_tag(self, spec) for spec in self.changed_options() if not self.names_itself(spec, identity)]
        return joined_name(identity, tags, limit)

    def changed_options(self) -> list[Field]:
        """The fields that say what is trained and differ from their defaults, the task's own first. A
        value a default turns into (stock's ticker None becomes AAPL) counts as the default."""
        shared = {spec.name for spec in fields(TrainConfig)}
        specs = [s for s in fields(self) if s.name not in RUN_ONLY]
        ordered = [s for s in specs if s.name not in shared] + [s for s in specs if s.name in shared]
        return [spec for spec in ordered if getattr(self, spec.name) != self.reset(spec).get(spec.name)]

    def reset(self, spec: Field) -> dict:
        """This config's values with `spec` set back to its default ({} if that combination is refused)."""
        try:
            return asdict(replace(self, **{spec.name: field_default(spec)}))
        except LabError:
            return {}

    def names_itself(self, spec: Field, identity: str) -> bool:
        """Whether the option is already part of default_name(): setting it back changes that name."""
        try:
            return replace(self, **{spec.name: field_default(spec)}).default_name() != identity
        except LabError:
            return False

    def to_dict(self) -> dict:
        return {"task": self.task, **asdict(self)}

    def request(self, *, overwrite: bool = False, resume: bool = False) -> ExperimentRequest:
        """The store's request to train these cells into this experiment (what may be trained is the
        store's call); with every option's default, to compare with experiments saved before it existed."""
        defaults = {spec.name: spec.default for spec in fields(self) if spec.default is not MISSING}
        return ExperimentRequest(
            self.out,
            self.experiment_name(),
            tuple(self.cells),
            self.to_dict(),
            defaults,
            overwrite=overwrite,
            resume=resume,
        )


def field_default(spec: Field):
    return spec.default_factory() if spec.default_factory is not MISSING else spec.default


def option_tag(config, spec: Field) -> str:
    """One option in a run's name: a choice by its value alone (irnn, chrono, mirrored), a number glued
    to its short label (units64, lr0.003, clipnorm1, tbptt20), other text after it (source-yfinance)."""
    value = getattr(config, spec.name)
    if "choices" in spec.metadata and isinstance(value, str):
        return name_part(value)
    label = SHORT_LABELS.get(spec.name, spec.name.replace("_", ""))
    return label + ("-" if isinstance(value, str) else "") + name_part(value)


def name_part(value) -> str:
    """A value as a folder name may hold it: numbers in their shortest exact form (1.0 is 1, 3e-3 is 0.003)."""
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return "-".join(name_part(v) for v in value)
    if isinstance(value, (int, float)):
        return repr(value).removesuffix(".0")  # digits, '.', '-', 'e' and '+': all a folder name may hold
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", str(value)).strip(".-_=+") or "x"


def joined_name(head: str, tags: list[str], limit: int = MAX_NAME) -> str:
    """`head`-tag-tag..., as many tags as fit in `limit` characters (two runs cut to the same name still
    get folders of their own: the commands number a name already taken)."""
    name = head[:limit]
    for tag in tags:
        if len(name) + 1 + len(tag) > limit:
            break
        name += "-" + tag
    return name


def at_least(config, name: str, low: int) -> None:
    value = getattr(config, name)
    require(value >= low, f"--{name.replace('_', '-')} must be at least {low} (got {value}).")


def at_most(config, name: str, high: int, why: str = "") -> None:
    """Refuse a value above `high` with a sentence naming the bound (and why, if it is not obvious)."""
    value = getattr(config, name)
    reason = f": {why}" if why else ""
    require(value <= high, f"--{name.replace('_', '-')} must be at most {high:,} (got {value}){reason}.")


def check_seed(seed: int, option: str = "--seed") -> None:
    """The one seed check of train, sweep --seeds, predict and remedies: 0 to 2^32 - 1, the seeds NumPy
    and TensorFlow take (a larger one failed inside NumPy after the run folder was created)."""
    require(seed >= 0, f"{option} must be at least 0 (got {seed}).")
    require(
        seed <= SEED_MAX, f"{option} must be at most {SEED_MAX} = 2^32 - 1, the largest seed NumPy takes (got {seed})."
    )


def plain_name(prefix: str, text: str, fallback: str) -> str:
    """An experiment name `prefix` + `text` (a file's name, a ticker), every run of characters a folder name
    may not hold made '-' and cut to the longest name allowed: a corpus "my corpus.txt" trains into
    text-my-corpus, where "text-my corpus" would be refused."""
    part = re.sub(r"[^A-Za-z0-9._=+-]+", "-", text).strip(".-_=+")
    return prefix + (part[: MAX_NAME - len(prefix)].rstrip(".-_=+") or fallback)


def config_from_dict(config_class: type[TrainConfig], values: dict) -> TrainConfig:
    """Rebuild a config saved in run.json; keys it does not know are an error, never ignored."""
    known = {spec.name for spec in fields(config_class)}
    unknown = sorted(set(values) - known - {"task"})
    require(
        not unknown, f"The config has unknown field(s) {', '.join(unknown)} for task {config_class.task}: remove them."
    )
    values = values_without(values, "task")
    hints = typing.get_type_hints(config_class)
    for key, value in values.items():
        if not fits_type(value, hints[key]):
            raise ConfigError(
                f"The config's {key!r} is {shown(value)}, which is not {type_name(hints[key])}: correct or remove it."
            )
    return config_class(**values)


def shown(value, limit: int = 60) -> str:
    """A value from a config file as a sentence may quote it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fits_type(value, hint) -> bool:
    """Whether a JSON value has a config field's type (an int is a float too; a bool is neither)."""
    if isinstance(hint, types.UnionType):
        return any(fits_type(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if typing.get_origin(hint) is list:
        return isinstance(value, list) and all(fits_type(v, typing.get_args(hint)[0]) for v in value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def type_name(hint) -> str:
    if isinstance(hint, types.UnionType):
        return " or ".join(type_name(arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is list:
        return f"a list of {type_name(typing.get_args(hint)[0])}s"
    names = {int: "a whole number", float: "a number", str: "a string", type(None): "null"}
    return names.get(hint, hint.__name__)


def values_without(values: dict, *names: str) -> dict[str, Any]:
    return {key: value for key, value in values.items() if key not in names}


@dataclass
class PredictOptions:
    """Options of `pipelines.predict` shared by every task; each task extends them (its own
    __post_init__ calls this one)."""

    seed: int = option(0, "seed for sampling text or for generating fresh sequences")

    def __post_init__(self):
        check_seed(self.seed)
