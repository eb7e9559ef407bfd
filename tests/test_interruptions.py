"""Interrupted stages: atomic outputs, resume checkpoints, and Ctrl-C, SIGTERM and SIGKILL on `train`."""

import dataclasses
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import (REPO_ROOT, copy_project, load_params_file, run_in, tiny_review_rows, write_params_file,
                      write_reviews_csv)

from review_lstm.checkpoints import ResumeCheckpoint, fingerprint, resume_checkpoint
from review_lstm.encoded import EncodedSplit, EncodedSplitWriter
from review_lstm.files import TEMPORARY_SUFFIX, atomic_directory, atomic_open, atomic_path, write_json
from review_lstm.params import DataParams, PrepareParams, TrainParams, parse_section
from review_lstm.prepare import prepare
from review_lstm.training import train

VOCAB_SIZE = 30
# The project's train settings with a tiny model and no early stopping.
TRAIN: TrainParams = parse_section("train", {
    **load_params_file(REPO_ROOT / "params.yaml")["train"],
    "seed": 3, "epochs": 4, "batch_size": 8, "lr": 0.02, "max_tokens": 10, "embedding_dim": 8, "hidden_size": 6,
    "dropout": 0.3, "early_stopping_patience": 0, "num_threads": 0, "processes": 1, "device": "cpu",
    "resume": True,
})
CPU = torch.device("cpu")


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Train on one thread: on a busy shared machine, tiny models train many times slower on several."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def labelled_split(reviews: int, seed: int) -> EncodedSplit:
    """Reviews whose token ids depend on their label, with 1 to 12 tokens each."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, size=reviews)
    encoded = [(3 + label * 5 + rng.integers(0, 5, size=rng.integers(1, 13))).tolist() for label in labels]
    writer = EncodedSplitWriter()
    writer.add(encoded, labels.tolist(), list(range(2, reviews + 2)))
    return writer.finish()


TRAIN_SPLIT = labelled_split(48, seed=0)
VALIDATION_SPLIT = labelled_split(20, seed=1)


class RecordingLive:
    """A stand-in for dvclive's Live that records steps and raises KeyboardInterrupt at one step."""

    def __init__(self, interrupt_at_step: int | None = None):
        self.interrupt_at_step = interrupt_at_step
        self.step = None
        self.summarised_steps = []

    def log_metric(self, name, value):
        if self.step == self.interrupt_at_step:
            raise KeyboardInterrupt

    def make_summary(self):
        self.summarised_steps.append(self.step)


def run_training(params: TrainParams, checkpoint: ResumeCheckpoint | None, live=None):
    return train(params, TRAIN_SPLIT, VALIDATION_SPLIT, VOCAB_SIZE, CPU, live or RecordingLive(), resume=checkpoint)


def assert_same_run(first, second) -> None:
    assert [dataclasses.asdict(record) for record in first.history] == \
        [dataclasses.asdict(record) for record in second.history]
    assert first.best_epoch == second.best_epoch
    for name, tensor in first.model.state_dict().items():
        assert torch.equal(tensor, second.model.state_dict()[name]), name


# --- Atomic writes ---------------------------------------------------------------------------------------------


def write_text_then_fail(path: Path) -> None:
    with atomic_open(path) as stream:
        stream.write("half of the new content")
        raise KeyboardInterrupt


def write_json_with_nan(path: Path) -> None:
    write_json(path, {"accuracy": 0.5, "macro_f1": float("nan")})


def save_tensor_then_fail(path: Path) -> None:
    with atomic_path(path) as temporary:
        torch.save({"weights": torch.ones(3)}, temporary)
        raise KeyboardInterrupt


def write_folder_then_fail(path: Path) -> None:
    with atomic_directory(path) as temporary:
        (temporary / "token_ids.npy").write_bytes(b"new")
        raise KeyboardInterrupt


FAILING_WRITERS = [
    pytest.param(write_text_then_fail, KeyboardInterrupt, "", id="atomic_open"),
    pytest.param(write_json_with_nan, ValueError, "", id="write_json NaN"),
    pytest.param(save_tensor_then_fail, KeyboardInterrupt, "", id="atomic_path torch.save"),
    pytest.param(write_folder_then_fail, KeyboardInterrupt, "token_ids.npy", id="atomic_directory"),
]


