# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Each has its own environment: the demo installs only what it runs (rlvideo with its gymnasium,
# gallery, progress and overlay extras) into $(DEMO_VENV); the tests and lint tools (the dev extra) go
# into $(VENV). $(MLFLOW_VENV) holds rlvideo with only the extras the README's MLflow example names
# (CartPole through gymnasium, the logger through mlflow): tests/test_extras.py runs the example there,
# so the mlflow extra cannot lean on a package only the dev extra brings.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_VENV ?= .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed
DEMO_EXTRAS := gymnasium,gallery,progress,overlay
MLFLOW_VENV ?= .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed
MLFLOW_EXTRAS := gymnasium,mlflow
# $(README_VENV) holds exactly what the README's Install section tells a user to install to run every
# example of the README and the docs (tests/test_readme.py runs them there, each page's in order, in
# a folder per page, and checks the README and docs/install.md say `pip install $(README_INSTALL)`).
# $(RLLIB_VENV) holds rlvideo with only its rllib extra (Ray's RLlib, which pins its own Gymnasium),
# torch (PPO's default modules), what tests/rllib needs (it runs there, on a local Ray), and
# OpenCV, which RLlib's own rendering example needs (benchmarks/bench_rllib.py runs it beside ours).
RLLIB_VENV ?= .venv-rllib
RLLIB_STAMP := $(RLLIB_VENV)/.installed
RLLIB_INSTALL := -e ".[rllib]" torch pytest s3fs "moto[server]" tensorboard opencv-python-headless
README_VENV ?= .venv-readme
README_STAMP := $(README_VENV)/.installed
README_INSTALL := -e ".[all]" ale-py minigrid box2d s3fs "moto[server]"

.PHONY: demo test lint docs bench clean mlflow-venv readme-venv rllib-venv

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(DEMO_STAMP): pyproject.toml
	python3 -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$(DEMO_EXTRAS)]"
	touch $(DEMO_STAMP)

$(MLFLOW_STAMP): pyproject.toml
	rm -rf $(MLFLOW_VENV)
	python3 -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$(MLFLOW_EXTRAS)]"
	touch $(MLFLOW_STAMP)

mlflow-venv: $(MLFLOW_STAMP)

$(README_STAMP): pyproject.toml Makefile
	rm -rf $(README_VENV)
	python3 -m venv $(README_VENV)
	$(README_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(README_INSTALL)
	touch $(README_STAMP)

readme-venv: $(README_STAMP)

$(RLLIB_STAMP): pyproject.toml Makefile
	rm -rf $(RLLIB_VENV)
	python3 -m venv $(RLLIB_VENV)
	$(RLLIB_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(RLLIB_INSTALL)
	touch $(RLLIB_STAMP)

rllib-venv: $(RLLIB_STAMP)

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/rlvideo demo --out videos

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples docs conftest.py
	$(VENV)/bin/ruff format --check src tests benchmarks examples docs/griffe_examples.py conftest.py  # the docs' code is laid out by hand
	$(VENV)/bin/mypy --strict src

# The documentation site (mkdocs.yml, docs/): build/site/index.html; --strict fails on any warning (a
# broken link, a docstring mkdocstrings cannot read). tests/test_docs.py builds it too, so make test
# checks it; `$(VENV)/bin/mkdocs serve` serves it while you edit.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir build/site

test: lint $(MLFLOW_STAMP) $(README_STAMP) $(RLLIB_STAMP)
	$(VENV)/bin/pytest
	$(RLLIB_VENV)/bin/pytest tests/rllib src/rlvideo/rllib.py

bench: $(STAMP) $(RLLIB_STAMP)
	$(PY) benchmarks/bench_save_video.py
	$(PY) benchmarks/bench_handoff.py
	$(PY) benchmarks/bench_frames.py
	$(PY) benchmarks/bench_colour.py
	$(PY) benchmarks/bench_record_video.py
	$(PY) benchmarks/bench_drain.py
	$(PY) benchmarks/bench_overlay.py
	$(PY) benchmarks/bench_replay.py
	$(RLLIB_VENV)/bin/python benchmarks/bench_rllib.py

clean:
	rm -rf $(VENV) $(DEMO_VENV) $(MLFLOW_VENV) $(README_VENV) $(RLLIB_VENV) videos build dist
