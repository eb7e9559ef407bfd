"""Running a trained model over an encoded split, and loading checkpoints."""

from pathlib import Path

import numpy as np
import torch

from review_lstm.batches import inference_batches
from review_lstm.encoded import EncodedSplit
from review_lstm.errors import UserInputError
from review_lstm.files import atomic_path
from review_lstm.model import ModelConfig, ReviewClassifier


def pick_device(requested: str) -> torch.device:
    """Map the 'device' param (cpu, cuda, auto) to a torch device."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise UserInputError("params.yaml: 'train.device' is 'cuda' but PyTorch sees no CUDA device; "
                             "use 'cpu' or 'auto'.")
    return torch.device(requested)


@torch.no_grad()
def predict_logits(model: ReviewClassifier, split: EncodedSplit, batch_size: int, max_tokens: int,
                   device: torch.device) -> np.ndarray:
    """Return the logits of every review of `split`, in split order, shape (reviews, classes)."""
    model.eval()
    logits = np.zeros((len(split), model.config.num_classes), dtype=np.float32)
    for batch in inference_batches(split, batch_size, max_tokens):
        batch_logits = model(batch.token_ids.to(device), batch.lengths)
        logits[batch.indices] = batch_logits.float().cpu().numpy()
    return logits


def save_checkpoint(path: Path, model: ReviewClassifier, state_dict: dict, extra: dict) -> None:
    """Write a checkpoint that `load_checkpoint` can rebuild the model from, atomically."""
    cpu_state = {name: tensor.detach().cpu() for name, tensor in state_dict.items()}
    payload = {"model_config": model.config.as_dict(), "state_dict": cpu_state, **extra}
    with atomic_path(path) as temporary:
        save_torch_file(payload, temporary)


def save_torch_file(payload: dict, path: Path) -> None:
    """Save with torch.save through an open file, so that the bytes do not depend on the file name.

    Given a path, torch.save names the archive inside the file after it, and atomic writes
    use a random temporary name, so the same model would get a new hash on every run.
    """
    with open(path, "wb") as stream:
        torch.save(payload, stream)


def load_checkpoint(path: Path, device: torch.device = torch.device("cpu")) -> tuple[ReviewClassifier, dict]:
    """Rebuild the model from a checkpoint; returns the model (in eval mode) and the checkpoint dict."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: model checkpoint not found; run `dvc repro train` to produce it.")
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # torch raises several types for a truncated or foreign file
        raise UserInputError(f"{path}: not a readable model checkpoint ({error}); "
                             f"run `dvc repro train` to rebuild it.") from None
    model = ReviewClassifier(ModelConfig(**checkpoint["model_config"])).to(device)
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    return model, checkpoint
