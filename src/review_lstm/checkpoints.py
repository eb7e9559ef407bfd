"""Resume checkpoints of the train stage, so that an interrupted run can continue.

With `train.resume: true`, training saves a checkpoint after every epoch: the model,
the optimizer, every random number generator, the best epoch so far and the history.
DVC deletes a stage's declared outputs before it runs the stage, so the checkpoint
lives in `.checkpoints/`, which no stage declares and git ignores.

A checkpoint is restored only when its fingerprint matches the current run: the
train params (except `resume`), the encoded features and the source of every
`review_lstm` module that the process has imported. Otherwise, or when the file is
unreadable, training starts from epoch 1. The stage deletes the checkpoint once
`models/model.pt` is written. When training spans several machines, resuming is
switched off (see `resume_checkpoint`).
"""

import copy
import hashlib
import json
import logging
import os
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from review_lstm import distributed
from review_lstm.files import TEMPORARY_SUFFIX, atomic_path
from review_lstm.inference import save_torch_file
from review_lstm.params import TrainParams, as_dict
from review_lstm.training import EpochRecord, TrainResult, log_epoch

logger = logging.getLogger(__name__)

CHECKPOINT_PATH = Path(".checkpoints/train.pt")
FORMAT_VERSION = 1
_HASH_BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class ResumePoint:
    """The first epoch of a restored run and the best validation score before it."""

    first_epoch: int
    best_score: float


def fingerprint(params: TrainParams, features_dir: Path) -> str:
    """Hash what a resumed run must share with the interrupted one: params, features and code."""
    digest = hashlib.blake2b(digest_size=16)
    settings = {key: value for key, value in as_dict(params).items() if key != "resume"}
    digest.update(json.dumps(settings, sort_keys=True).encode("utf-8"))

    features_dir = Path(features_dir)
    for path in sorted(features_dir.glob("**/*")):
        if path.is_file() and not path.name.startswith("."):
            _hash_file(digest, path, path.relative_to(features_dir).as_posix())
    if params.pretrained_vectors is not None and Path(params.pretrained_vectors).is_file():
        _hash_file(digest, Path(params.pretrained_vectors), "train.pretrained_vectors")

    # The code that trains: every module of this package loaded so far, so an edit to an unrelated
    # module (evaluate.py, say) does not discard a checkpoint.
    for name in sorted(sys.modules):
        source = getattr(sys.modules[name], "__file__", None)
        if name.split(".")[0] == "review_lstm" and source:
            _hash_file(digest, Path(source), name)
    return digest.hexdigest()


def _hash_file(digest, path: Path, name: str) -> None:
    digest.update(name.encode("utf-8") + b"\0")
    with open(path, "rb") as stream:
        while block := stream.read(_HASH_BLOCK_BYTES):
            digest.update(block)


def resume_checkpoint(params: TrainParams, features_dir: Path, writable: bool = True,
                      path: Path = CHECKPOINT_PATH) -> "ResumeCheckpoint | None":
    """Return this run's resume checkpoint when 'train.resume' is true; otherwise delete any old one.

    `writable` is False in the training processes that must not write files (all but rank 0).
    Returns None, keeping any old checkpoint, when training spans several machines.
    """
    if not params.resume:
        if writable:
            path.unlink(missing_ok=True)
        return None
    if distributed.spans_several_machines():
        # Only rank 0 writes the checkpoint, so only its machine has one. Ranks elsewhere would
        # start from epoch 1 while rank 0 continues, so they would run different numbers of steps
        # and hang in a collective operation. Switching resume off is simpler than sending rank 0's
        # checkpoint to every rank, and several machines need a torchrun started by hand anyway.
        if writable:
            logger.warning("'train.resume' is ignored because training spans several machines (%s processes, "
                           "%s on this one) and only rank 0's machine has the resume checkpoint. Training starts "
                           "from epoch 1 and saves no resume checkpoint.",
                           os.environ["WORLD_SIZE"], os.environ["LOCAL_WORLD_SIZE"])
        return None
    return ResumeCheckpoint(path, fingerprint(params, features_dir), writable)


