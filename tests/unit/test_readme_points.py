"""The README states the assignment's total and each notebook's weight (issue 26, item 5): its
points table must equal what the notebooks' nbgrader metadata adds up to."""
import re

import nbformat

from kit.notebook_rules import NOTEBOOKS
from kit_helpers import REPO

ROW = re.compile(r"^\| (`[\w.]+`|the assignment) \| (\d+) \| (\d+) \| (\d+) \| (\d+)% \|$", re.MULTILINE)


def points(name):
    """(test cells' points, written answers' points) of a source notebook."""
    graded = [c.metadata["nbgrader"] for c in nbformat.read(REPO / "notebooks" / name, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade")]
    return (sum(m["points"] for m in graded if not m.get("solution")),
            sum(m["points"] for m in graded if m.get("solution")))


def test_the_readme_points_table_matches_the_notebooks():
    text = (REPO / "README.md").read_text()
    rows = {name.strip("`"): tuple(int(n) for n in numbers) for name, *numbers in ROW.findall(text)}
    each = {name: points(name) for name in NOTEBOOKS}
    total = sum(sum(p) for p in each.values())
    expected = {name: (tests, written, tests + written, round(100 * (tests + written) / total))
                for name, (tests, written) in each.items()}
    expected["the assignment"] = (sum(p[0] for p in each.values()), sum(p[1] for p in each.values()), total, 100)
    assert rows == expected
    assert f"worth {total} points" in text
