#!/usr/bin/env bash
# Run the whole test suite (core, widgets, the real window under Xvfb that the tests start themselves,
# and the command line end to end). Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
.venv/bin/python -m pytest -ra "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "test.sh: pytest collected no tests" >&2
  exit 1
fi
exit $rc
