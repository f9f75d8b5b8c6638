"""The class's grades from the score store (kit/score_store.py: the gradebook as it stands,
hand grades included): `course/grades.csv`, a terminal table, a summary line per test cell
and a plot of the score distribution and the pass rates (`write_reports`), and the totals
every report shares.
"""
import csv
import statistics
from pathlib import Path

from .notebook_rules import NOTEBOOKS
from .score_store import load_summaries
from .scores import AUTO, MANUAL
from .spreadsheet import fmt, spreadsheet_safe


def columns_of(summaries, kind):
    """The grade ids of one kind of cell, in notebook order, over every StudentScores."""
    columns = []
    for summary in summaries:
        for nb in NOTEBOOKS:
            for gid, s in summary.scores.get(nb, {}).items():
                if s.kind == kind and gid not in columns:
                    columns.append(gid)
    return columns


def auto_columns(summaries):
    return columns_of(summaries, AUTO)


def write_reports(course, plot=True, table=True):
    """grades.csv from the gradebook as it stands (a column per test cell and per written
    answer; auto, manual, the late penalty worked out from them and the total after it), a
    terminal table and summary (table=False: only where grades.csv went), and a summary plot.

    Every command that changes or reads final grades calls it (autograde, feedback, report,
    export), so grades.csv never lags behind a hand grade. Returns the path of grades.csv.
    """
    summaries = load_summaries(course)
    columns, manual = auto_columns(summaries), columns_of(summaries, MANUAL)
    path = Path(course) / "grades.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([spreadsheet_safe(c) for c in [
            "student", *columns, *manual, "auto", "manual", "late penalty", "total", "max", "status"]])
        for summary in summaries:
            flat = {s.grade_id: s for s in summary.cells()}
            auto, by_hand = summary.totals(AUTO)[0], summary.totals(MANUAL)[0]
            writer.writerow([spreadsheet_safe(cell) for cell in [
                summary.student, *(fmt(flat[c].score) if c in flat else "" for c in columns + manual),
                fmt(auto), fmt(by_hand), late_cell(summary.late), fmt(summary.final_total),
                fmt(summary.most), summary.status]])
    if table:
        print_table(summaries)
        print_summary(summaries, columns)
    if plot and summaries:
        plot_summary(course, summaries, columns)
    print(f"Grades: {path}")
    return path


def late_cell(info):
    """grades.csv's `late penalty`: the points nbgrader took off; "" without a due date;
    "unknown" when the submission time is unknown (never guessed: see the status)."""
    if info["seconds_late"] is None:
        return "unknown"
    return "" if info["penalty"] is None else fmt(info["penalty"])


def print_table(summaries):
    width = max([len(s.student) for s in summaries] + [7])
    print(f"{'student':<{width}}  {'score':>11}  status")
    for summary in summaries:
        total, most = summary.totals()
        print(f"{summary.student:<{width}}  {total:>5g} / {most:<3g}  {summary.status}")


def pass_rates(summaries, columns):
    rates = {}
    for column in columns:
        cells = [s for summary in summaries for s in summary.cells() if s.grade_id == column]
        rates[column] = sum(1 for s in cells if s.passed) / max(1, len(cells))
    return rates


def print_summary(summaries, columns):
    if not summaries:
        return
    scores = [s.totals()[0] for s in summaries]
    most = max(s.totals()[1] for s in summaries)
    print(f"Scores of {len(scores)} submissions (out of {most:g}): min {min(scores):g}, "
          f"median {statistics.median(scores):g}, max {max(scores):g}")
    for column, rate in pass_rates(summaries, columns).items():
        print(f"  {column:<40} passed by {rate:4.0%}")


def plot_summary(course, summaries, columns):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    scores = [s.totals()[0] for s in summaries]
    most = max(s.totals()[1] for s in summaries)
    rates = pass_rates(summaries, columns)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 1.4]})
    # One bar per whole point (scores are sums of whole points), so no two scores share a bar.
    left.hist(scores, bins=[b - 0.5 for b in range(int(most) + 2)], color="tab:blue")
    left.set(title="Autograded scores", xlabel=f"score (out of {most:g})", ylabel="students",
             xlim=(-0.5, most + 0.5))
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.barh(list(rates), [100 * r for r in rates.values()], color="tab:green")
    right.set(title="Pass rate per test cell", xlabel="% of submissions passing", xlim=(0, 100))
    right.invert_yaxis()
    fig.tight_layout()
    target = Path(course) / "grades_summary.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    print(f"Summary plot: {target}")
