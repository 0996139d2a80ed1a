"""The README's pipeline commands, read from README.md and run in order as a new user would after
`make run`: each succeeds, trains into a folder of its own and leaves every earlier folder as it was.

The command text is the README's, so a README edit that makes two commands meet again fails here.
Only how big and how parallel change, to keep this under a minute: every training is shrunk underneath
(1 epoch, 4 units, T = 10, a hundred sequences, 3,000 characters) after the command has named its folder
from the README's options; `--workers N` becomes `--workers 1` (a local Ray takes a minute to start; the
trials and folders are the same, tests/test_parallel.py compares the two paths); a sweep keeps its first
value and seed, the remedies their first seed and the adding task (the copy task's are the same code
with T = 50 and a folder of their own), and each names its folder after what it kept, as the full
command does after what it was given.
"""

import hashlib
import re
import shlex
from dataclasses import fields, replace
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION, SNIPPET_SECTION = "### The pipelines", "### Loading a saved run in your own code"
# Every training of this test, whatever its command asked: the options that exist for its task.
SMALL = {
    "epochs": 1,
    "jit_compile": "off",  # compiling a step costs seconds, more than these tiny trainings
    "units": 4,
    "batch_size": 32,
    "log_every": 5,
    "probe_size": 8,
    "samples": 120,
    "length": 10,  # tracing a training step costs seconds at T = 100
    "start": "2011-01-01",  # the bundled prices end in 2013
    "lookback": 10,
    "max_chars": 3000,
    "seq_len": 10,
    "embedding_dim": 4,
}


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    assert title in text, f"README.md has no {title!r} section"
    return re.split(r"\n#{2,3} ", text.split(title, 1)[1], maxsplit=1)[0]


def readme_commands() -> list[list[str]]:
    """Each command line of the section's bash blocks, split as a shell would (comments dropped)."""
    blocks = re.findall(r"```bash\n(.*?)```", section(SECTION), re.S)
    return [words for block in blocks for line in block.splitlines() if (words := shlex.split(line, comments=True))]


def readme_snippet() -> str:
    [snippet] = re.findall(r"```python\n(.*?)```", section(SNIPPET_SECTION), re.S)
    return snippet


def tiny(argv: list[str]) -> list[str]:
    """The command as this test runs it: one worker; a sweep's first value and seed, the remedies'
    first seed on the adding task (see the module docstring)."""
    argv = [*argv]
    if "--workers" in argv:
        argv[argv.index("--workers") + 1] = "1"
    module = argv[2]
    if module == "pipelines.sweep":
        argv = keep_first(argv, "--values", 1)
        argv = keep_first(argv, "--seeds", 1) if "--seeds" in argv else [*argv, "--seeds", "0"]
    if module == "pipelines.remedies":
        argv = keep_first(argv, "--seeds", 1) if "--seeds" in argv else [*argv, "--seeds", "0"]
        argv = keep_first(argv, "--tasks", 1) if "--tasks" in argv else [*argv, "--tasks", "adding"]
    return argv


def keep_first(argv: list[str], flag: str, count: int) -> list[str]:
    start = argv.index(flag) + 1
    end = next((i for i in range(start, len(argv)) if argv[i].startswith("--")), len(argv))
    return argv[: start + count] + argv[end:]


def shrunk(config):
    """The same experiment (name, cells, task options) at a tiny budget."""
    names = {spec.name for spec in fields(config)}
    return replace(config, **{key: value for key, value in SMALL.items() if key in names})


