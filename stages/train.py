"""Stage train: fit the LSTM, log each epoch with dvclive, save the best epoch's checkpoint.

With `train.processes` above 1, the script replaces itself with torchrun, which runs
it in that many processes. Under torchrun, only rank 0 writes the outputs.
"""

import contextlib
from pathlib import Path

import torch
from dvclive import Live

from review_lstm import distributed
from review_lstm.checkpoints import resume_checkpoint
from review_lstm.encoded import EncodedSplit
from review_lstm.inference import pick_device, save_checkpoint
from review_lstm.params import load_section
from review_lstm.stage import run_stage
from review_lstm.training import checkpoint_summary, train
from review_lstm.vocab import Vocabulary
from review_lstm.word_vectors import vectors_for

FEATURES_DIR = Path("data/features")
MODEL = Path("models/model.pt")
LIVE_DIR = Path("reports/train")


def main() -> None:
    settings = load_section("train")
    if settings.processes > 1 and not distributed.launched_by_torchrun():
        distributed.exec_torchrun(Path(__file__), settings.processes)  # does not return

    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
    elif distributed.launched_by_torchrun():
        torch.set_num_threads(distributed.cpu_cores_per_process())

    with distributed.process_group(settings, pick_device(settings.device)) as device:
        vocabulary = Vocabulary.load(FEATURES_DIR / "vocab.json")
        train_split = EncodedSplit.load(FEATURES_DIR / "train")
        validation_split = EncodedSplit.load(FEATURES_DIR / "validation")

        writes_outputs = distributed.is_main_process()
        resume = resume_checkpoint(settings, FEATURES_DIR, writable=writes_outputs)  # None unless train.resume
        live_logger = (Live(str(LIVE_DIR), dvcyaml=False, save_dvc_exp=False) if writes_outputs
                       else contextlib.nullcontext())
        with live_logger as live:
            result = train(settings, train_split, validation_split, len(vocabulary), device, live, resume=resume,
                           pretrained=vectors_for(settings, vocabulary.tokens))

        if writes_outputs:
            save_checkpoint(MODEL, result.model, result.best_state, checkpoint_summary(result, settings))
            if resume is not None:
                resume.remove()


if __name__ == "__main__":
    run_stage("train", main, restart_note="With 'train.resume: true' it continues after the last finished epoch.")
