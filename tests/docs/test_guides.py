"""Every user-facing guide exists in English and in French, with the same sections.

A guide's sections are its Markdown headings; the two languages must have the
same outline (the same levels in the same order), so that a section added to
one and forgotten in the other fails here. Links between the two must work.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"

GUIDES = [
    ("ADMIN.md", "fr/ADMIN.md"),
    ("CLIENT.md", "fr/CLIENT.md"),
    ("CLUSTER.md", "fr/GRAPPE.md"),
    ("DEPLOYMENT.md", "fr/DEPLOIEMENT.md"),
    ("INSTALL.md", "fr/INSTALLATION.md"),
    ("LIMITS.md", "fr/LIMITES.md"),
    ("TOUR.md", "fr/VISITE.md"),
]
"""(English guide, its French translation), paths under docs/."""

HEADING = re.compile(r"^(#{1,6}) (.+)$")
FENCE = re.compile(r"^(```|~~~)")


def outline(path: Path) -> list[tuple[int, str]]:
    """The headings of a Markdown file, outside code blocks: (level, title)."""
    headings = []
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code and (found := HEADING.match(line)):
            headings.append((len(found.group(1)), found.group(2)))
    return headings


@pytest.mark.parametrize(("english", "french"), GUIDES, ids=[pair[0] for pair in GUIDES])
def test_the_french_guide_has_the_sections_of_the_english_one(english: str, french: str) -> None:
    ours, theirs = outline(DOCS / english), outline(DOCS / french)
    assert len(ours) > 1
    assert [level for level, _ in ours] == [level for level, _ in theirs], (
        "the outlines differ:\n"
        + "\n".join(
            f"{'#' * a[0]} {a[1]:<50} | {'#' * b[0]} {b[1]}"
            for a, b in zip(ours, theirs, strict=False)
        )
        + f"\n({len(ours)} headings in {english}, {len(theirs)} in {french})"
    )


@pytest.mark.parametrize(("english", "french"), GUIDES, ids=[pair[0] for pair in GUIDES])
def test_each_guide_links_to_its_translation(english: str, french: str) -> None:
    for source, target in ((english, french), (french, english)):
        text = (DOCS / source).read_text(encoding="utf-8")
        links = re.findall(r"\]\(([^)#]+\.md)\)", text)
        targets = {((DOCS / source).parent / link).resolve() for link in links}
        assert (DOCS / target).resolve() in targets, f"{source} does not link to {target}"


def test_every_relative_link_of_the_guides_leads_to_a_file() -> None:
    broken = []
    for path in [DOCS.parent / "README.md", *DOCS.glob("*.md"), *DOCS.glob("fr/*.md")]:
        for link in re.findall(r"\]\(([^):#]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if not (path.parent / link).exists():
                broken.append(f"{path.relative_to(DOCS.parent)} -> {link}")
    assert broken == []