def digests(root: Path) -> dict[Path, str]:
    return {p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def make_default_runs(out: str) -> list[str]:
    """What `make run` leaves, tiny: the default experiments under their own names with the cells the
    README reads (the LSTM of each, the GRU of text), the default sweep with one trial of one cell (its
    folder, tables and a trial: what a later command could meet)."""
    from pipelines import defaults
    from pipelines.experiment import run_experiment
    from pipelines.sweep import run_sweep

    made = []
    for config in defaults.default_configs(out):
        cells = [cell for cell in config.cells if cell == "lstm" or (cell == "gru" and config.task == "text")]
        made.append(run_experiment(replace(config, cells=cells)).path.name)  # shrunk: run_experiment is the test's
    for planned in defaults.default_sweeps(out):
        config = replace(planned.config, cells=planned.config.cells[-1:])
        run_sweep(config, planned.over, planned.values[:1], planned.seeds[:1])
        made.append(config.experiment_name())
    return made


def command_main(module: str):
    from pipelines import predict, remedies, sweep, train

    mains = {"pipelines.train": train, "pipelines.sweep": sweep, "pipelines.remedies": remedies}
    mains["pipelines.predict"] = predict
    assert module in mains, f"the README runs {module}, which this test does not know: add it here"
    return mains[module].main


@pytest.fixture
def tiny_trainings(monkeypatch):
    import pipelines.experiment

    whole = pipelines.experiment.run_experiment
    monkeypatch.setattr(
        pipelines.experiment, "run_experiment", lambda config, **kwargs: whole(shrunk(config), **kwargs)
    )


def test_the_readme_finds_its_commands():
    """The extraction itself: a README reorganised beyond recognition must not pass by running nothing."""
    commands = readme_commands()
    assert len(commands) >= 4 and all(words[:2] == ["python", "-m"] for words in commands), commands
    assert {"pipelines.train", "pipelines.sweep", "pipelines.remedies", "pipelines.predict"} <= {
        words[2] for words in commands
    }
    assert "load_run(" in readme_snippet()


def test_readme_commands_run_in_order_after_the_default_runs(tmp_path, monkeypatch, capsys, tiny_trainings):
    monkeypatch.chdir(tmp_path)  # the README's commands write to and read from runs/
    runs = tmp_path / "runs"
    defaults = make_default_runs("runs")
    assert {"stock-AAPL", "text-shakespeare", "adding-by-length"} <= set(defaults)  # what the dashboard reads
    capsys.readouterr()
    landed = {}
    for words in readme_commands():
        argv = tiny(words)
        before = digests(runs)
        folders = {p.name for p in runs.iterdir()}
        status = command_main(argv[2])(argv[3:])
        said = capsys.readouterr()
        shown = " ".join(words)
        assert status == 0, f"{shown} exited with {status}: {said.err or said.out[-2000:]}"
        after = digests(runs)
        changed = [path for path, digest in before.items() if after.get(path) != digest]
        assert not changed, f"{shown} changed or removed {changed[:5]}"
        new = {path.parts[0] for path in set(after) - set(before)}
        assert new.isdisjoint(folders), f"{shown} wrote into the existing folder(s) {sorted(new & folders)}"
        if argv[2] != "pipelines.predict":  # a training: its own new folder(s)
            assert new, f"{shown} trained into no new folder"
        landed[shown] = sorted(new)
    assert len({tuple(f) for f in landed.values() if f}) == len([f for f in landed.values() if f])
    print("\n".join(f"{command} -> {', '.join(folders) or '(reads only)'}" for command, folders in landed.items()))

    before = digests(runs)
    exec(compile(readme_snippet(), "README.md (Loading a saved run)", "exec"), {})
    assert digests(runs) == before


def printed_defaults(parser) -> dict[str, tuple[object, str]]:
    """Each option's (default, text after "default:" in its --help), for options with both."""
    import argparse

    found = {}
    for action in parser._actions:
        match = re.search(r"\(default: (.*)\)", (action.help or "").replace("%%", "%"))
        if match and action.default not in (None, argparse.SUPPRESS) and action.option_strings:
            found[action.option_strings[-1]] = (action.default, match.group(1))
    return found


def test_each_command_prints_the_defaults_it_uses():
    """A default written by hand into a help text (remedies' --epochs, sweep's --seeds) is the one the
    command uses; words such as 'both' stand for a value named in full here."""
    from pipelines import defaults, predict, remedies, sweep, train

    words = {"both": ["adding", "copy"]}
    for module in (train, sweep, remedies, defaults, predict):
        for option, (default, printed) in printed_defaults(module.build_parser()).items():
            value = re.split(r"[,;] ", printed)[0]
            shown = " ".join(map(str, default)) if isinstance(default, list) else str(default)
            assert words.get(value, value) in (shown, default), f"{module.__name__} {option}: help says {printed!r}"


def claim(path: str, pattern: str) -> tuple[str, ...]:
    """The values a sentence of README.md or docs/ states, found by `pattern` (it must still be there)."""
    text = (README.parent / path).read_text(encoding="utf-8")
    match = re.search(pattern, text)
    assert match, f"{path} no longer says {pattern!r}: update this test with the sentence that replaced it"
    return match.groups()


def help_default(module, option: str) -> str:
    """What `module`'s --help prints as the default of `option` (up to a comma or semicolon)."""
    action = next(a for a in module.build_parser()._actions if option in a.option_strings)
    return re.search(r"\(default: ([^),;]*)", action.help.replace("%%", "%")).group(1)


def test_readme_and_docs_state_the_defaults_the_commands_print():
    """Every sentence of README.md and docs/ that gives a command's default, against what --help prints
    (and a name the README says a run is saved as, against the name the command gives it)."""
    from pipelines import defaults, remedies, sweep, train
    from pipelines.tasks.stock import StockConfig

    (jit,) = claim("docs/pipelines.md", r"`--jit-compile (\w+)` \(the default of train, sweep, remedies and defaults")
    for module in (train, sweep, remedies, defaults):
        assert help_default(module, "--jit-compile") == jit, module.__name__
    (gate,) = claim("docs/results.md", r"`--gate-init (\w+)` \(the default of `train`\)")
    assert help_default(train, "--gate-init") == gate
    for path in ("README.md", "docs/pipelines.md"):
        adding, copy, seeds = claim(
            path, r"pipelines\.remedies[^\n#]*# every remedy, adding T = (\d+) and copy T = (\d+), (\d+) seeds"
        )
        assert remedies.LENGTHS == {"adding": int(adding), "copy": int(copy)}
        assert help_default(remedies, "--tasks") == "both"
        assert len(help_default(remedies, "--seeds").split()) == int(seeds)
    source, folder = claim("docs/pipelines.md", r"--source (\S+) +# saved as runs/(\S+) ")
    assert StockConfig(source=source).descriptive_name() == folder
