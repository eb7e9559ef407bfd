"""Stage train: fit the LSTM, log each epoch with dvclive, save the best epoch's checkpoint."""

from pathlib import Path

import torch
from dvclive import Live

from review_lstm.encoded import EncodedSplit
from review_lstm.inference import pick_device, save_checkpoint
from review_lstm.params import as_dict, load_section
from review_lstm.stage import run_stage
from review_lstm.training import train
from review_lstm.vocab import Vocabulary

FEATURES_DIR = Path("data/features")
MODEL = Path("models/model.pt")
LIVE_DIR = Path("reports/train")


def main() -> None:
    settings = load_section("train")
    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
    vocabulary = Vocabulary.load(FEATURES_DIR / "vocab.json")
    train_split = EncodedSplit.load(FEATURES_DIR / "train")
    validation_split = EncodedSplit.load(FEATURES_DIR / "validation")

    with Live(str(LIVE_DIR), dvcyaml=False, save_dvc_exp=False) as live:
        result = train(settings, train_split, validation_split, len(vocabulary), pick_device(settings.device), live)

    save_checkpoint(MODEL, result.model, result.best_state, {
        "best_epoch": result.best_epoch,
        "max_tokens": settings.max_tokens,
        "history": [vars(record) for record in result.history],
        "train_params": as_dict(settings),
    })


if __name__ == "__main__":
    run_stage("train", main)
