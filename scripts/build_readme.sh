#!/usr/bin/env bash
# Assemble README.md from its parts in docs/readme/ (in the order below). Each part starts with a marker
# line saying where to edit; the marker is left out of README.md, whose first line says how it was made.
#   bash scripts/build_readme.sh          write README.md
#   bash scripts/build_readme.sh OUT      write OUT instead (tests/test_readme.py compares the two)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-README.md}"
parts="intro app command-line formats install project"
marker="<!-- part of README.md: edit here, then run scripts/build_readme.sh -->"
{
  echo "<!-- generated from docs/readme/*.md by scripts/build_readme.sh: edit those parts, not this file -->"
  first=1
  for p in $parts; do
    f="docs/readme/$p.md"
    if [ "$(head -n 1 "$f")" != "$marker" ]; then
      echo "build_readme.sh: $f does not start with the marker line" >&2
      exit 1
    fi
    [ $first = 1 ] || echo
    first=0
    tail -n +2 "$f"
  done
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out: $(wc -l < "$out") lines from docs/readme/{${parts// /,}}.md"
