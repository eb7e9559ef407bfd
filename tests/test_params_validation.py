"""params.yaml validation: every bad key or value is rejected with a message naming the key."""

import json
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, load_params_file

from review_lstm.errors import UserInputError
from review_lstm.params import SECTIONS, load_section, parse_section, read_params_file
from review_lstm.vocab import SPECIAL_TOKENS

DEFAULTS = load_params_file(REPO_ROOT / "params.yaml")

INVALID_VALUES = [
    pytest.param("train", "lr", -0.1, ["-0.1", "a value > 0"], id="negative learning rate"),
    pytest.param("train", "lr", 0, ["a value > 0"], id="zero learning rate"),
    pytest.param("train", "lr", float("nan"), ["nan", "a finite number"], id="NaN learning rate"),
    pytest.param("train", "lr", float("inf"), ["inf", "a finite number"], id="infinite learning rate"),
    pytest.param("train", "lr", "fast", ["'fast'", "a finite number"], id="learning rate as text"),
    pytest.param("train", "batch_size", 0, ["a value >= 1"], id="zero batch size"),
    pytest.param("train", "batch_size", -32, ["a value >= 1"], id="negative batch size"),
    pytest.param("train", "batch_size", 32.5, ["32.5", "an integer"], id="fractional batch size"),
    pytest.param("train", "batch_size", "32", ["'32'", "an integer"], id="batch size as text"),
    pytest.param("train", "epochs", 0, ["a value >= 1"], id="zero epochs"),
    pytest.param("train", "epochs", True, ["True", "an integer"], id="epochs as boolean"),
    pytest.param("train", "dropout", 1.0, ["a value >= 0 and < 1"], id="dropout 1"),
    pytest.param("train", "weight_decay", -0.01, ["a value >= 0"], id="negative weight decay"),
    pytest.param("train", "early_stopping_patience", -1, ["a value >= 0"], id="negative patience"),
    pytest.param("train", "bidirectional", "yes", ["'yes'", "true or false"], id="boolean as text"),
    pytest.param("train", "pooling", "avg", ["'avg'", "one of 'last', 'max', 'mean'"], id="unknown pooling"),
    pytest.param("train", "imbalance", None, ["None", "one of 'class_weights'"], id="empty imbalance"),
    pytest.param("train", "device", "gpu", ["'gpu'", "one of 'cpu', 'cuda', 'auto'"], id="unknown device"),
    pytest.param("train", "resume", "on", ["'on'", "true or false"], id="resume as text"),
    pytest.param("prepare", "test_fraction", 1.0, ["a value > 0 and < 1"], id="test fraction 1"),
    pytest.param("prepare", "test_fraction", 1.5, ["1.5", "a value > 0 and < 1"], id="test fraction above 1"),
    pytest.param("prepare", "test_fraction", 0, ["a value > 0 and < 1"], id="test fraction 0"),
    pytest.param("prepare", "validation_fraction", -0.1, ["a value > 0 and < 1"], id="negative fraction"),
    pytest.param("prepare", "seed", "42", ["'42'", "an integer"], id="seed as text"),
    pytest.param("featurize", "max_vocab_size", len(SPECIAL_TOKENS),
                 [f"a value >= {len(SPECIAL_TOKENS) + 1}", "special tokens <pad>, <unk> and <empty>"],
                 id="vocabulary no larger than the special tokens"),
    pytest.param("featurize", "max_vocab_size", 0, ["a value >="], id="zero vocabulary size"),
    pytest.param("featurize", "min_frequency", 0, ["a value >= 1"], id="zero minimum frequency"),
    pytest.param("featurize", "batch_size", 0, ["a value >= 1"], id="zero tokenizer batch"),
    pytest.param("featurize", "keep_words", "not", ["'not'", "a list of strings"], id="keep words as text"),
    pytest.param("featurize", "keep_words", ["not", 3], ["a list of strings"], id="keep words with a number"),
    pytest.param("data", "raw", "", ["''", "a non-empty string"], id="empty data path"),
    pytest.param("data", "raw", None, ["None", "a non-empty string"], id="missing data path"),
    pytest.param("data", "text_column", 5, ["5", "a non-empty string"], id="column as number"),
    pytest.param("evaluate", "bootstrap_samples", 0, ["a value >= 1"], id="zero bootstrap samples"),
    pytest.param("evaluate", "baseline_c", 0, ["a value > 0"], id="zero regularisation"),
]


@pytest.mark.parametrize("section, key, value, fragments", INVALID_VALUES)
def test_invalid_value_names_the_key(section, key, value, fragments):
    values = {**DEFAULTS[section], key: value}

    with pytest.raises(UserInputError) as error:
        parse_section(section, values)

    message = str(error.value)
    assert f"invalid value for '{section}.{key}'" in message
    for fragment in fragments:
        assert fragment in message