class ResumeCheckpoint:
    """The resume checkpoint file of one training run; only a checkpoint with the same fingerprint is restored."""

    def __init__(self, path: Path, run_fingerprint: str, writable: bool = True):
        self.path = Path(path)
        self.fingerprint = run_fingerprint
        self.writable = writable

    def restore(self, params: TrainParams, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                rng: np.random.Generator, result: TrainResult, live=None) -> ResumePoint | None:
        """Load the checkpoint into the model, optimizer, random generators and `result`.

        Returns where to continue, or None, leaving everything untouched, when there is
        no usable checkpoint. The restored epochs are logged to `live` again, since DVC
        deleted dvclive's files before the stage started.
        """
        payload = self._load()
        if payload is None:
            return None

        model_before, optimizer_before = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
        try:
            history = [EpochRecord(**record) for record in payload["history"]]
            _check_random_states(payload["random_states"], rng)
            model.load_state_dict(payload["model"])
            optimizer.load_state_dict(payload["optimizer"])
        except (AttributeError, KeyError, TypeError, ValueError, RuntimeError) as error:
            model.load_state_dict(model_before)
            optimizer.load_state_dict(optimizer_before)
            logger.warning("%s: cannot restore the resume checkpoint (%s); starting from epoch 1", self.path, error)
            return None
        # NOTE: under torchrun every process restores rank 0's random state, so the other processes draw other
        # dropout masks than in an uninterrupted run. No test covers resuming with train.processes above 1.
        _set_random_states(payload["random_states"], rng)
        result.history = history
        result.best_epoch = payload["best_epoch"]
        result.best_state = payload["best_state"]

        epoch = payload["epoch"]
        first_epoch = epoch + 1
        # The same rule as the early stop in training.train, which runs after the epoch's checkpoint is saved.
        patience = params.early_stopping_patience
        if patience and epoch - result.best_epoch >= patience:
            first_epoch = params.epochs + 1
        logger.info("resuming from %s after epoch %d of %d (best epoch so far: %d)", self.path, epoch, params.epochs,
                    result.best_epoch)
        if live is not None:
            for record in history:
                log_epoch(live, record)
        return ResumePoint(first_epoch=first_epoch, best_score=float(payload["best_score"]))

    def save(self, epoch: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, rng: np.random.Generator,
             result: TrainResult, best_score: float) -> None:
        """Write the state after `epoch` atomically, replacing the previous checkpoint."""
        if not self.writable:
            return
        payload = {
            "version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "model": _on_cpu(model.state_dict()),
            "optimizer": optimizer.state_dict(),
            "best_state": _on_cpu(result.best_state),
            "best_epoch": result.best_epoch,
            "best_score": float(best_score),
            "history": [asdict(record) for record in result.history],
            "random_states": _random_states(rng),
        }
        with atomic_path(self.path) as temporary:
            save_torch_file(payload, temporary)

    def remove(self) -> None:
        """Delete the checkpoint, once the finished model is saved."""
        if self.writable:
            self.path.unlink(missing_ok=True)

    def _load(self) -> dict | None:
        if self.writable:
            # Left by a process killed while it wrote a checkpoint.
            for stale in self.path.parent.glob(f".{self.path.name}.*{TEMPORARY_SUFFIX}"):
                stale.unlink(missing_ok=True)
        if not self.path.is_file():
            return None

        try:
            payload = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several types for a truncated or foreign file
            logger.warning("%s: unreadable resume checkpoint (%s: %s); deleting it and starting from epoch 1",
                           self.path, type(error).__name__, error)
            self.remove()
            return None
        if not isinstance(payload, dict) or payload.get("version") != FORMAT_VERSION:
            logger.warning("%s: not a resume checkpoint of this version; starting from epoch 1", self.path)
            return None
        if payload.get("fingerprint") != self.fingerprint:
            logger.info("%s: the resume checkpoint comes from other train params, features or code; "
                        "starting from epoch 1", self.path)
            return None
        return payload


def _on_cpu(state: dict) -> dict:
    return {name: tensor.detach().cpu().clone() for name, tensor in state.items()}


def _random_states(rng: np.random.Generator) -> dict:
    """Return every generator's state in types that `torch.load(weights_only=True)` accepts."""
    version, internal_state, gauss_next = random.getstate()
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    return {
        "python": [version, list(internal_state), gauss_next],
        "numpy_global": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached_gaussian],
        "numpy_generator": rng.bit_generator.state,
        "torch": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _python_state(states: dict) -> tuple:
    version, internal_state, gauss_next = states["python"]
    return version, tuple(internal_state), gauss_next


def _numpy_global_state(states: dict) -> tuple:
    name, keys, position, has_gauss, cached_gaussian = states["numpy_global"]
    return name, keys.numpy().astype(np.uint32), position, has_gauss, cached_gaussian


def _check_random_states(states: dict, rng: np.random.Generator) -> None:
    """Raise ValueError or TypeError if a saved state does not fit its generator; set nothing."""
    random.Random().setstate(_python_state(states))
    np.random.RandomState().set_state(_numpy_global_state(states))
    type(rng.bit_generator)().state = states["numpy_generator"]
    torch.Generator().set_state(states["torch"])


def _set_random_states(states: dict, rng: np.random.Generator) -> None:
    random.setstate(_python_state(states))
    np.random.set_state(_numpy_global_state(states))
    rng.bit_generator.state = states["numpy_generator"]
    torch.set_rng_state(states["torch"])
    if states["torch_cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["torch_cuda"])
