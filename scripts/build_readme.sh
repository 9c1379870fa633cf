#!/usr/bin/env bash
# Assemble README.md from its sections in docs/ (each section is written next to the work it describes).
set -euo pipefail
cd "$(dirname "$0")/.."
parts="head app core image reconstruct speed reliability tail"
{
  for p in $parts; do
    f="docs/readme_$p.md"
    [ -f "$f" ] || continue
    cat "$f"
    echo
  done
} > README.md
echo "README.md: $(wc -l < README.md) lines from: $parts"
