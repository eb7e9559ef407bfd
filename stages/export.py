"""Stage export: write the trained model as ONNX and check it against PyTorch on the test split."""

import os

# The TorchScript-based ONNX exporter prints C++ warnings about the shape inference of packed
# sequences. They are silenced because the check below compares the exported model's outputs.
os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")

import logging  # noqa: E402  (the variable must be set before torch is imported)
from pathlib import Path  # noqa: E402

from review_lstm.encoded import EncodedSplit  # noqa: E402
from review_lstm.export import TOLERANCE, export_onnx, load_session, max_difference  # noqa: E402
from review_lstm.inference import load_checkpoint  # noqa: E402
from review_lstm.stage import run_stage  # noqa: E402
from review_lstm.vocab import Vocabulary  # noqa: E402

MODEL = Path("models/model.pt")
FEATURES_DIR = Path("data/features")
ONNX_MODEL = Path("models/model.onnx")
CHECK_BATCH_SIZE = 64

logger = logging.getLogger("export")


def main() -> None:
    model, checkpoint = load_checkpoint(MODEL)
    vocabulary = Vocabulary.load(FEATURES_DIR / "vocab.json")
    export_onnx(model, vocabulary, checkpoint["max_tokens"], ONNX_MODEL)

    test_split = EncodedSplit.load(FEATURES_DIR / "test")
    difference = max_difference(model, load_session(ONNX_MODEL), test_split, CHECK_BATCH_SIZE,
                                checkpoint["max_tokens"])
    logger.info("wrote %s (%.1f MB); on the %d test reviews its probabilities differ from PyTorch's by at most %.1e",
                ONNX_MODEL, ONNX_MODEL.stat().st_size / 1e6, len(test_split), difference)
    if difference > TOLERANCE:
        ONNX_MODEL.unlink()
        raise RuntimeError(f"the exported model's probabilities differ from PyTorch's by {difference:.1e}, more "
                           f"than {TOLERANCE:.0e}; {ONNX_MODEL} was removed.")


if __name__ == "__main__":
    run_stage("export", main)
