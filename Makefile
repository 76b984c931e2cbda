# The two README commands: `make demo` (set up, load the demo, serve) and `make test`.
# uv comes from PATH, or is installed once into .tools/ (a private virtual environment).
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)

.PHONY: setup demo test lint

setup: $(UV)
	$(UV) sync --frozen
	scripts/install-web-assets.sh

$(CURDIR)/.tools/bin/uv:
	python3 -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

demo: setup
	$(UV) run caregrid demo

test: setup
	UV=$(UV) scripts/test.sh

lint: setup
	$(UV) run ruff check src tests
	$(UV) run ruff format --check src tests
	$(UV) run mypy
