"""The key to the source tags, and text that points only inside the repository."""

import json
import re
from pathlib import Path

import pytest

from simsav.cli import main
from simsav.contracts import PRESETS
from simsav.contracts.sources import RELIABILITY, SOURCES, cited_ids

ROOT = Path(__file__).resolve().parents[1]


def test_every_source_a_preset_cites_is_defined():
    cited = {i for c in PRESETS.values() for i in cited_ids(c.description)}
    # the parser finds the ids the presets do cite (a test that cannot fail is a defect)
    assert {"RF2026", "HDM", "SHEP", "AJMC-NG", "MCM", "AXENE", "PR2011", "GFR", "MILL-PTS",
            "CMMI-PIO", "EAC"} <= cited
    assert sorted(cited - set(SOURCES)) == []


def test_every_preset_tag_starts_with_a_reliability_letter_or_names_a_source():
    for name, c in PRESETS.items():
        for tag in re.findall(r"\[([A-Za-z][^\]]*)\]", c.description):  # not [40%, 75%]
            first = re.split(r"[\s:;,]", tag.strip())[0]
            assert first in RELIABILITY or first in SOURCES, (name, tag)


def test_cited_ids_flags_an_undefined_source():
    ids = cited_ids("cap 15% [S NOPE-99; V 42 CFR 425.606(g)] and [U: typical terms]")
    assert ids == ["NOPE-99"] and "NOPE-99" not in SOURCES


def test_presets_sources_prints_the_key(capsys):
    assert main(["presets", "--sources"]) == 0
    out = capsys.readouterr().out
    for key in ("RF2026", "SHEP", "unverified", "42 CFR 425.604"):
        assert key in out
    assert main(["presets", "--sources", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["reliability"]) == {"V", "S", "D", "U"}
    assert data["sources"]["HDM"]["where"].startswith("https://")


_OUTSIDE = re.compile(r"shared/(domain|data)|\.\./shared|[0-9]{3}_[0-9a-f]{16}\.txt|"
                      r"contract-rules\.md|literature\.md|current-models\.md")


def _texts():
    for pattern in ("simsav/**/*.py", "simsav/**/*.md", "scenarios/**/*.toml",
                    "notebooks/*.ipynb", "README.md", "docs/*.md"):
        yield from ROOT.glob(pattern)


@pytest.mark.parametrize("path", sorted(_texts()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_reference_to_files_outside_the_repository(path):
    hits = [(i, line.strip()) for i, line in enumerate(path.read_text().splitlines(), 1)
            if _OUTSIDE.search(line)]
    assert not hits, f"{path.relative_to(ROOT)} cites files outside the repository: {hits}"


def test_readme_lists_every_preset():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in PRESETS if f"`{name}`" not in readme]
    assert missing == []
