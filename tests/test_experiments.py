"""DVC experiments: `dvc exp run -S` values, which stages rerun, and the `dvc exp show` columns."""

import json
import shutil

import pytest
from ruamel.yaml import YAML

from conftest import load_params_file, run_in, write_params_file
from review_lstm.params import load_section

# The column filter that the README gives for `dvc exp show`.
KEY_COLUMNS = r"Experiment|lstm\.(macro_f1|accuracy|mae)$|baseline\.macro_f1$|best_epoch|train\.(lr|hidden_size|epochs)$"


@pytest.fixture(scope="module")
def tiny_lr_experiment(reproduced_tiny_project, tmp_path_factory):
    """The tiny project after `dvc exp run -S train.lr=1e-6`, with the run's output."""
    project = tmp_path_factory.mktemp("experiments") / "project"
    shutil.copytree(reproduced_tiny_project, project, symlinks=True)
    result = run_in(project, "dvc", "exp", "run", "-S", "train.lr=1e-6", "--name", "tiny-lr")
    return project, result.stdout + result.stderr


@pytest.fixture
def reproduced_copy(reproduced_tiny_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(reproduced_tiny_project, project, symlinks=True)
    return project


def stages_to_rerun(project) -> set[str]:
    """Stages that `dvc status` reports as changed, before any of them reruns."""
    return set(json.loads(run_in(project, "dvc", "status", "--json").stdout))


def set_param(project, section: str, key: str, value) -> None:
    params = load_params_file(project / "params.yaml")
    params[section][key] = value
    write_params_file(project / "params.yaml", params)


def test_lr_experiment_skips_prepare_and_featurize(tiny_lr_experiment):
    _, output = tiny_lr_experiment

    assert "Stage 'prepare' didn't change, skipping" in output
    assert "Stage 'featurize' didn't change, skipping" in output
    assert "Running stage 'train'" in output
    assert "Running stage 'evaluate'" in output


def test_lr_written_by_dvc_is_float(tiny_lr_experiment):
    project, _ = tiny_lr_experiment
    locked = YAML(typ="safe", pure=True).load((project / "dvc.lock").read_text(encoding="utf-8"))
    locked_lr = locked["stages"]["train"]["params"]["params.yaml"]["train"]["lr"]

    assert load_section("train", project / "params.yaml").lr == pytest.approx(1e-6)
    assert isinstance(load_params_file(project / "params.yaml")["train"]["lr"], float)
    assert isinstance(locked_lr, float)


def test_exp_show_key_columns(tiny_lr_experiment):
    project, _ = tiny_lr_experiment
    table = run_in(project, "dvc", "exp", "show", "--md", "--drop", ".*", "--keep", KEY_COLUMNS).stdout
    header = [cell.strip() for cell in table.splitlines()[0].strip("|").split("|")]
    experiment_row = next(line for line in table.splitlines() if "tiny-lr" in line)

    assert {"lstm.macro_f1", "baseline.macro_f1", "best_epoch", "train.lr", "train.hidden_size"} <= set(header)
    assert not [column for column in header if "per_score" in column or "_ci_" in column]
    assert "1e-06" in experiment_row


@pytest.mark.parametrize(("section", "key", "value", "expected"), [
    ("train", "lr", 0.01, {"train"}),
    ("train", "hidden_size", 32, {"train"}),
    ("evaluate", "bootstrap_samples", 30, {"evaluate"}),
    ("featurize", "min_frequency", 1, {"featurize"}),
    ("prepare", "seed", 7, {"prepare"}),
])
def test_param_change_touches_own_stage(reproduced_copy, section, key, value, expected):
    assert stages_to_rerun(reproduced_copy) == set()

    set_param(reproduced_copy, section, key, value)

    assert stages_to_rerun(reproduced_copy) == expected

