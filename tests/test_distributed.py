"""Multi-process training: batch sharding, launch checks, and torchrun with 2 CPU processes (gloo)."""

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, copy_project, hinted_split, load_params_file, run_in, write_params_file

from review_lstm import distributed
from review_lstm.batches import make_batch, training_batches
from review_lstm.checkpoints import resume_checkpoint
from review_lstm.encoded import EncodedSplit
from review_lstm.errors import UserInputError
from review_lstm.params import parse_section
from review_lstm.text import TextSettings
from review_lstm.vocab import SPECIAL_TOKENS, Vocabulary

VOCAB_SIZE = 40
TRAIN_REVIEWS = 64

# TRAIN_REVIEWS in batches of 8, so every batch splits evenly between 2 processes. Without
# dropout and class weights, a 2-process run then computes the same updates as a single
# process, up to floating-point rounding.
TRAIN_OVERRIDES = {
    "seed": 3, "epochs": 4, "batch_size": 8, "lr": 0.01, "max_tokens": 12, "embedding_dim": 16, "hidden_size": 8,
    "num_layers": 1, "dropout": 0.0, "imbalance": "none", "early_stopping_patience": 0, "num_threads": 1,
    "device": "cpu",
}

# Each process computes the gradient of its half of a batch and DDP averages the halves,
# so sums are rounded in a different order than over the whole batch. On torch 2.13 (CPU)
# the losses differed by at most about 1e-7 relative and the weights by 2.4e-7 after the
# 32 steps. The tolerances leave room for other CPUs and kernels, while a run that skips
# the all-reduce of the train loss differs by 3e-2.
LOSS_RELATIVE_TOLERANCE = 1e-5
WEIGHT_ABSOLUTE_TOLERANCE = 1e-5

# Runs the train stage in this rank's own folder, as processes on separate machines do, and
# records the review indices that this rank trained on in `trained_rank<N>.json`.
RANK_DRIVER = """\
import json
import os
import runpy
import sys
from pathlib import Path

from review_lstm import distributed

script, record_folder, folders = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
rank = int(os.environ["RANK"])
trained = []
take_share = distributed.shard_batch


def recording_shard_batch(batch, shard, shards):
    share = take_share(batch, shard, shards)
    trained.extend(share.indices.tolist())
    return share


distributed.shard_batch = recording_shard_batch
os.chdir(folders[rank])
sys.argv = [script]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    (record_folder / f"trained_rank{rank}.json").write_text(json.dumps(trained))
"""


def synthetic_split(reviews: int, seed: int) -> EncodedSplit:
    """Reviews of 1 to 10 tokens whose token ids mostly hint at their label."""
    return hinted_split(reviews, seed, VOCAB_SIZE, max_length=10)


def write_features(project: Path) -> None:
    """Write a synthetic vocabulary and train/validation splits where the train stage reads them."""
    features = project / "data" / "features"
    settings = TextSettings(lowercase=True, lemmatize=False, remove_stop_words=False, keep_words=(),
                            keep_punctuation=())
    tokens = list(SPECIAL_TOKENS) + [f"token{index}" for index in range(len(SPECIAL_TOKENS), VOCAB_SIZE)]
    features.mkdir(parents=True)
    Vocabulary(tokens, settings).save(features / "vocab.json")
    synthetic_split(TRAIN_REVIEWS, seed=0).save(features / "train")
    synthetic_split(24, seed=1).save(features / "validation")


def make_project(folder: Path, **train_values) -> Path:
    """Copy the project, add synthetic features and set the test's train params."""
    project = copy_project(folder)
    write_features(project)
    params = load_params_file(project / "params.yaml")
    params["train"].update(TRAIN_OVERRIDES, **train_values)
    write_params_file(project / "params.yaml", params)
    return project


def load_result(project: Path) -> dict:
    return torch.load(project / "models" / "model.pt", weights_only=True)


def free_local_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_same_training(result: dict, reference: dict) -> None:
    """Check per-epoch losses, macro-F1, best epoch and best weights against a single-process run."""
    assert len(result["history"]) == len(reference["history"])
    for epoch, expected in zip(result["history"], reference["history"]):
        for name in ("train_loss", "validation_loss"):
            assert epoch[name] == pytest.approx(expected[name], rel=LOSS_RELATIVE_TOLERANCE), (epoch, expected)
        # A prediction changes only where two logits are within rounding of each other.
        assert epoch["validation_macro_f1"] == pytest.approx(expected["validation_macro_f1"]), (epoch, expected)
    assert result["best_epoch"] == reference["best_epoch"]
    for name, tensor in reference["state_dict"].items():
        torch.testing.assert_close(result["state_dict"][name], tensor, rtol=0, atol=WEIGHT_ABSOLUTE_TOLERANCE)


