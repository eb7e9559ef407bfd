"""Typed, validated settings read from params.yaml.

Each section of params.yaml maps to one dataclass below. Loading checks every key:
an unknown key, a missing key, a value of the wrong type or out of range raises
`UserInputError` with the key, the value and what is expected.
"""

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from review_lstm.errors import UserInputError

DEFAULT_PARAMS_FILE = "params.yaml"


def _range(minimum: float | None = None, maximum: float | None = None, *, exclusive_minimum: bool = False,
           exclusive_maximum: bool = False, reason: str = "") -> dict:
    return {"minimum": minimum, "maximum": maximum,
            "exclusive_minimum": exclusive_minimum, "exclusive_maximum": exclusive_maximum, "reason": reason}


@dataclass(frozen=True)
class DataParams:
    """Where the raw review export is and which columns hold the text and the score."""

    raw: str
    text_column: str
    label_column: str


@dataclass(frozen=True)
class PrepareParams:
    """Cleaning and the stratified train/validation/test split."""

    seed: int
    validation_fraction: float = field(metadata=_range(0, 1, exclusive_minimum=True, exclusive_maximum=True))
    test_fraction: float = field(metadata=_range(0, 1, exclusive_minimum=True, exclusive_maximum=True))


@dataclass(frozen=True)
class FeaturizeParams:
    """Text normalisation with spaCy and the vocabulary built from the training split."""

    lowercase: bool
    lemmatize: bool
    remove_stop_words: bool
    keep_words: list[str]
    keep_punctuation: list[str]
    # vocab.SPECIAL_TOKENS has 3 entries; a test checks that this minimum follows it.
    max_vocab_size: int = field(metadata=_range(4, reason="room for at least one word besides the 3 special tokens "
                                                          "<pad>, <unk> and <empty>"))
    min_frequency: int = field(metadata=_range(1))
    batch_size: int = field(metadata=_range(1))
    n_process: int = field(metadata=_range(1))


@dataclass(frozen=True)
class TrainParams:
    """The LSTM's sizes and the optimisation loop."""

    seed: int
    epochs: int = field(metadata=_range(1))
    batch_size: int = field(metadata=_range(1))
    lr: float = field(metadata=_range(0, exclusive_minimum=True))
    weight_decay: float = field(metadata=_range(0))
    max_tokens: int = field(metadata=_range(1))
    embedding_dim: int = field(metadata=_range(1))
    embedding_init: Literal["random", "ppmi"]
    # A GloVe-format text file whose vectors replace the initial vectors of the words it has; null for none.
    pretrained_vectors: str | None
    hidden_size: int = field(metadata=_range(1))
    num_layers: int = field(metadata=_range(1))
    bidirectional: bool
    dropout: float = field(metadata=_range(0, 1, exclusive_maximum=True))
    pooling: Literal["last", "max", "mean"]
    ensemble_size: int = field(metadata=_range(1))
    imbalance: Literal["class_weights", "sqrt_class_weights", "oversample", "none"]
    early_stopping_patience: int = field(metadata=_range(0))
    num_threads: int = field(metadata=_range(0))
    processes: int = field(metadata=_range(1))
    device: Literal["cpu", "cuda", "auto"]
    # Continue from the resume checkpoint of an interrupted run with the same params, features and code.
    resume: bool = False


@dataclass(frozen=True)
class EvaluateParams:
    """Test-set evaluation: bootstrap intervals and the linear reference model."""

    seed: int
    bootstrap_samples: int = field(metadata=_range(1))
    batch_size: int = field(metadata=_range(1))
    baseline_max_features: int = field(metadata=_range(1))
    baseline_c: float = field(metadata=_range(0, exclusive_minimum=True))


SECTIONS: dict[str, type] = {
    "data": DataParams,
    "prepare": PrepareParams,
    "featurize": FeaturizeParams,
    "train": TrainParams,
    "evaluate": EvaluateParams,
}


