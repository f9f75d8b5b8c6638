"""Graded notebooks made safe to show: nothing a student wrote or ran is executed, rendered
as HTML or followed as a link.

Why: graded notebooks are rendered by nbgrader's formgrader on the instructor's Jupyter
origin, where a script acts with the instructor's session (it can read and write every
file through the REST API), and `kit feedback` turns them into the HTML students open.
Every character in them that came from a student (answer text, extra cells, outputs of
their code, metadata) is untrusted data.

`graded_notebook(nb)` returns a sanitized copy that guarantees, for a notebook whose
instructor cells (locked and test cells, `cells.is_instructor_cell`) were restored from
the instructor's source by the grader (so their source and attachments are trusted):
- outputs of every code cell are text (stream, error, text/plain) or PNG/JPEG images whose
  payload is valid base64 of a PNG/JPEG of at most MAX_IMAGE_BYTES whose header (read, not
  decoded) gives at most MAX_IMAGE_PIXELS, else a note says why it was left out; everything else
  (HTML, JavaScript, SVG, Markdown, LaTeX, JSON, widget views, unknown types) is dropped,
  with a text note when nothing is left; output metadata is dropped (nbconvert reads image
  file names and "isolated" iframes from it);
- the text of every other markdown or raw cell cannot form an HTML tag, comment or
  autolink, whatever a renderer takes for code or math: every "<" followed by a letter,
  "/", "!" or "?" gets a space after it. A rule on characters, so it also holds in code
  spans and math (`a<b` reads `a< b`, `$0 < p$` is unchanged, both still readable);
- link and image destinations in that text (after "](" or "]:", found more leniently than
  any markdown renderer) are http, https, mailto, an in-page "#anchor", or an attachment
  kept here. Anything else is disarmed, relative paths included: formgrader serves every
  file of the course folder under the page's own (secret) submission URL, unsandboxed,
  so a relative link could open a student's HTML file on the instructor's origin. A
  destination is judged as bleach judges a URL (entities, backslashes, whitespace,
  control and non-ASCII characters removed first), and disarmed by turning its "(" or
  ":" into the fullwidth form: the text still shows, no renderer sees a link;
- Mermaid code fences in that text become plain code (Mermaid draws with its own HTML);
- attachments of those cells: PNG/JPEG only, checked as outputs; raw cells lose their
  format metadata (nbconvert writes a text/html raw cell into the page as HTML);
- cells keep only the metadata `nbgrader` (its grade_id checked: formgrader writes it into
  HTML attributes unescaped) and `kit`; cell ids are valid nbformat ids, execution counts
  integers; the notebook keeps kernelspec and language_info (short strings only): no
  widget state, no title;
- bounded cost: student cells, outputs, images and text within per-notebook budgets
  (MAX_OUTPUTS and below it), what is over them left out or cut with a note.
"""
import copy
import html
import itertools
import re

import nbformat

from . import cells
from .images import IMAGE_MAGIC, checked_image, field_text as _text
from .notebook_limits import MAX_CELLS

# Bounds on what a student's process can put into the page a grader opens. A CIFAR-10
# weight plot is ~0.1 MiB of PNG; a page with hundreds of megabytes of images or text
# freezes the browser (formgrader renders a whole notebook at once).
MAX_IMAGES = 100                    # per notebook, outputs and attachments together
MAX_TEXT_CHARS = 200_000            # one text output field, one markdown or raw cell
MAX_DESTINATION_SCAN = 200          # characters read after "](" to judge a destination
# Per notebook, so that showing any notebook costs the same order as showing a real one
# (nbconvert spends ~7 ms per cell, and time per character of text): the real notebooks
# have ~60 cells, ~100 outputs and well under 200,000 characters of student text once
# run. Student cells over kit/notebook_limits.py's MAX_CELLS (which collect and the
# grader already enforce) are left out with one note; what is over the other budgets is
# left out or cut, each with a note.
MAX_OUTPUTS = 2_000                 # outputs of student code (grading keeps 500 per cell)
MAX_NOTEBOOK_TEXT_CHARS = 2_000_000  # student text: sources, text outputs, tracebacks
MAX_NOTEBOOK_IMAGE_BYTES = 24 << 20  # decoded images, as much as grading keeps of outputs
MAX_TRACEBACK_LINES = 200           # one error output (grading keeps 60)
MAX_BUNDLE_TYPES = 20               # mimetypes read from one output or attachment

