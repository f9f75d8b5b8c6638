"""`python -m kit similarity`: which submissions share code, with each other or with known solutions.

Every submission's own code (its student-owned `classifiers/*.py` and the code cells it
wrote in the notebooks) is compared with every other submission's and with an optional
folder of known solutions (say, the public solution repositories of this assignment) by
copydetect: winnowed fingerprints of pygments tokens with every name replaced by one
letter, so renamed variables, reformatting and reordered functions change nothing.

The base never counts (MOSS's "base file", copydetect's boilerplate): only the lines a
submission added to or changed in the release's files and answer cells are compared (locked
and test cells not at all); lines of the base (the release's among them) are dropped
wherever they stand, so a moved signature or a reordered file hides nothing; and any fingerprint of the base found in what is left is boilerplate. The base is the
release, the kit's stand-in for what every edition's starter gives (`given_code`: the import
lines of the course's files of each year and the naive SVM loss loop the course hands out,
which the kit's stub asks students to write), and every `--base` folder (the course's own
starter files of every year, unzipped: code real submissions are made of). So an untouched
release or starter is similar to nothing, and two students are not similar for filling in
the same starter.

Pairs are ranked by their score, the larger of the two shares of a side's own code found in
the other, and only those scoring at least THRESHOLD (60%) are listed; the page and the CSV
say how many were left out and the best score among them. Why 60%: on the labelled class
of tests/similarity_class.py (six independent correct solutions of different years and
styles in the course's form, four planted copies: renamed and reformatted, reordered, split
into helpers, all at once under another year's imports) independent pairs score at most
11% and copies at least 90% (before the base held the course's imports and naive loop:
independent pairs up to 44%, copies from 94%); the two student-to-student copies the issue
found scored about 80%. 60% sits far from both: an independent pair would need to share
five times the idioms the class shows, a copy could lose a third of its code to rewriting
and still be listed. Lower it (`--threshold`) to see more.

Student code is untrusted text here: read with a size bound, never executed, imported or
rendered. The report is a static HTML page (no script; everything escaped; a content
security policy that allows no script, image or remote resource) with the pairs ranked
and the matching regions side by side, plus the same ranking as CSV. Nothing leaves the
machine.
"""
import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path

from .course import Course, KitError
from .similarity_report import print_top, render_html, write_csv
from .similarity_sources import (Document, base_code, base_lines, given_code, known_solutions,
                                 read_release, student_document, submission_folders)

# copydetect's defaults: a match must cover 25 characters of the token string (names are
# one letter there, so about a statement), and every such match is guaranteed found.
NOISE = 25
GUARANTEE = 25
DEFAULT_SHOWN = 50  # pairs the HTML report shows side by side
# Pairs scoring below this share of one side's own code are left out of the page and the
# CSV (counted there, with the best score left out). Why 0.6: see the module docstring.
THRESHOLD = 0.6


@dataclass
class Pair:
    a: Document
    b: Document
    similarity_a: float  # share of a's own (non-boilerplate) code found in b
    similarity_b: float
    tokens: int          # matching tokens
    slices_a: list       # [(start, end)] character ranges of a.text that match b
    slices_b: list

    @property
    def score(self):
        return max(self.similarity_a, self.similarity_b)