@pytest.mark.parametrize("writer, error, file_in_folder", FAILING_WRITERS)
def test_interrupted_write_keeps_old_output(tmp_path, writer, error, file_in_folder):
    target = tmp_path / "out" / "output"
    old_file = target / file_in_folder if file_in_folder else target
    old_file.parent.mkdir(parents=True)
    old_file.write_bytes(b"old")

    with pytest.raises(error):
        writer(target)

    assert old_file.read_bytes() == b"old"
    assert sorted(path.name for path in target.parent.iterdir()) == ["output"]


def save_tensor(path: Path) -> None:
    with atomic_path(path) as temporary:
        torch.save({"weights": torch.ones(2)}, temporary)


SUCCESSFUL_WRITERS = [
    pytest.param(lambda path: write_json(path, {"a": 1}), id="write_json"),
    pytest.param(save_tensor, id="atomic_path torch.save"),
]


@pytest.mark.parametrize("write", SUCCESSFUL_WRITERS)
def test_atomic_write_uses_umask_permissions(tmp_path, write):
    target = tmp_path / "output"
    write(target)
    umask = os.umask(0)
    os.umask(umask)

    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert not list(tmp_path.glob(f"*{TEMPORARY_SUFFIX}"))


def test_atomic_directory_replaces_whole_folder(tmp_path):
    target = tmp_path / "train"
    target.mkdir()
    (target / "old_only.npy").write_bytes(b"old")

    with atomic_directory(target) as temporary:
        (temporary / "token_ids.npy").write_bytes(b"new")

    assert sorted(path.name for path in target.iterdir()) == ["token_ids.npy"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["train"]


def test_interrupted_prepare_keeps_previous_splits(tmp_path, monkeypatch):
    raw = write_reviews_csv(tmp_path / "reviews.csv", tiny_review_rows())
    data = DataParams(raw=str(raw), text_column="content", label_column="score")
    settings = PrepareParams(seed=1, validation_fraction=0.2, test_fraction=0.2)
    output_dir, report = tmp_path / "prepared", tmp_path / "prepare.json"
    prepare(data, settings, output_dir, report)
    before = {path.name: path.read_bytes() for path in [*output_dir.iterdir(), report]}

    from review_lstm import prepare as prepare_module

    def write_half_then_interrupt(kept_path, assignment, directory):
        with atomic_open(directory / "train.csv") as stream:
            stream.write("row,score,text\n")
            raise KeyboardInterrupt

    monkeypatch.setattr(prepare_module, "_write_splits", write_half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        prepare(data, dataclasses.replace(settings, seed=2), output_dir, report)

    after = {path.name: path.read_bytes() for path in [*output_dir.iterdir(), report]}
    assert after == before


# --- Resume checkpoints in the training loop -------------------------------------------------------------------


RESUME_CASES = [
    pytest.param({}, 1, id="class weights, stopped after epoch 1"),
    pytest.param({}, 3, id="class weights, stopped after epoch 3"),
    pytest.param({"imbalance": "oversample"}, 2, id="oversampling, stopped after epoch 2"),
    pytest.param({"early_stopping_patience": 2, "epochs": 5}, 2, id="early stopping on"),
]


@pytest.mark.parametrize("changes, finished_epochs", RESUME_CASES)
def test_resumed_training_matches_uninterrupted(tmp_path, changes, finished_epochs):
    params = dataclasses.replace(TRAIN, **changes)
    uninterrupted = run_training(params, checkpoint=None)
    checkpoint = ResumeCheckpoint(tmp_path / "train.pt", "same run")

    with pytest.raises(KeyboardInterrupt):
        run_training(params, checkpoint, RecordingLive(interrupt_at_step=finished_epochs + 1))
    live = RecordingLive()
    resumed = run_training(params, checkpoint, live)

    assert_same_run(resumed, uninterrupted)
    assert live.summarised_steps == list(range(1, len(uninterrupted.history) + 1))


def test_finished_early_stop_is_not_continued(tmp_path):
    # With a learning rate this small, validation macro-F1 never improves after epoch 1.
    params = dataclasses.replace(TRAIN, lr=1e-9, epochs=6, early_stopping_patience=1)
    checkpoint = ResumeCheckpoint(tmp_path / "train.pt", "same run")
    finished = run_training(params, checkpoint)
    assert len(finished.history) < params.epochs

    # A kill after the last epoch's checkpoint but before the model file: the next run trains no more epochs.
    again = run_training(params, checkpoint)

    assert_same_run(again, finished)


def corrupt_by_truncation(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def corrupt_by_emptying(path: Path) -> None:
    path.write_bytes(b"")


def corrupt_with_text(path: Path) -> None:
    path.write_text(json.dumps({"epoch": 2}))


def save_other_fingerprint(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "fingerprint": "another run"}, path)


def save_other_version(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "version": 0}, path)


def save_other_model_shape(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    payload["model"] = {name: torch.zeros(3) for name in payload["model"]}
    torch.save(payload, path)


def save_broken_random_state(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    payload["random_states"]["numpy_generator"] = {"bit_generator": "unknown"}
    torch.save(payload, path)


UNUSABLE_CHECKPOINTS = [
    pytest.param(corrupt_by_truncation, "unreadable resume checkpoint", id="half-written file"),
    pytest.param(corrupt_by_emptying, "unreadable resume checkpoint", id="empty file"),
    pytest.param(corrupt_with_text, "unreadable resume checkpoint", id="not a torch file"),
    pytest.param(save_other_fingerprint, "other train params, features or code", id="other fingerprint"),
    pytest.param(save_other_version, "not a resume checkpoint of this version", id="other version"),
    pytest.param(save_other_model_shape, "cannot restore the resume checkpoint", id="other model shape"),
    pytest.param(save_broken_random_state, "cannot restore the resume checkpoint", id="broken random state"),
]


@pytest.mark.parametrize("spoil, message", UNUSABLE_CHECKPOINTS)
def test_unusable_checkpoint_starts_from_epoch_one(tmp_path, caplog, spoil, message):
    uninterrupted = run_training(TRAIN, checkpoint=None)
    checkpoint = ResumeCheckpoint(tmp_path / "train.pt", "same run")
    with pytest.raises(KeyboardInterrupt):
        run_training(TRAIN, checkpoint, RecordingLive(interrupt_at_step=3))
    spoil(checkpoint.path)

    with caplog.at_level(logging.INFO, logger="review_lstm.checkpoints"):
        restarted = run_training(TRAIN, checkpoint)

    assert message in caplog.text
    assert_same_run(restarted, uninterrupted)


def test_stale_temporary_checkpoint_is_removed(tmp_path):
    checkpoint = ResumeCheckpoint(tmp_path / "train.pt", "same run")
    stale = tmp_path / f".train.pt.killed{TEMPORARY_SUFFIX}"
    stale.write_bytes(b"half")

    run_training(dataclasses.replace(TRAIN, epochs=1), checkpoint)

    assert not stale.exists()
    assert checkpoint.path.is_file()


def write_features(folder: Path) -> None:
    TRAIN_SPLIT.save(folder / "train")
    (folder / "vocab.json").write_text('{"tokens": []}')


FINGERPRINT_CHANGES = [
    pytest.param(lambda params, folder: (dataclasses.replace(params, lr=0.5), folder), True, id="learning rate"),
    pytest.param(lambda params, folder: (dataclasses.replace(params, epochs=9), folder), True, id="epochs"),
    pytest.param(lambda params, folder: (dataclasses.replace(params, resume=False), folder), False, id="resume only"),
    pytest.param(lambda params, folder: (params, folder), False, id="nothing"),
]


@pytest.mark.parametrize("change, differs", FINGERPRINT_CHANGES)
def test_fingerprint_follows_params(tmp_path, change, differs):
    write_features(tmp_path)
    before = fingerprint(TRAIN, tmp_path)

    after = fingerprint(*change(TRAIN, tmp_path))

    assert (after != before) == differs


def test_fingerprint_follows_features(tmp_path):
    write_features(tmp_path)
    before = fingerprint(TRAIN, tmp_path)

    labelled_split(48, seed=5).save(tmp_path / "train")

    assert fingerprint(TRAIN, tmp_path) != before


def test_fingerprint_follows_loaded_code(tmp_path, monkeypatch):
    write_features(tmp_path / "features")
    module_file = tmp_path / "probe.py"
    module_file.write_text("LEARNING_RATE_SCALE = 1\n")
    probe = types.ModuleType("review_lstm.fingerprint_probe")
    probe.__file__ = str(module_file)
    monkeypatch.setitem(sys.modules, probe.__name__, probe)
    before = fingerprint(TRAIN, tmp_path / "features")

    module_file.write_text("LEARNING_RATE_SCALE = 2\n")

    assert fingerprint(TRAIN, tmp_path / "features") != before


def test_resume_off_deletes_old_checkpoint(tmp_path):
    old = tmp_path / "train.pt"
    old.write_bytes(b"from an earlier run")

    checkpoint = resume_checkpoint(dataclasses.replace(TRAIN, resume=False), tmp_path, path=old)

    assert checkpoint is None
    assert not old.exists()


# --- Signals on the train stage, in a copy of the project ------------------------------------------------------


STAGE_SIGNALS = [
    pytest.param(signal.SIGINT, "interrupted by Ctrl-C (SIGINT)", 130, id="SIGINT"),
    pytest.param(signal.SIGTERM, "interrupted by SIGTERM", 143, id="SIGTERM"),
]


ABSENT_SCORE = 3


@pytest.fixture(scope="module")
def featurized_project(tmp_path_factory):
    """A project copy with tiny reviews of every score but 3, prepared and featurized.

    Batches of one review make each epoch take a noticeable time, so a signal lands mid-run.
    """
    project = copy_project(tmp_path_factory.mktemp("interrupt") / "project")
    rows = [(text, score) for text, score in tiny_review_rows(copies=4) if score != ABSENT_SCORE]
    write_reviews_csv(project / "Data/review_data.csv", rows)
    params = load_params_file(project / "params.yaml")
    params["train"].update(epochs=6, batch_size=1, hidden_size=32, embedding_dim=32, early_stopping_patience=0,
                           num_threads=1, resume=True)
    params["evaluate"].update(bootstrap_samples=20)
    write_params_file(project / "params.yaml", params)
    run_in(project, "git", "commit", "-qam", "tiny reviews and a short training run")
    run_in(project, "dvc", "repro", "featurize")
    return project


def start_in_new_session(project: Path, *command: str) -> subprocess.Popen:
    environment = dict(os.environ)
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
    return subprocess.Popen(list(command), cwd=project, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for_first_checkpoint(process: subprocess.Popen, checkpoint: Path) -> None:
    while not checkpoint.exists():
        assert process.poll() is None, f"train ended before its first checkpoint:\n{process.stdout.read()}"
        time.sleep(0.02)


@pytest.mark.parametrize("signal_number, message, status", STAGE_SIGNALS)
def test_signal_stops_train_with_one_line(featurized_project, signal_number, message, status):
    checkpoint = featurized_project / ".checkpoints/train.pt"
    checkpoint.unlink(missing_ok=True)
    process = start_in_new_session(featurized_project, sys.executable, "stages/train.py")

    wait_for_first_checkpoint(process, checkpoint)
    os.killpg(process.pid, signal_number)
    output, _ = process.communicate(timeout=120)

    assert process.returncode == status, output
    assert "Traceback" not in output
    assert output.strip().splitlines()[-1].startswith(f"train: {message}")
    assert torch.load(checkpoint, weights_only=True)["epoch"] >= 1


@pytest.fixture(scope="module")
def repro_after_sigkill(featurized_project):
    """Kill `dvc repro` with SIGKILL after train's first checkpoint, then run `dvc repro` again.

    Returns the project, the epoch of the checkpoint left by the kill, and the second run's output.
    """
    checkpoint = featurized_project / ".checkpoints/train.pt"
    checkpoint.unlink(missing_ok=True)
    process = start_in_new_session(featurized_project, "dvc", "repro")
    wait_for_first_checkpoint(process, checkpoint)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=120)
    killed_at_epoch = torch.load(checkpoint, weights_only=True)["epoch"]

    rerun = run_in(featurized_project, "dvc", "repro")
    return featurized_project, killed_at_epoch, rerun.stdout + rerun.stderr


def test_repro_after_sigkill_resumes_and_finishes(repro_after_sigkill):
    project, killed_at_epoch, output = repro_after_sigkill

    assert f"resuming from .checkpoints/train.pt after epoch {killed_at_epoch} of 6" in output
    assert "Traceback" not in output
    history = torch.load(project / "models/model.pt", weights_only=True)["history"]
    assert [record["epoch"] for record in history] == list(range(1, 7))
    assert not (project / ".checkpoints/train.pt").exists()


def test_pipeline_without_a_score_writes_null_metrics(repro_after_sigkill):
    project, _, _ = repro_after_sigkill

    text = (project / "reports/metrics.json").read_text()
    metrics = json.loads(text, parse_constant=lambda name: pytest.fail(f"metrics.json contains {name}"))
    prepare_report = json.loads((project / "reports/prepare.json").read_text())

    absent = metrics["lstm"]["per_score"][str(ABSENT_SCORE)]
    assert absent["support"] == 0
    assert absent["recall"] is None
    assert absent["f1"] is None
    assert 0 <= metrics["lstm"]["macro_f1"] <= 1
    assert any(f"no review has score {ABSENT_SCORE}" in warning for warning in prepare_report["warnings"])
