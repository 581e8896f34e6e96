# The README's two commands live here: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench schema dist clean system-deps

# (Re)install only when the project's metadata changed.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/reelform apply specs/demo.yaml --yes
	@echo
	@echo "Videos are in out/demo/ (run 'make demo' again: nothing is rendered twice)."

test: $(STAMP) system-deps
	$(BIN)/ruff check engine tests bench scripts
	$(BIN)/ruff format --check engine tests bench scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# Programs the tests need beyond Python (a database server, a browser): each script in
# scripts/system-deps/ installs its own from Debian's packages when it is missing, and
# does nothing when it is there.
system-deps:
	@for s in scripts/system-deps/*.sh; do [ -e "$$s" ] || continue; bash "$$s" || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check engine tests bench scripts
	$(BIN)/ruff format --check engine tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/reelform schema > schemas/reelform.schema.json

bench: $(STAMP)
	for b in bench/plan_noop.py bench/apply_overhead.py bench/apply_ratelimit.py bench/apply_polling.py bench/local_render.py bench/watch_replan.py bench/review_gallery.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The sdist and the wheel into dist/, with the build tools of the test extras (no
# download). A fresh build/ each time: stale files in it would end up in the wheel.
dist: $(STAMP)
	rm -rf build dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	rm -rf build

clean:
	rm -rf $(VENV) out build dist .pytest_cache .mypy_cache .ruff_cache