def run(*, course, known=None, base=(), out=None, show=DEFAULT_SHOWN, threshold=THRESHOLD, noise=NOISE,
        guarantee=GUARANTEE, verbose=True):
    """
    Compare every submission with every other and with the known solutions.

    Inputs:
    - course: the nbgrader course folder; submissions are read from submitted/ (else
      autograded/), the boilerplate from release/.
    - known: a folder of known solutions (every .py and .ipynb under it), or None.
    - base: folders of code that never counts (MOSS's base file), e.g. the course's starter
      files of every year; every .py and .ipynb under each. The release and the kit's
      stand-in for every edition's starter (`given_code`) never count either.
    - out: the folder for similarity.html and similarity.csv (default course/similarity).
    - show: how many of the top pairs the HTML shows side by side.
    - threshold: the score (0 to 1) a pair needs to be listed on the page and in the CSV;
      both say how many pairs were left out below it.
    - noise, guarantee: copydetect's thresholds, in characters of the token string.
    - verbose: print the top pairs.

    Returns:
    - dict with "pairs" (every compared Pair with a match, best first), "listed" (those at
      or above the threshold), "documents" (every Document read), "html" and "csv" (the
      paths written).

    Raises KitError when the course has no release or no submissions, `known` or a base is
    not a folder, or the threshold is not between 0 and 1.
    """
    course = Course(course)
    if not isinstance(show, int) or show < 0:
        raise KitError(f"expected --show to be a whole number of at least 0, got {show!r} instead")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise KitError(f"expected the threshold to be a share between 0 and 1, got {threshold!r} instead")
    release = course.release
    if not release.is_dir():
        raise KitError(f"expected the release in {release}, found none; run `python -m kit release` first")
    if known is not None and not Path(known).is_dir():
        raise KitError(f"expected --known to be a folder of known solutions, got {known} instead")
    base = [Path(b) for b in base]
    for folder in base:
        if not folder.is_dir():
            raise KitError(f"expected --base to be a folder of starter code, got {folder} instead")
    students = submission_folders(course)
    if not students:
        raise KitError(f"no submissions under {course.submitted()} or {course.autograded()}; "
                       f"run `python -m kit collect` first")
    base_texts, base_notes = [given_code()], []
    for folder in base:
        base_texts += base_code(folder, base_notes)
    given = read_release(release)
    given = dataclasses.replace(given, base_lines=base_lines(base_texts + [given.text]))
    documents = [student_document(name, folder, given) for name, folder in students.items()]
    known_documents = known_solutions(Path(known), given) if known is not None else []
    boilerplate = boilerplate_hashes("\n\n".join([given.text] + base_texts), noise)
    pairs = compare(documents, known_documents, boilerplate, noise, guarantee)
    listed = [p for p in pairs if p.score >= threshold]

    out = Path(out) if out is not None else course / "similarity"
    out.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = out / "similarity.html", out / "similarity.csv"
    everything = documents + known_documents
    if base_notes:
        everything.append(Document(name="--base", kind="base", notes=base_notes))
    left_out = pairs[len(listed):]
    write_csv(csv_path, listed, left_out, threshold)
    html_path.write_text(render_html(listed, left_out, everything, show, threshold, len(base)),
                         encoding="utf-8")
    if verbose:
        print_top(listed, left_out, everything, threshold)
        print(f"Similarity: {html_path} and {csv_path}")
    return {"pairs": pairs, "listed": listed, "documents": everything, "html": html_path, "csv": csv_path}


# -- comparing -------------------------------------------------------------------------

def fingerprint(text, noise, guarantee, boilerplate=None):
    """copydetect's fingerprint of `text`, without the `boilerplate` hashes."""
    from copydetect import CodeFingerprint
    # The text is handed over as a stream: copydetect opens no file; "code.py" only picks the lexer.
    return CodeFingerprint("code.py", k=noise, win_size=guarantee - noise + 1, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(text))


def boilerplate_hashes(text, noise):
    """Every fingerprint of the release's code (all of them: a window of 1), as copydetect takes them."""
    import numpy as np
    return np.unique(np.array(sorted(fingerprint(text, noise, noise).hashes), dtype=np.int64))


def compare(documents, known_documents, boilerplate, noise, guarantee):
    """Every student with every other student and with every known solution; the pairs
    with any match, best first."""
    from copydetect import compare_files
    if guarantee < noise:
        raise KitError(f"expected the guarantee threshold to be at least the noise threshold "
                       f"({noise}), got {guarantee} instead")
    prints = {id(d): fingerprint(d.text, noise, guarantee, boilerplate) for d in documents + known_documents}
    candidates = [(a, b) for i, a in enumerate(documents) for b in documents[i + 1:]]
    candidates += [(a, b) for a in documents for b in known_documents]
    pairs = []
    for a, b in candidates:
        tokens, (sim_a, sim_b), (slices_a, slices_b) = compare_files(prints[id(a)], prints[id(b)])
        if tokens > 0:
            pairs.append(Pair(a, b, float(sim_a), float(sim_b), int(tokens),
                              ranges(slices_a), ranges(slices_b)))
    pairs.sort(key=lambda p: (-p.score, -p.tokens, p.a.name, p.b.name))
    return pairs


def ranges(slices):
    """copydetect's 2xN array of slice starts and ends as sorted [(start, end)]."""
    return sorted((int(s), int(e)) for s, e in zip(slices[0], slices[1]))


