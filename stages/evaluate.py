"""Stage evaluate: test-set metrics for the LSTM and the linear reference, plus plots."""

from pathlib import Path

from review_lstm.evaluate import EvaluatePaths, evaluate
from review_lstm.params import load_section
from review_lstm.stage import run_stage

PATHS = EvaluatePaths(
    model=Path("models/model.pt"),
    prepared_dir=Path("data/prepared"),
    features_dir=Path("data/features"),
    metrics=Path("reports/metrics.json"),
    predictions=Path("reports/test_predictions.csv"),
    loss_plot=Path("reports/loss.png"),
    confusion_plot=Path("reports/confusion.png"),
)


def main() -> None:
    settings = load_section("evaluate")
    evaluate(settings, PATHS)


if __name__ == "__main__":
    run_stage("evaluate", main)
