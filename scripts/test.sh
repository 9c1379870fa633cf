#!/usr/bin/env bash
# Run the whole test suite: the layers and the lint first (import-linter's contracts in pyproject.toml:
# the core's layers and Qt only in inrview/app; ruff's lint, import order and format), then pytest (core, widgets, the real window under
# Xvfb that the tests start themselves, and the command line end to end). Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
.venv/bin/lint-imports --no-cache || { echo "test.sh: a layer contract is broken (see above)" >&2; exit 1; }
.venv/bin/ruff check . || { echo "test.sh: ruff found problems (see above)" >&2; exit 1; }
.venv/bin/ruff format --check . || { echo "test.sh: ruff format would change the files above (run .venv/bin/ruff format .)" >&2; exit 1; }
.venv/bin/python -m pytest -ra "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "test.sh: pytest collected no tests" >&2
  exit 1
fi
exit $rc
