"""README.md is generated from docs/readme/*.md by scripts/build_readme.sh, stays short, and links only to
files that exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAX_LINES = 320
MARKER = "<!-- part of README.md: edit here, then run scripts/build_readme.sh -->"


def test_readme_is_what_the_script_assembles(tmp_path):
    out = tmp_path / "README.md"
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "build_readme.sh"), str(out)], check=True, capture_output=True, text=True
    )
    assert out.read_text() == README.read_text(), "README.md is stale: run scripts/build_readme.sh"


def test_every_part_starts_with_the_marker():
    parts = sorted((ROOT / "docs" / "readme").glob("*.md"))
    assert parts
    for part in parts:
        assert part.read_text().splitlines()[0] == MARKER, part.name


def test_readme_is_short():
    n = len(README.read_text().splitlines())
    assert n <= MAX_LINES, f"README.md has {n} lines (at most {MAX_LINES}); move detail to docs/"


def local_links(path: Path) -> list[str]:
    """The file paths that Markdown links and images in `path` point at (no URLs, no anchors)."""
    text = path.read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    return [link.split("#")[0] for link in links if not re.match(r"[a-z]+:", link) and not link.startswith("#")]


def test_local_links_point_at_files():
    links = local_links(README)
    assert links, "no local links found"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_docs_links_point_at_files():
    for doc in sorted((ROOT / "docs").glob("*.md")):
        missing = [link for link in local_links(doc) if not (doc.parent / link).exists()]
        assert not missing, f"{doc.name} links to missing files: {missing}"