SECTION_RULES = [
    pytest.param("prepare", {"validation_fraction": 0.5, "test_fraction": 0.5},
                 ["'prepare.validation_fraction'", "'prepare.test_fraction'", "sum must be < 1"], id="fractions sum 1"),
    pytest.param("prepare", {"validation_fraction": 0.6, "test_fraction": 0.7}, ["sum must be < 1"],
                 id="fractions sum above 1"),
    pytest.param("data", {"text_column": "score", "label_column": "score"},
                 ["'data.text_column' and 'data.label_column' are both 'score'"], id="same column twice"),
]


@pytest.mark.parametrize("section, changes, fragments", SECTION_RULES)
def test_rule_across_keys_is_checked(section, changes, fragments):
    with pytest.raises(UserInputError) as error:
        parse_section(section, {**DEFAULTS[section], **changes})

    for fragment in fragments:
        assert fragment in str(error.value)


BOUNDARY_VALUES = [
    pytest.param("featurize", "max_vocab_size", len(SPECIAL_TOKENS) + 1, len(SPECIAL_TOKENS) + 1,
                 id="one word besides the special tokens"),
    pytest.param("train", "lr", 1, 1.0, id="integer learning rate"),
    pytest.param("train", "dropout", 0, 0.0, id="no dropout"),
    pytest.param("train", "early_stopping_patience", 0, 0, id="early stopping off"),
    pytest.param("prepare", "test_fraction", 0.5, 0.5, id="half for testing"),
    pytest.param("train", "resume", False, False, id="resume off"),
]


@pytest.mark.parametrize("section, key, value, expected", BOUNDARY_VALUES)
def test_boundary_value_is_accepted(section, key, value, expected):
    settings = parse_section(section, {**DEFAULTS[section], key: value})

    assert getattr(settings, key) == expected


def replace_text(old: str, new: str):
    """Return a params.yaml text maker that replaces `old` once in the project's params.yaml."""
    def make() -> str:
        text = (REPO_ROOT / "params.yaml").read_text(encoding="utf-8")
        assert text.count(old) == 1, f"params.yaml no longer contains {old!r} once"
        return text.replace(old, new)
    return make


BAD_FILES = [
    pytest.param(replace_text("  epochs:", "  epoch:"), "train",
                 ["unknown key 'train.epoch'", "did you mean 'train.epochs'?"], id="misspelt key"),
    pytest.param(replace_text("  lr:", "  learning_rate:"), "train", ["unknown key 'train.learning_rate'"],
                 id="unknown key"),
    pytest.param(replace_text("  weight_decay: 0.0\n", ""), "train", ["missing key 'train.weight_decay'"],
                 id="missing key"),
    pytest.param(replace_text("train:", "trian:"), "train", ["unknown section 'trian'", "did you mean 'train'?"],
                 id="misspelt section"),
    pytest.param(replace_text("  lr: 0.003", "  lr: 0.003\n  lr: 0.01"), "train", ["invalid YAML", "duplicate"],
                 id="duplicate key"),
    pytest.param(replace_text("  lr: 0.003", "  lr: [0.003"), "train", ["invalid YAML"], id="unclosed bracket"),
    pytest.param(lambda: "- just\n- a list\n", "train", ["expected a mapping of sections"], id="list at top level"),
    pytest.param(lambda: "data: {raw: x.csv, text_column: content, label_column: score}\n", "train",
                 ["missing section 'train'"], id="missing section"),
    pytest.param(lambda: "train: 5\n", "train", ["section 'train' must be a mapping"], id="section not a mapping"),
]


@pytest.mark.parametrize("make_text, section, fragments", BAD_FILES)
def test_bad_params_file_is_explained(tmp_path, make_text, section, fragments):
    path = tmp_path / "params.yaml"
    path.write_text(make_text(), encoding="utf-8")

    with pytest.raises(UserInputError) as error:
        load_section(section, path)

    message = str(error.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message


def test_params_file_not_utf8_is_explained(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes("train:\n  device: cpu # café\n".encode("cp1252"))

    with pytest.raises(UserInputError) as error:
        read_params_file(path)

    assert "not valid UTF-8" in str(error.value)


def test_missing_params_file_is_explained(tmp_path):
    with pytest.raises(UserInputError) as error:
        read_params_file(tmp_path / "params.yaml")

    assert "parameters file not found" in str(error.value)


def test_yaml_12_reads_exponent_as_number(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(replace_text("  lr: 0.003", "  lr: 1e-6")(), encoding="utf-8")

    assert load_section("train", path).lr == pytest.approx(1e-6)


def test_project_params_are_valid():
    for section in SECTIONS:
        assert parse_section(section, DEFAULTS[section]) is not None


def test_stage_prints_one_line_for_bad_param(tmp_path):
    params = {section: dict(values) for section, values in DEFAULTS.items()}
    params["prepare"]["test_fraction"] = 1.0
    (tmp_path / "params.yaml").write_text(json.dumps(params), encoding="utf-8")  # JSON is valid YAML

    result = subprocess.run([sys.executable, str(REPO_ROOT / "stages/prepare.py")], cwd=tmp_path,
                            capture_output=True, text=True)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "prepare: error: params.yaml: invalid value for 'prepare.test_fraction': 1.0; expected a value > 0 and < 1."]
