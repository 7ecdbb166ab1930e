# Segment Workbench: `make run` and `make test` do all the set-up on a fresh machine.
VENV    := .venv
PY      := $(VENV)/bin/python
SEGWORK := $(VENV)/bin/segwork
TENANTS := $(notdir $(patsubst %/catalog.yaml,%,$(wildcard tenants/*/catalog.yaml)))
CUSTOMERS ?= 200000
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup data index run test bench screenshots clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

data: setup
	@for t in $(TENANTS); do $(SEGWORK) data generate --tenant $$t --customers $(CUSTOMERS) --if-missing || exit 1; done

index: data
	@for t in $(TENANTS); do $(SEGWORK) index --tenant $$t || exit 1; done

run: index
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

test: index
	$(PY) -m pytest

screenshots: index
	SEGWORK_SCREENSHOTS=tests/screenshots $(PY) -m pytest -q tests/test_browser.py

bench: setup
	$(PY) benchmarks/dryrun.py
	$(PY) benchmarks/retrieval.py
	$(PY) benchmarks/latency.py

clean:
	rm -rf .index sample_data/*.duckdb runs tests/artifacts