TAG_OPENER = re.compile(r"<(?=[A-Za-z/!?])")
DESTINATION = re.compile(r"\]\s*([(:])")
FULLWIDTH = {"(": "\uff08", ":": "\uff1a"}
MERMAID_FENCE = re.compile(r"(?i)((?:`{3,}|~{3,})[ \t]*)mermaid")
ATTACHMENT_NAME = re.compile(r"[\w.-]{1,100}")
ATTACHMENT_REF = re.compile(r"attachment:([\w.-]{1,100})(?=[\s)]|$)")
CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
GRADE_ID = re.compile(r"[A-Za-z0-9_.-]{1,200}")
META_TEXT = re.compile(r"[\w.+/ -]{1,64}")
MIMETYPE = re.compile(r"[\w.+-]{1,40}/[\w.+-]{1,60}")
KEPT_CELL_METADATA = ("nbgrader", "kit")
KEPT_LANGUAGE_INFO = ("name", "version", "pygments_lexer", "file_extension", "mimetype",
                      "nbconvert_exporter", "codemirror_mode")


class SanitizeError(ValueError):
    """Instructor metadata the sanitizer cannot pass on safely."""


def graded_notebook(nb):
    """A sanitized deep copy of a graded notebook (see the module docstring).

    Inputs: nb, an nbformat v4 NotebookNode whose instructor cells the grader restored.
    Returns: a new NotebookNode (nbformat 4.5); `nb` is not modified.
    Raises SanitizeError naming the cell when an nbgrader grade_id is not a plain identifier.
    """
    budget = Budget()
    out = nbformat.v4.new_notebook(metadata=notebook_metadata(nb.get("metadata", {})))
    # A cell keeps its own id when that is valid and the first of its kind; every other cell
    # (no id, an invalid one, a repeat) gets one made from its place, never a random one, so
    # the same notebook always sanitizes to the same text and no kept id is taken from it.
    taken, keeps_id = set(), set()
    for index, cell in enumerate(nb.get("cells", [])):
        cell_id = cell.get("id")
        if isinstance(cell_id, str) and CELL_ID.fullmatch(cell_id) and cell_id not in taken:
            taken.add(cell_id)
            keeps_id.add(index)
    left_out, note = 0, None
    for index, cell in enumerate(nb.get("cells", [])):
        if not cells.is_instructor_cell(cell):
            if budget.cells == 0:
                left_out += 1
                if note is None:   # one note, where the first cell was left out
                    note = nbformat.v4.new_markdown_cell()
                    note.id = unused_id("kit-left-out", taken)
                    out.cells.append(note)
                continue
            budget.cells -= 1
        clean = sanitized_cell(cell, index, budget)
        clean.id = cell["id"] if index in keeps_id else unused_id(f"kit-cell-{index}", taken)
        out.cells.append(clean)
    if note is not None:
        note.source = (f"[{left_out:,} more cells of the student's left out by the grader: a notebook "
                       f"shows at most {MAX_CELLS:,}]")
    return out


class Budget:
    """What is still allowed into one sanitized notebook (see MAX_OUTPUTS and below it).

    Instructor cells (restored by the grader, trusted) cost nothing; every student cell,
    output, image and character of student text costs its part.
    """

    def __init__(self):
        self.cells = MAX_CELLS
        self.outputs = MAX_OUTPUTS
        self.images = MAX_IMAGES
        self.image_bytes = MAX_NOTEBOOK_IMAGE_BYTES
        self.chars = MAX_NOTEBOOK_TEXT_CHARS

    def text(self, value):
        """The text of a notebook field, cut (with a note) to MAX_TEXT_CHARS and what is left."""
        text = _text(value)
        keep = min(len(text), MAX_TEXT_CHARS, self.chars)
        self.chars -= keep
        if keep == len(text):
            return text
        return text[:keep] + f"\n[... {len(text) - keep:,} more characters removed by the grader]"

    def image(self, mime, value):
        """checked_image(mime, value) when this notebook may still show it, else (None, why or None)."""
        if self.images <= 0:
            return None, f"image left out: a notebook shows at most {MAX_IMAGES} images"
        image, why = checked_image(mime, value)
        if image is not None:
            size = len(image) * 3 // 4
            if size > self.image_bytes:
                return None, f"image left out: a notebook shows at most {MAX_NOTEBOOK_IMAGE_BYTES >> 20} MiB of images"
            self.images -= 1
            self.image_bytes -= size
        return image, why


