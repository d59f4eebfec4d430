"""Tests and code point at the project's own documentation (docs/mapping.md), never at documents outside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"actions-mapping\.md|analytics-js\.md|customerio\.md|/work/shared|\.\./shared")
SECTION_REF = re.compile(r"docs/mapping\.md ?§(\d+(?:\.\d+)?)")


def _files() -> list[Path]:
    files = [*ROOT.joinpath("tests").rglob("*.py"), *ROOT.joinpath("cio_browser").rglob("*.py")]
    return files


def test_no_reference_to_documents_outside_the_repository():
    offenders = [f"{f.relative_to(ROOT)}: {m.group(0)}" for f in _files()
                 if f != Path(__file__) for m in OUTSIDE.finditer(f.read_text(encoding="utf-8"))]
    assert offenders == []


def test_every_cited_section_of_docs_mapping_exists():
    doc = ROOT.joinpath("docs", "mapping.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", doc, flags=re.M))
    cited = {m.group(1) for f in _files() for m in SECTION_REF.finditer(f.read_text(encoding="utf-8"))}
    assert cited and cited <= headings, sorted(cited - headings)
