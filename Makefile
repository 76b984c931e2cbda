# The two README commands: `make demo` (set up, load the demo, serve) and `make test`.
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)

.PHONY: setup demo test lint

setup:
	@command -v uv >/dev/null 2>&1 || test -x $(HOME)/.local/bin/uv || \
		python3 -m pip install --quiet --user "uv==$(UV_VERSION)"
	$(UV) sync --frozen

demo: setup
	$(UV) run caregrid demo

test: setup
	UV=$(UV) scripts/test.sh

lint: setup
	$(UV) run ruff check src tests
	$(UV) run mypy