def read_params_file(path: str | Path = DEFAULT_PARAMS_FILE) -> dict[str, Any]:
    """Read params.yaml as YAML 1.2, so that `1e-06` is a float, not a string."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: parameters file not found; run the stage from the project root.")
    try:
        content = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except YAMLError as error:
        raise UserInputError(f"{path}: invalid YAML: {error}") from None
    except UnicodeDecodeError as error:
        raise UserInputError(f"{path}: not valid UTF-8 (byte offset {error.start}); save it as UTF-8.") from None
    if not isinstance(content, dict):
        raise UserInputError(f"{path}: expected a mapping of sections ({', '.join(SECTIONS)}), got {content!r}.")

    unknown = sorted(set(content) - set(SECTIONS))
    if unknown:
        raise UserInputError(f"{path}: unknown section {_with_suggestion(unknown[0], SECTIONS)}; "
                             f"expected sections: {', '.join(SECTIONS)}.")
    return content


def load_section(name: str, path: str | Path = DEFAULT_PARAMS_FILE) -> Any:
    """Load and validate one section of params.yaml into its dataclass."""
    content = read_params_file(path)
    if name not in content:
        raise UserInputError(f"{path}: missing section '{name}'.")
    return parse_section(name, content[name], source=str(path))


def parse_section(name: str, values: Any, source: str = DEFAULT_PARAMS_FILE) -> Any:
    """Validate a mapping of raw values against the dataclass of section `name`."""
    settings_class = SECTIONS[name]
    if not isinstance(values, dict):
        raise UserInputError(f"{source}: section '{name}' must be a mapping of keys to values, got {values!r}.")

    fields = {item.name: item for item in dataclasses.fields(settings_class)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise UserInputError(f"{source}: unknown key {_with_suggestion(f'{name}.{unknown[0]}', [f'{name}.{key}' for key in fields])}; "
                             f"keys of '{name}': {', '.join(fields)}.")

    hints = typing.get_type_hints(settings_class)
    checked = {}
    for key, item in fields.items():
        full_key = f"{name}.{key}"
        if key not in values:
            raise UserInputError(f"{source}: missing key '{full_key}' (expected {_describe(hints[key])}).")
        value = _check_type(full_key, values[key], hints[key], source)
        _check_range(full_key, value, item.metadata, source)
        checked[key] = value
    _check_section_rules(name, checked, source)
    return settings_class(**checked)


def _check_section_rules(name: str, values: dict[str, Any], source: str) -> None:
    """Check the rules that involve two keys of one section."""
    if name == "prepare" and values["validation_fraction"] + values["test_fraction"] >= 1:
        raise UserInputError(f"{source}: invalid values for 'prepare.validation_fraction' "
                             f"({values['validation_fraction']}) and 'prepare.test_fraction' "
                             f"({values['test_fraction']}): their sum must be < 1 so that reviews are left "
                             f"for training.")
    if name == "data" and values["text_column"] == values["label_column"]:
        raise UserInputError(f"{source}: 'data.text_column' and 'data.label_column' are both "
                             f"{values['text_column']!r}; they must name two different columns.")


def _check_type(key: str, value: Any, expected: Any, source: str) -> Any:
    problem = f"{source}: invalid value for '{key}': {value!r}; expected {_describe(expected)}."
    origin = typing.get_origin(expected)

    if origin is types.UnionType:  # `str | None`: an optional value
        if value is None:
            return None
        (expected,) = [choice for choice in typing.get_args(expected) if choice is not type(None)]
        try:
            return _check_type(key, value, expected, source)
        except UserInputError:
            raise UserInputError(problem) from None
    if origin is Literal:
        if value not in typing.get_args(expected):
            raise UserInputError(problem)
        return value
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise UserInputError(problem)
        return list(value)
    if expected is bool:
        if not isinstance(value, bool):
            raise UserInputError(problem)
        return value
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserInputError(problem)
        return value
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UserInputError(problem)
        return float(value)
    if expected is str:
        if not isinstance(value, str) or not value.strip():
            raise UserInputError(problem)
        return value
    raise TypeError(f"no validation rule for type {expected!r} of '{key}'")


def _check_range(key: str, value: Any, metadata: Any, source: str) -> None:
    if not metadata:
        return
    minimum, maximum = metadata["minimum"], metadata["maximum"]
    too_small = minimum is not None and (value <= minimum if metadata["exclusive_minimum"] else value < minimum)
    too_large = maximum is not None and (value >= maximum if metadata["exclusive_maximum"] else value > maximum)
    if too_small or too_large:
        raise UserInputError(f"{source}: invalid value for '{key}': {value!r}; expected {_describe_range(metadata)}.")


def _describe(expected: Any) -> str:
    origin = typing.get_origin(expected)
    if origin is types.UnionType:
        (expected,) = [choice for choice in typing.get_args(expected) if choice is not type(None)]
        return f"{_describe(expected)} or null"
    if origin is Literal:
        return "one of " + ", ".join(repr(choice) for choice in typing.get_args(expected))
    if origin is list:
        return "a list of strings"
    return {bool: "true or false", int: "an integer", float: "a finite number", str: "a non-empty string"}[expected]


def _describe_range(metadata: Any) -> str:
    parts = []
    if metadata["minimum"] is not None:
        parts.append(("> " if metadata["exclusive_minimum"] else ">= ") + f"{metadata['minimum']}")
    if metadata["maximum"] is not None:
        parts.append(("< " if metadata["exclusive_maximum"] else "<= ") + f"{metadata['maximum']}")
    reason = f" ({metadata['reason']})" if metadata["reason"] else ""
    return "a value " + " and ".join(parts) + reason


def _with_suggestion(key: str, known: Any) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f"'{key}' (did you mean '{close[0]}'?)" if close else f"'{key}'"


def as_dict(settings: Any) -> dict[str, Any]:
    """Return a settings dataclass as a plain dict, for checkpoints and reports."""
    return dataclasses.asdict(settings)