@pytest.fixture(scope="module")
def single_process_result(tmp_path_factory) -> dict:
    project = make_project(tmp_path_factory.mktemp("single") / "project", processes=1)
    run_in(project, sys.executable, "stages/train.py")
    return load_result(project)


@pytest.fixture
def loopback_only(monkeypatch):
    """Make gloo use the loopback interface for the connections between processes."""
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")


def test_stage_starts_torchrun_for_two_processes(single_process_result, tmp_path, loopback_only):
    """`python stages/train.py` with 2 processes matches one process up to rounding.

    Bitwise equality is impossible because DDP averages two half-batch gradients, which
    rounds differently than one gradient over the whole batch.
    """
    project = make_project(tmp_path / "project", processes=2)

    # `dvc repro` runs exactly this command; with train.processes: 2 it becomes torchrun --standalone.
    finished = run_in(project, sys.executable, "stages/train.py")

    assert "training in 2 processes (backend gloo" in finished.stderr
    assert_same_training(load_result(project), single_process_result)


def test_only_rank_zero_writes_outputs(single_process_result, tmp_path, loopback_only):
    """Launched by torchrun directly, rank 1 writes nothing, and the ranks split every batch."""
    project = make_project(tmp_path / "project", processes=2)
    other_rank_folder = tmp_path / "rank1"
    other_rank_folder.mkdir()
    shutil.copy(project / "params.yaml", other_rank_folder)
    shutil.copytree(project / "data", other_rank_folder / "data")
    driver = tmp_path / "rank_driver.py"
    driver.write_text(RANK_DRIVER, encoding="utf-8")

    run_in(project, sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc-per-node=2",
           "--master-addr=127.0.0.1", f"--master-port={free_local_port()}",
           str(driver), str(project / "stages" / "train.py"), str(tmp_path), str(project), str(other_rank_folder))

    assert (project / "models" / "model.pt").is_file()
    assert (project / "reports" / "train" / "metrics.json").is_file()
    assert sorted(path.name for path in other_rank_folder.iterdir()) == ["data", "params.yaml"]
    assert_same_training(load_result(project), single_process_result)

    # Each epoch, the two ranks trained on disjoint halves that together cover every review.
    epochs, half = TRAIN_OVERRIDES["epochs"], TRAIN_REVIEWS // 2
    trained = [json.loads((tmp_path / f"trained_rank{rank}.json").read_text()) for rank in range(2)]
    assert [len(indices) for indices in trained] == [epochs * half] * 2
    for epoch in range(epochs):
        epoch_indices = [indices[epoch * half:(epoch + 1) * half] for indices in trained]
        assert sorted(epoch_indices[0] + epoch_indices[1]) == list(range(TRAIN_REVIEWS)), epoch


def child_processes(parent: int) -> list[int]:
    """Return the IDs of the processes whose parent is `parent`, read from /proc."""
    children = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process exited meanwhile
            continue
        if int(fields[1]) == parent:
            children.append(int(stat_file.parent.name))
    return children


