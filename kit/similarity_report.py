"""What `kit similarity` writes: the ranked pairs as CSV, a few lines on the terminal, and a
static HTML page (no script; a content security policy that allows no script, image or
remote resource) with the matching regions side by side, rendered by Jinja2 with
autoescaping (kit/page_templates/similarity.html.j2, through kit/pages.py): every student text is escaped there.
"""
import csv

from markupsafe import Markup, escape

from .course import ASSIGNMENT
from .pages import render
from .spreadsheet import printable, spreadsheet_safe

# Lines of context shown around each matching region in the side-by-side view, and the
# most pairs the page's table lists (the CSV has them all).
CONTEXT = 3
MAX_TABLE_ROWS = 500


def line_ranges(text, slices):
    """Matching regions as 1-based line ranges, e.g. "12-30 41-41"."""
    def line(pos):
        return text.count("\n", 0, pos) + 1
    return " ".join(f"{line(s)}-{line(max(s, e - 1))}" for s, e in slices)


CSV_HEADER = ["rank", "a", "b", "kind", "similarity_a_percent", "similarity_b_percent",
              "matching_tokens", "a_lines", "b_lines"]


def left_out_line(left_out, threshold):
    """How many pairs the threshold left out, and the best of them."""
    if not left_out:
        return f"No pair was left out: every pair with a match scores at least {100 * threshold:.0f}%."
    return (f"{len(left_out)} pairs scoring below the threshold of {100 * threshold:.0f}% are left out "
            f"(the best of them scores {100 * left_out[0].score:.1f}%).")


def write_csv(path, listed, left_out, threshold):
    """The listed pairs, ranked; then one row whose rank is empty saying how many were left out."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        for rank, p in enumerate(listed, 1):
            writer.writerow([spreadsheet_safe(v) for v in [
                rank, p.a.name, p.b.name, p.b.kind, f"{100 * p.similarity_a:.1f}",
                f"{100 * p.similarity_b:.1f}", p.tokens,
                line_ranges(p.a.text, p.slices_a), line_ranges(p.b.text, p.slices_b)]])
        writer.writerow(["", left_out_line(left_out, threshold)] + [""] * (len(CSV_HEADER) - 2))


def print_top(listed, left_out, documents, threshold, count=10):
    print(f"Compared {sum(d.kind == 'student' for d in documents)} submissions and "
          f"{sum(d.kind == 'known' for d in documents)} known solutions; "
          f"{len(listed)} pairs score at least {100 * threshold:.0f}%")
    for p in listed[:count]:
        print(f"  {100 * p.score:5.1f}%  {printable(p.a.name)}  ~  {printable(p.b.name)}  ({p.tokens} tokens)")
    print(left_out_line(left_out, threshold))


STYLE = """
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }
.sides { display: flex; gap: 1em; }
.side { flex: 1; min-width: 0; overflow-x: auto; }
pre { background: #f7f7f7; padding: 0.5em; font-size: 85%; }
mark { background: #ffd27f; }
.gap { color: #888; }
"""
# No script may run, nothing may load: the page is student text shown to an instructor.
POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def render_side(text, slices):
    """The lines of `text` around its matching regions, numbered, the regions marked;
    other lines become one "..." line. Everything escaped."""
    lines = text.splitlines(keepends=True)
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line)
    touched = set()
    for s, e in slices:
        first = text.count("\n", 0, s)
        last = text.count("\n", 0, max(s, e - 1))
        touched.update(range(max(0, first - CONTEXT), min(len(lines), last + CONTEXT + 1)))
    out, skipped = [], False
    for number, line in enumerate(lines):
        if number not in touched:
            skipped = True
            continue
        if skipped:
            out.append('<span class="gap">...</span>\n')
            skipped = False
        start, end = starts[number], starts[number] + len(line)
        cuts = sorted({start, end} | {min(max(x, start), end) for s, e in slices for x in (s, e)})
        pieces = []
        for lo, hi in zip(cuts, cuts[1:]):
            piece = escape(text[lo:hi].rstrip("\n"))
            inside = any(s <= lo and hi <= e for s, e in slices)
            pieces.append(f"<mark>{piece}</mark>" if inside and piece else piece)
        out.append(f"{number + 1:5d}  {''.join(pieces)}\n")
    if skipped:
        out.append('<span class="gap">...</span>\n')
    return Markup("".join(out))   # every piece of the text was escaped above


def render_html(pairs, left_out, documents, show, threshold, bases):
    """The similarity page (kit/page_templates/similarity.html.j2)."""
    return render(
        "similarity.html.j2", assignment=ASSIGNMENT, policy=Markup(POLICY), style=Markup(STYLE), threshold=100 * threshold,
        pairs=pairs, table=pairs[:MAX_TABLE_ROWS], more=max(0, len(pairs) - MAX_TABLE_ROWS),
        left_out=left_out, left_out_line=left_out_line(left_out, threshold), show=show,
        shown=[(rank, p, render_side(p.a.text, p.slices_a), render_side(p.b.text, p.slices_b))
               for rank, p in enumerate(pairs[:show], 1)],
        notes=[(d.name, note) for d in documents for note in d.notes],
        students=sum(d.kind == "student" for d in documents),
        known=sum(d.kind == "known" for d in documents), bases=bases)