def nbconvert_preprocessor(nb, resources):
    """`graded_notebook` as an nbconvert preprocessor (formgrader's HTMLExporter, see course.py).

    Inputs: the notebook and resources nbconvert passes. Returns (sanitized notebook, resources).
    """
    return graded_notebook(nb), resources


def sanitized_cell(cell, index, budget):
    kind = cell.get("cell_type")
    trusted = cells.is_instructor_cell(cell)
    source = _text(cell.get("source", "")) if trusted else budget.text(cell.get("source", ""))
    metadata = cell_metadata(cell.get("metadata", {}), index)
    if kind == "code":
        new = nbformat.v4.new_code_cell(source, metadata=metadata)
        new.execution_count = _count(cell.get("execution_count"))
        new.outputs = sanitized_outputs(cell.get("outputs"), budget)
    elif kind == "markdown":
        notes = []
        attachments = (copy.deepcopy(dict(cell.get("attachments") or {})) if trusted
                       else sanitized_attachments(cell.get("attachments"), budget, notes))
        text = source if trusted else markdown_text(source, attachments)
        new = nbformat.v4.new_markdown_cell("\n\n".join([text] + [f"[{n}]" for n in notes]),
                                            metadata=metadata)
        if attachments:
            new.attachments = attachments
    else:  # raw, or a type nbformat does not know: shown as text at most
        new = nbformat.v4.new_raw_cell(source if trusted else plain_text(source), metadata=metadata)
    return new   # its id is graded_notebook's to give


def unused_id(wanted, taken):
    """`wanted`, or `wanted-2`, `wanted-3`, ...: the first not in `taken` (which it joins)."""
    found, n = wanted, 1
    while found in taken:
        n += 1
        found = f"{wanted}-{n}"
    taken.add(found)
    return found


def markdown_text(text, attachments=()):
    """Student markdown that no renderer turns into a tag, a live link or a diagram.

    Inputs: text, markdown source; attachments, names of attachments images may use.
    Returns: the text, HTML-openers spaced out, unsafe link destinations disarmed.
    """
    text = MERMAID_FENCE.sub(r"\1text", plain_text(_bounded(_text(text))))
    chars = list(text)
    for match in DESTINATION.finditer(text):
        if not safe_destination(text[match.end():match.end() + MAX_DESTINATION_SCAN], attachments):
            chars[match.start(1)] = FULLWIDTH[match.group(1)]
    return "".join(chars)


def plain_text(text):
    """`text` with a space after every "<" that could open a tag, comment or autolink."""
    return TAG_OPENER.sub("< ", text)


def safe_destination(text, attachments=()):
    """Whether a link destination starting `text` is a safe_url() or a kept attachment."""
    start = re.sub(r"^[\s<]+", "", text)
    ref = ATTACHMENT_REF.match(start)
    if ref:
        return ref.group(1) in attachments
    return safe_url(text)


def safe_url(value):
    """Whether `value` is an absolute http(s) URL, mailto: or an in-page #anchor.

    "http:" must be followed by "//": a browser takes "http:x" on an http page as a
    relative URL (the WHATWG URL standard), which would lead into the Jupyter server.
    """
    scheme, url = url_scheme(value)
    if scheme in ("http", "https"):
        return url.startswith(scheme + "://")
    return scheme == "mailto" or (scheme is None and url.startswith("#"))


def url_scheme(value):
    """(scheme or None, normalized URL) of `value`, normalized as bleach does before it judges one.

    An undecidable start (only scheme characters up to the end of `value`) counts as the
    scheme "?", which no caller allows.
    """
    value = html.unescape(value).replace("\\", "")
    value = re.sub(r"[`\x00-\x20\x7f-\xa0\s<]+", "", value)
    value = re.sub(r"[^\x00-\x7f]", "", value).lower()
    match = re.match(r"[a-z][a-z0-9+.-]*", value)
    if match and match.end() == len(value):
        return "?", value
    if match and value[match.end()] == ":":
        return match.group(), value
    return None, value


def sanitized_outputs(outputs, budget):
    """The outputs of one code cell through sanitized_output, within the notebook's budget."""
    outputs = outputs if isinstance(outputs, list) else []
    shown = outputs[:max(budget.outputs, 0)]
    budget.outputs -= len(shown)
    kept = [o for output in shown if isinstance(output, dict) for o in sanitized_output(output, budget)]
    if len(outputs) > len(shown):
        kept.append(_text_note(f"[{len(outputs) - len(shown):,} more outputs left out by the grader: "
                               f"a notebook shows at most {MAX_OUTPUTS:,}]"))
    return kept