def is_running(pid: int) -> bool:
    """Return False once the process has exited, also while it waits as a zombie to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG exists on Linux only")
def test_sigkill_of_torchrun_stops_workers(tmp_path, loopback_only):
    # So many epochs that workers that survive the kill are still training when the wait below ends.
    project = make_project(tmp_path / "project", processes=2, epochs=5000, resume=True)
    checkpoint = project / ".checkpoints" / "train.pt"
    log_path = tmp_path / "train.log"
    with open(log_path, "w", encoding="utf-8") as log:
        # The stage's process becomes torchrun, the parent of both training processes.
        torchrun = subprocess.Popen([sys.executable, "stages/train.py"], cwd=project, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
    workers = []
    try:
        started = wait_until(lambda: checkpoint.exists() or torchrun.poll() is not None, timeout=600)
        assert started, f"no epoch finished in 600 s:\n{log_path.read_text()[-3000:]}"
        assert torchrun.poll() is None, f"train ended before the kill:\n{log_path.read_text()[-3000:]}"
        workers = child_processes(torchrun.pid)
        assert len(workers) == 2, f"torchrun has child processes {workers}, expected 2 training processes"

        torchrun.kill()
        torchrun.wait()
        stopped = wait_until(lambda: not any(is_running(pid) for pid in workers), timeout=120)

        log = log_path.read_text()
        assert stopped, f"training processes {[pid for pid in workers if is_running(pid)]} still run 120 s " \
                        f"after torchrun was killed:\n{log[-3000:]}"
        assert "interrupted by SIGTERM" in log, log[-3000:]
        assert not (project / "models" / "model.pt").exists()
    finally:
        if torchrun.poll() is None:
            torchrun.kill()
            torchrun.wait()
        for pid in workers:
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG exists on Linux only")
def test_worker_stops_if_torchrun_gone():
    script = ("import logging; logging.basicConfig(); "
              "from review_lstm import distributed; distributed.stop_with_parent(); print('still running')")
    # A process ID that is not the parent of the Python process below, as after torchrun exited.
    environment = {**os.environ, distributed.TORCHRUN_PID_VARIABLE: str(os.getpid() + 1_000_000)}

    result = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True,
                            timeout=120)

    assert result.returncode == -signal.SIGTERM, result.stderr
    assert "still running" not in result.stdout
    assert "has exited; stopping this training process" in result.stderr


def test_worker_runs_while_torchrun_lives():
    script = "from review_lstm import distributed; distributed.stop_with_parent(); print('still running')"
    environment = {**os.environ, distributed.TORCHRUN_PID_VARIABLE: str(os.getpid())}

    result = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True,
                            timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "still running\n"


def train_params(**values):
    defaults = load_params_file(REPO_ROOT / "params.yaml")["train"]
    return parse_section("train", {**defaults, **TRAIN_OVERRIDES, **values})


@pytest.fixture
def torchrun_environment(monkeypatch):
    """Set the variables that torchrun gives rank 0 of 2 processes on one machine."""
    for name, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2"}.items():
        monkeypatch.setenv(name, value)


def test_launch_rejects_process_count_mismatch(torchrun_environment):
    params = train_params(processes=1)

    with pytest.raises(UserInputError) as error:
        distributed.check_launch(params)

    message = str(error.value)
    assert "'train.processes' is 1" in message
    assert "torchrun started 2 processes" in message
    assert "--nproc-per-node=1" in message


def test_resume_off_across_machines(monkeypatch, tmp_path, caplog):
    for name, value in {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "1"}.items():
        monkeypatch.setenv(name, value)
    old = tmp_path / "train.pt"
    old.write_bytes(b"from an interrupted run")

    with caplog.at_level(logging.WARNING, logger="review_lstm.checkpoints"):
        checkpoint = resume_checkpoint(train_params(resume=True), tmp_path, path=old)

    assert checkpoint is None
    assert old.exists()
    assert "'train.resume' is ignored because training spans several machines (2 processes, 1 on this one)" \
        in caplog.text


def test_resume_on_within_one_machine(torchrun_environment, tmp_path):
    write_features(tmp_path)

    checkpoint = resume_checkpoint(train_params(resume=True), tmp_path / "data" / "features",
                                   path=tmp_path / "train.pt")

    assert checkpoint is not None


def test_launch_rejects_batch_smaller_than_processes(torchrun_environment):
    params = train_params(processes=2, batch_size=1)

    with pytest.raises(UserInputError) as error:
        distributed.check_launch(params)

    assert "'train.batch_size': 1" in str(error.value)
    assert "at least the number of training processes (2)" in str(error.value)


def test_shard_batch_splits_rows_between_processes():
    split = synthetic_split(9, seed=0)
    batch = make_batch(split, np.arange(9), max_tokens=12)

    shards = [distributed.shard_batch(batch, shard, 2) for shard in range(2)]

    assert [len(shard.labels) for shard in shards] == [5, 4]
    assert sorted(np.concatenate([shard.indices for shard in shards]).tolist()) == list(range(9))
    for shard in shards:
        assert shard.token_ids.shape[1] == int(shard.lengths.max())
        assert torch.equal(shard.labels, batch.labels[shard.indices])
        assert torch.equal(shard.lengths, batch.lengths[shard.indices])
        for row, index in enumerate(shard.indices):
            length = int(shard.lengths[row])
            assert torch.equal(shard.token_ids[row, :length], batch.token_ids[index, :length])


def test_shard_batches_same_step_count_per_rank(monkeypatch):
    split = synthetic_split(17, seed=0)  # batches of 8, 8 and 1 reviews
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    shards_per_rank = []
    for rank in range(2):
        monkeypatch.setattr(distributed, "rank", lambda rank=rank: rank)
        rng = np.random.default_rng(5)
        batches = training_batches(split, rng.permutation(len(split)), 8, 12, rng)
        shards_per_rank.append(list(distributed.shard_batches(batches)))

    assert [len(shards) for shards in shards_per_rank] == [2, 2]
    trained = np.concatenate([shard.indices for shards in shards_per_rank for shard in shards])
    assert len(trained) == 16
    assert len(set(trained.tolist())) == 16  # no review twice; the batch of 1 is skipped


def test_shard_batches_single_process_keeps_batches():
    split = synthetic_split(17, seed=0)
    rng = np.random.default_rng(5)
    batches = list(training_batches(split, rng.permutation(len(split)), 8, 12, rng))

    assert list(distributed.shard_batches(batches)) == batches