def sanitized_output(output, budget):
    """[the output as plain data] (or a note); nothing but text and checked images survives."""
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return [nbformat.v4.new_output("stream", name=name, text=budget.text(output.get("text", "")))]
    if kind == "error":
        traceback = output.get("traceback")
        lines = traceback[:MAX_TRACEBACK_LINES] if isinstance(traceback, list) else []
        return [nbformat.v4.new_output(
            "error", ename=budget.text(output.get("ename", "")), evalue=budget.text(output.get("evalue", "")),
            traceback=[budget.text(line) for line in lines])]
    if kind not in ("display_data", "execute_result"):
        return [_note([kind if isinstance(kind, str) and re.fullmatch(r"\w{1,40}", kind) else "unknown"])]
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    kept, removed, notes = {}, [], []
    for mime, value in itertools.islice(data.items(), MAX_BUNDLE_TYPES):
        if mime == "text/plain":
            kept[mime] = budget.text(value)
            continue
        image, why = budget.image(mime, value) if mime in IMAGE_MAGIC else (None, None)
        if image is not None:
            kept[mime] = image
        else:
            removed.append(mime if isinstance(mime, str) and MIMETYPE.fullmatch(mime) else "unknown")
            notes += [why] if why else []
    if notes:   # said in the kit's words, whatever text/plain the student's code sent along
        return [_text_note(f"[{notes[0]}]")]
    if not kept:
        return [_note(removed or ["empty"])]
    if kind == "execute_result":
        return [nbformat.v4.new_output("execute_result", data=kept,
                                       execution_count=_count(output.get("execution_count")))]
    return [nbformat.v4.new_output("display_data", data=kept)]


def sanitized_attachments(attachments, budget, notes):
    """{name: {mime: base64}} keeping checked PNG/JPEG bundles under plain file names; why an
    image was left out is added to `notes`."""
    kept = {}
    found = attachments.items() if isinstance(attachments, dict) else ()
    for name, bundle in itertools.islice(found, MAX_IMAGES):
        if not (isinstance(name, str) and ATTACHMENT_NAME.fullmatch(name) and isinstance(bundle, dict)):
            continue
        for mime in IMAGE_MAGIC:
            if mime in bundle:
                image, why = budget.image(mime, bundle[mime])
                if image is not None:
                    kept[name] = {mime: image}
                    break
                notes += [f"{why} ({name})"] if why else []
    return kept


def cell_metadata(metadata, index):
    kept = {key: copy.deepcopy(metadata[key]) for key in KEPT_CELL_METADATA
            if isinstance(metadata.get(key), dict)}
    grade_id = kept.get("nbgrader", {}).get("grade_id")
    if grade_id is not None and not (isinstance(grade_id, str) and GRADE_ID.fullmatch(grade_id)):
        raise SanitizeError(f"cell {index}: nbgrader grade_id {grade_id!r:.80} is not a plain identifier "
                            "(letters, digits, '_', '.', '-'); formgrader writes it into HTML unescaped")
    return kept


def notebook_metadata(metadata):
    """kernelspec and language_info, short plain strings only (they reach the page's highlighting)."""
    kept = {}
    spec = metadata.get("kernelspec")
    if isinstance(spec, dict):
        kept["kernelspec"] = {k: v for k, v in spec.items()
                              if k in ("name", "display_name", "language") and _meta_text(v)}
    info = metadata.get("language_info")
    if isinstance(info, dict):
        kept["language_info"] = {k: copy.deepcopy(v) for k, v in info.items()
                                 if k in KEPT_LANGUAGE_INFO and (_meta_text(v) or (
                                     isinstance(v, dict) and all(_meta_text(x) for x in v.values())))}
    return kept


def _meta_text(value):
    return isinstance(value, int) and not isinstance(value, bool) or (
        isinstance(value, str) and META_TEXT.fullmatch(value) is not None)


def _note(types):
    kinds = " / ".join(dict.fromkeys(types[:5]))
    return _text_note(f"[a {kinds} output was removed by the grader: rich outputs of student code are not shown]")


def _text_note(text):
    return nbformat.v4.new_output("display_data", data={"text/plain": text})


def _bounded(text):
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS] + f"\n[... {len(text) - MAX_TEXT_CHARS} more characters removed by the grader]"


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
