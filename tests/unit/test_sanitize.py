"""kit/sanitize.py, the feedback's rendering and the course's formgrader settings against every
kind of hostile content a student can put into a graded notebook. No kernels: fast.

Each attack is checked twice: the unsanitized notebook must be dangerous once rendered (so the
check can see an attack) and the sanitized one must not. "Dangerous" is what an HTML parser
finds in the rendered notebook: script-capable elements, on* attributes, javascript:/data:
links, Mermaid diagrams; in student markdown also any link that is not http(s), mailto or
an in-page anchor.
"""
import base64
import copy
import re
import struct
import zlib

import nbformat
import pytest
from bs4 import BeautifulSoup

from browser_helpers import TINY_PNG_B64, HOSTILE_SVG, hostile_markdown, hostile_outputs, payload
from kit import feedback, images, sanitize
from kit.course import Course, write_nbgrader_config
from kit.scores import CellScore

LOCKED = {"grade": False, "grade_id": "intro", "locked": True, "solution": False, "schema_version": 3}
TEST = {"grade": True, "grade_id": "test_loss", "locked": True, "points": 5, "solution": False,
        "schema_version": 3}
CODE = {"grade": False, "grade_id": "search", "locked": False, "solution": True, "schema_version": 3}
INSTRUCTOR_MD = "# Intro\n\n<b>Read me</b> and [the notes](notes.html)."
TEST_SOURCE = ("# Test\nassert loss > 0\n### BEGIN HIDDEN TESTS\nassert secret_check()\n"
               "### END HIDDEN TESTS")
# Inert even unsanitized in nbconvert's renderer (mistune escapes code spans and math, the
# templates escape streams, errors and LaTeX, and a broken "PNG" is just a broken image); other
# renderers (JupyterLab's marked) differ, so they stay in the catalogue.
INERT_UNSANITIZED = {"md-code-span", "md-math", "out-stream", "out-error", "out-latex", "out-fake-png"}
DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "base", "meta",
                  "link", "form", "frame", "frameset", "template"}
URL_ATTRIBUTES = {"href", "src", "srcdoc", "data", "action", "formaction", "xlink:href", "poster"}
WIDGET_STATE = {"application/vnd.jupyter.widget-state+json": {  # model "x": see hostile_outputs
    "state": {"x": {"model_name": "HTMLModel", "state": {}}}, "version_major": 2, "version_minor": 0}}
SAFE_IMAGE = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=]*$")


def answer(text, gid="q_answer", attachments=None):
    cell = nbformat.v4.new_markdown_cell(text, metadata={"nbgrader": {
        "grade": True, "grade_id": gid, "locked": False, "points": 2, "solution": True,
        "schema_version": 3}})
    if attachments:
        cell.attachments = attachments
    return cell


def code(source="x = 1", outputs=(), metadata=None):
    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": dict(metadata or CODE)})
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    cell.execution_count = 3
    return cell


def notebook(*cells, metadata=None):
    nb = nbformat.v4.new_notebook(metadata=metadata or {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python", "version": "3.11.7", "pygments_lexer": "ipython3"}})
    nb.cells = list(cells)
    return nb


def hostile_notebook(renderable=False):
    """Every attack at once, beside instructor cells and an honest plot. `renderable`: without
    what makes nbconvert refuse the notebook (an invalid cell id, a missing attachment)."""
    md_attacks = [answer(text, gid=f"q_{i}") for i, (_, text) in enumerate(hostile_markdown())]
    raw = nbformat.v4.new_raw_cell('<img src=x onerror="%s">' % payload("raw-html"),
                                   metadata={"format": "text/html", "raw_mimetype": "text/html"})
    attached = nbformat.v4.new_markdown_cell(
        "![plot](attachment:plot.png) ![evil](attachment:evil.svg) ![gone](attachment:missing.png)")
    attached.attachments = {"plot.png": {"image/png": TINY_PNG_B64},
                            "evil.svg": {"image/svg+xml": base64.b64encode(
                                (HOSTILE_SVG % payload("attachment-svg")).encode()).decode()}}
    attached.metadata = {"tags": ['x" onmouseover="%s' % payload("cell-tag")], "jupyter": {"source_hidden": True}}
    if not renderable:
        attached["id"] = 'x" onmouseover="%s' % payload("cell-id")
    else:
        attached.source = attached.source.replace(" ![gone](attachment:missing.png)", "")
    outputs = [o for _, o in hostile_outputs()]
    nb = notebook(nbformat.v4.new_markdown_cell(INSTRUCTOR_MD, metadata={"nbgrader": dict(LOCKED)}),
                  code(TEST_SOURCE, outputs, metadata=TEST), *md_attacks, raw, attached,
                  code("display(everything)", outputs))
    nb.metadata["widgets"] = WIDGET_STATE
    nb.metadata["title"] = "</title><script>%s</script>" % payload("title")
    return nb


def dangers(html_text, *, links="scheme"):
    """What an HTML parser finds in `html_text` that could run a payload or lead off.

    links="scheme": only javascript:/vbscript:/data: (but PNG/JPEG images) count;
    links="student": any link or source but http(s), mailto, #anchor or an image data URL.
    """
    found = []
    soup = BeautifulSoup(html_text, "html.parser")
    for el in soup.find_all(True):
        if el.name in DANGEROUS_TAGS:
            found.append(f"<{el.name}>")
        if "mermaid" in " ".join(el.get("class", [])).lower():
            found.append("mermaid diagram")
        for name, value in el.attrs.items():
            value = " ".join(value) if isinstance(value, list) else str(value)
            if name.lower().startswith("on"):
                found.append(f"{el.name} {name}=")
            if name.lower() not in URL_ATTRIBUTES:
                continue
            url = re.sub(r"[\x00-\x20\x7f-\xa0\s]+", "", value).lower()
            if name == "srcdoc" or url.startswith(("javascript:", "vbscript:")) or (
                    url.startswith("data:") and not SAFE_IMAGE.match(url)):
                found.append(f"{el.name} {name}={value[:60]}")
            elif links == "student" and not (url.startswith(("http://", "https://", "mailto:", "#"))
                                             or SAFE_IMAGE.match(url)):
                found.append(f"{el.name} {name}={value[:60]} (not a safe link)")
    return found


def markdown_html(text):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    return markdown2html_mistune(text)


def lab_html(nb, **settings):
    """The <main> of nbconvert's lab template: the notebook itself, not the page's own scripts."""
    from nbconvert import HTMLExporter
    page, _ = HTMLExporter(template_name="lab", **settings).from_notebook_node(nb)
    return str(BeautifulSoup(page, "html.parser").find("main"))


def sanitized_cell(cell):
    return sanitize.graded_notebook(notebook(cell)).cells[0]


# ---------------------------------------------------------------- student markdown


@pytest.mark.parametrize("tag,text", hostile_markdown(), ids=[t for t, _ in hostile_markdown()])
def test_markdown_attack_is_inert(tag, text):
    if tag not in INERT_UNSANITIZED:
        assert dangers(markdown_html(text), links="student"), f"the check cannot see {tag}"
    cell = sanitized_cell(answer(text))
    assert not re.search(r"<[A-Za-z/!?]", cell.source), cell.source
    assert dangers(markdown_html(cell.source), links="student") == []
    assert dangers(lab_html(notebook(cell)), links="student") == []


@pytest.mark.parametrize("destination", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)", "javascript&colon;alert(1)", "java\\script:alert(1)",
    " \u200bjavascript:alert(1)", "vbscript:msgbox(1)", "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd", "relative/page.html", "/api/contents", "//evil.example/x",
    "%2e%2e/%2e%2e/submitted/evil.html", "http:%2e%2e/%2e%2e/evil.html", "https:/api/contents",
    "http:\\\\evil.example", "attachment:missing.png", "attachment:plot.png\"x\"",
    "&#" + "0" * 300 + "106;avascript:alert(1)"])
def test_unsafe_destinations_are_disarmed(destination):
    for text in (f"[click]({destination})", f"![img]({destination})", f"[click][r]\n\n[r]: {destination}",
                 f"[click](<{destination}>)"):
        cell = sanitized_cell(answer(text, attachments={"plot.png": {"image/png": TINY_PNG_B64}}))
        rendered = markdown_html(cell.source)
        assert dangers(rendered, links="student") == [], (text, cell.source, rendered)
        assert "href" not in rendered and "<img" not in rendered, (text, rendered)


@pytest.mark.parametrize("destination", ["https://cs231n.github.io/linear-classify/", "http://example.org/a_(b)",
                                         "mailto:ta@example.org", "#the-svm-loss"])
def test_safe_destinations_stay_links(destination):
    cell = sanitized_cell(answer(f"See [this]({destination})."))
    assert cell.source == f"See [this]({destination})."
    assert 'href="' in markdown_html(cell.source)


def test_attachment_images_kept_only_when_checked():
    svg = base64.b64encode((HOSTILE_SVG % payload("attachment-svg")).encode()).decode()
    text = "![plot](attachment:plot.png) ![evil](attachment:evil.svg) ![fake](attachment:fake.png)"
    cell = sanitized_cell(answer(text, attachments={
        "plot.png": {"image/png": TINY_PNG_B64}, "evil.svg": {"image/svg+xml": svg},
        "fake.png": {"image/png": base64.b64encode(b"<svg onload=alert(1)>").decode()},
        'a" onerror="x.png': {"image/png": TINY_PNG_B64}}))
    assert cell.attachments == {"plot.png": {"image/png": TINY_PNG_B64}}
    assert cell.source.startswith("![plot](attachment:plot.png) ![evil]\uff08")
    html = lab_html(notebook(cell))  # no "missing attachment" error, the plot shown inline
    assert f'src="data:image/png;base64,{TINY_PNG_B64}"' in html and dangers(html, links="student") == []


def test_honest_answer_stays_readable():
    text = ("The loss is $0 < L_i < \\infty$, and $a<b$ when a<b; see [the notes]"
            "(https://cs231n.github.io/linear-classify/) or [above](#the-svm-loss).\n\n"
            "> a quote\n\n```python\nif a<b and c > d:\n    pass\n```\n\n| x | y |\n|---|---|\n| 1 | 2 |")
    cell = sanitized_cell(answer(text))
    assert cell.source == text.replace("a<b", "a< b")
    page = BeautifulSoup(markdown_html(cell.source), "html.parser")
    words = page.get_text()
    assert "$0 < L_i < \\infty$" in words and "if a< b and c > d:" in words and "a quote" in words
    assert page.find("table") and page.find("blockquote") and len(page.find_all("a")) == 2


def test_mermaid_fence_becomes_plain_code():
    for fence in ("```mermaid", "> ~~~ Mermaid", "- ```  mermaid"):
        cell = sanitized_cell(answer(f"{fence}\ngraph TD\nA-->B\n```"))
        assert "mermaid" not in cell.source.lower() and "graph TD" in cell.source
        assert dangers(lab_html(notebook(cell))) == []


def test_raw_cells_are_text_without_format():
    raw = nbformat.v4.new_raw_cell("<script>alert(1)</script>", metadata={"format": "text/html",
                                                                          "raw_mimetype": "text/html"})
    assert dangers(lab_html(notebook(raw))) or "<script>" in raw.source
    clean = sanitized_cell(raw)
    assert clean.metadata == {} and clean.source == "< script>alert(1)< /script>"
    assert dangers(lab_html(notebook(clean))) == []


# ---------------------------------------------------------------- outputs of student code


@pytest.mark.parametrize("tag,output", hostile_outputs(), ids=[t for t, _ in hostile_outputs()])
def test_output_attack_is_removed(tag, output):
    nb = notebook(code(outputs=[output]))
    nb.metadata["widgets"] = WIDGET_STATE  # what makes nbconvert render widget views
    if tag not in INERT_UNSANITIZED:
        assert dangers(lab_html(nb)), f"the check cannot see {tag}"
    clean = sanitize.graded_notebook(nb)
    (cell,) = clean.cells
    for out in cell.outputs:
        assert set(out.get("data", {})) <= {"text/plain", "image/png", "image/jpeg"}, out
        assert out.get("metadata", {}) == {}
    assert dangers(lab_html(clean)) == []
    if output["output_type"] == "display_data" and "text/plain" not in output["data"] \
            and tag != "out-png-metadata":
        assert "removed by the grader" in cell.outputs[0].data["text/plain"]


def test_png_plot_text_and_errors_survive():
    outputs = [{"output_type": "display_data", "metadata": {"image/png": {"width": 400}},
                "data": {"image/png": TINY_PNG_B64, "text/plain": "<Figure size 640x480>"}},
               {"output_type": "stream", "name": "stdout", "text": "loss: 2.30 < 2.5\n"},
               {"output_type": "error", "ename": "ValueError", "evalue": "a < b", "traceback": ["\x1b[31mboom"]}]
    cell = sanitized_cell(code(outputs=outputs))
    assert cell.outputs[0].data == {"image/png": TINY_PNG_B64, "text/plain": "<Figure size 640x480>"}
    assert cell.outputs[1].text == "loss: 2.30 < 2.5\n"
    assert (cell.outputs[2].ename, cell.outputs[2].evalue) == ("ValueError", "a < b")
    assert cell.execution_count == 3
    html = lab_html(notebook(cell))
    assert TINY_PNG_B64 in html and "loss: 2.30 &lt; 2.5" in html


def test_oversized_image_is_removed():
    big = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * (images.MAX_IMAGE_BYTES + 1)).decode()
    cell = sanitized_cell(code(outputs=[{"output_type": "display_data", "metadata": {},
                                         "data": {"image/png": big}}]))
    assert list(cell.outputs[0].data) == ["text/plain"]


# ---------------------------------------------------------------- cells, metadata


def test_instructor_cells_keep_their_source():
    nb = hostile_notebook()
    before = copy.deepcopy(nb)
    clean = sanitize.graded_notebook(nb)
    assert clean.cells[0].source == INSTRUCTOR_MD and clean.cells[1].source == TEST_SOURCE
    assert clean.cells[0].metadata == {"nbgrader": LOCKED}
    # ...but the outputs student code left in a test cell are sanitized like any other.
    assert all(set(o.get("data", {})) <= {"text/plain", "image/png"} for o in clean.cells[1].outputs)
    assert nb == before, "the input notebook must not change"


def test_metadata_reduced():
    clean = sanitize.graded_notebook(hostile_notebook())
    assert set(clean.metadata) == {"kernelspec", "language_info"}
    attached = clean.cells[-2]
    assert attached.metadata == {} and re.fullmatch(r"[A-Za-z0-9_-]+", attached.id)
    assert len({c.id for c in clean.cells}) == len(clean.cells)
    bad = code()
    bad.execution_count = "<script>"
    assert sanitized_cell(bad).execution_count is None
    nbformat.validate(clean)


def test_unsafe_grade_id_is_refused():
    with pytest.raises(sanitize.SanitizeError, match="cell 0: nbgrader grade_id"):
        sanitize.graded_notebook(notebook(answer("x", gid='q" onclick="alert(1)')))


def test_whole_notebook_renders_inert():
    assert dangers(lab_html(hostile_notebook(renderable=True)))
    clean = sanitize.graded_notebook(hostile_notebook())
    html = lab_html(clean)
    assert dangers(html) == []
    assert "Read me" in html and TINY_PNG_B64 in html


# ---------------------------------------------------------------- formgrader's rendering


def formgrade_html(nb, tmp_path, with_course_config):
    """A submission page as formgrader renders it: its HTMLExporter, the formgrade template,
    and (as formgrader reads it) the course's nbgrader_config.py."""
    from nbconvert import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader
    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    if with_course_config:
        write_nbgrader_config(tmp_path, ["classifiers/*.py"])
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config())
    resources = {"assignment_id": "linear_classifiers", "notebook_id": "svm", "submission_id": "abc",
                 "index": 0, "total": 1, "base_url": "", "student": "mallory", "last_name": None,
                 "first_name": None, "notebook_path": "autograded/mallory/linear_classifiers/svm.ipynb"}
    page, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=resources)
    return str(BeautifulSoup(page, "html.parser").find(id="notebook-container"))


def test_formgrader_settings_make_its_rendering_safe(tmp_path):
    """nbgrader's own autograde leaves a notebook unsanitized: formgrader, with the course's
    settings, must still show it inert (and does not without them)."""
    assert dangers(formgrade_html(hostile_notebook(renderable=True), tmp_path, with_course_config=False))
    html = formgrade_html(hostile_notebook(renderable=True), tmp_path, with_course_config=True)
    assert dangers(html) == []
    assert "Read me" in html and "Student's answer" in html and TINY_PNG_B64 in html


def test_course_config_keeps_its_settings(tmp_path):
    write_nbgrader_config(tmp_path, ["classifiers/linear_svm.py"])
    text = (tmp_path / "nbgrader_config.py").read_text()
    for setting in ("c.CourseDirectory.course_id", "c.Autograde.exclude_overwriting",
                    "c.KitGrading.cell_timeout", "c.Autograde.autograde_preprocessors",
                    "c.GenerateFeedback.preprocessors", "c.HTMLExporter.sanitize_html = True",
                    "c.HTMLExporter.preprocessors"):
        assert setting in text
    config = Course(tmp_path).config   # the file loads as nbgrader loads it
    assert config.HTMLExporter.preprocessors == ["kit.sanitize.nbconvert_preprocessor"]
    assert config.Autograde.exclude_overwriting == {"linear_classifiers": ["classifiers/linear_svm.py"]}
    assert "kit.nbgrader_steps.KitSaveGrades" in config.Autograde.autograde_preprocessors


# ---------------------------------------------------------------- the feedback


def test_feedback_shows_only_the_kits_words():
    nb = hostile_notebook()
    nb.cells[1].outputs.append(nbformat.v4.new_output("stream", name="stdout", text="LEAKED assert secret_check()"))
    scores = {"test_loss": CellScore("test_loss", "auto", 0.0, 5.0, message="x",
                                     feedback=("Failed with AssertionError at line 2 of this test cell:",
                                               "    assert loss > 0")),
              "q_0": CellScore("q_0", "manual", 1.5, 2.0, message="graded by hand",
                               comment='Good <script>%s</script> | [hint](javascript:%s) a<b'
                               % (payload("comment"), payload("comment")))}
    problems = ["<img src=x onerror=%s>" % payload("problem"), "[x]: javascript:alert(1)"]
    html = feedback.render(nb, scores, problems)
    main = BeautifulSoup(html, "html.parser").find("main")
    assert dangers(str(main)) == []
    text = main.get_text()
    assert "LEAKED" not in text and "secret_check" not in text and "HIDDEN" not in text
    assert "Failed with AssertionError at line 2 of this test cell:" in text
    assert "Good < script>" in text and "a< b" in text
    # The score table is a table (not escaped tags), headings and paragraphs are tags.
    table = main.find("table")
    assert table is not None and len(table.find_all("tr")) == 1 + len(scores)
    assert main.find("h1") and main.find("p") and "<p>" not in text and "<h1" not in text
    assert TINY_PNG_B64 in html, "an honest plot stays in the feedback"
    # The same grades give the same page, byte for byte (the score table's cell id was random).
    assert feedback.render(nb, scores, problems) == html


def test_feedback_test_cell_without_kit_lines_falls_back_to_the_score():
    cell = code(TEST_SOURCE, [{"output_type": "stream", "name": "stdout", "text": "student says hi"}],
                metadata=TEST)
    passed = feedback.sanitize(notebook(cell), {"test_loss": CellScore("test_loss", "auto", 5.0, 5.0)})
    failed = feedback.sanitize(notebook(cell), {"test_loss": CellScore("test_loss", "auto", 0.0, 5.0)})
    for handout, word in ((passed, "passed\n"), (failed, "failed\n")):
        (out,) = handout.cells[0].outputs
        assert out.text == word and "HIDDEN" not in handout.cells[0].source
        assert handout.cells[0].source == "# Test\nassert loss > 0"


# ---------------------------------------------------------------- bounded cost (per-notebook budgets)


def tiny_cells(count):
    """`count` tiny markdown and code cells, as a notebook of nbformat's (validating 100,000 cells
    with nbformat's constructors would take seconds for nothing)."""
    cells = [{"cell_type": "markdown", "metadata": {}, "source": f"m{i}"} if i % 2 else
             {"cell_type": "code", "metadata": {}, "source": f"x = {i}", "outputs": [], "execution_count": None}
             for i in range(count)]
    return nbformat.from_dict({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4})


def sanitize_cost(nb, monkeypatch):
    """(cells sanitized, tracemalloc peak in bytes) of KitFeedback on `nb`, nbgrader's
    generate_feedback path (feedback.sanitize, sanitize.graded_notebook)."""
    import tracemalloc

    from kit.nbgrader_hooks import KitFeedback
    seen = []
    original = sanitize.sanitized_cell
    monkeypatch.setattr(sanitize, "sanitized_cell", lambda *args: seen.append(1) or original(*args))
    tracemalloc.start()
    try:
        handout, _ = KitFeedback().preprocess(nb, {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    monkeypatch.setattr(sanitize, "sanitized_cell", original)
    return handout, len(seen), peak


def test_100000_cells_cost_what_a_notebook_at_the_limit_costs(monkeypatch):
    from kit.notebook_limits import MAX_CELLS
    test = code(TEST_SOURCE, metadata=TEST)
    at_limit = tiny_cells(MAX_CELLS)
    bomb = tiny_cells(100_000)
    bomb.cells.append(test)   # the instructor's cells stay, wherever they are
    _, limit_cells, limit_peak = sanitize_cost(at_limit, monkeypatch)
    handout, bomb_cells, bomb_peak = sanitize_cost(bomb, monkeypatch)
    assert limit_cells == MAX_CELLS and bomb_cells == MAX_CELLS + 1
    assert bomb_peak < 1.5 * limit_peak, (bomb_peak, limit_peak)
    assert len(handout.cells) == MAX_CELLS + 2
    note = handout.cells[MAX_CELLS]
    assert note.cell_type == "markdown" and note.source == (
        f"[{100_000 - MAX_CELLS:,} more cells of the student's left out by the grader: "
        f"a notebook shows at most {MAX_CELLS:,}]")
    assert handout.cells[-1].source == "# Test\nassert loss > 0", "the test cell is still shown"


def test_outputs_over_the_budget_are_left_out_with_a_note():
    many = [{"output_type": "stream", "name": "stdout", "text": "."}] * (sanitize.MAX_OUTPUTS + 5000)
    cell = sanitized_cell(code(outputs=many))
    assert len(cell.outputs) == sanitize.MAX_OUTPUTS + 1
    assert cell.outputs[-1].data["text/plain"] == (
        f"[5,000 more outputs left out by the grader: a notebook shows at most {sanitize.MAX_OUTPUTS:,}]")


def test_text_over_the_notebook_budget_is_cut_with_a_note():
    per_cell = sanitize.MAX_TEXT_CHARS
    cells = [answer("a" * per_cell, gid=f"q{i}") for i in range(sanitize.MAX_NOTEBOOK_TEXT_CHARS // per_cell + 3)]
    cells.append(code(outputs=[{"output_type": "error", "ename": "E", "evalue": "v",
                                "traceback": ["line"] * 100_000}]))
    clean = sanitize.graded_notebook(notebook(*cells))
    kept = sum(c.source.split("\n")[0].count("a") for c in clean.cells if c.cell_type == "markdown")
    assert kept == sanitize.MAX_NOTEBOOK_TEXT_CHARS
    assert clean.cells[-2].source == f"\n[... {per_cell:,} more characters removed by the grader]"
    # Past the budget, each field says what was cut; a traceback keeps its first lines only.
    assert clean.cells[-1].outputs[0].traceback == (
        ["\n[... 4 more characters removed by the grader]"] * sanitize.MAX_TRACEBACK_LINES)


def test_huge_bundles_are_read_only_in_part():
    data = {f"x-kit/t{i}": "x" for i in range(100_000)}
    data["text/plain"] = "late"
    cell = sanitized_cell(code(outputs=[{"output_type": "display_data", "metadata": {}, "data": data}]))
    assert "removed by the grader" in cell.outputs[0].data["text/plain"]
    attachments = {f"p{i}.png": {"image/png": TINY_PNG_B64} for i in range(100_000)}
    cell = sanitized_cell(answer("![p](attachment:p0.png)", attachments=attachments))
    assert len(cell.attachments) == sanitize.MAX_IMAGES


# ---------------------------------------------------------------- pixel bombs


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side=24_000):
    """A ~70 KB PNG that decodes to side x side 1-bit pixels: one IDAT of compressed zero rows."""
    row = b"\0" * (1 + side // 8)   # filter byte, then the row's bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)   # 1-bit grayscale
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def jpeg_header(width, height, before=b""):
    """A JPEG's start as far as its frame header says width x height (no pixel data follows)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\0\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + before + sof0 + b"\xff\xd9"


def real_image(fmt):
    """A figure as the notebooks' inline backend saves it (10x8 inches, bbox tight)."""
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(10, 8))
    plt.plot([0.1 * i * i for i in range(50)])
    out = io.BytesIO()
    fig.savefig(out, format=fmt, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out.getvalue()


def image_output(mime, raw):
    return {"output_type": "display_data", "metadata": {},
            "data": {mime: base64.b64encode(raw).decode(), "text/plain": "<Figure size 24000x24000>"}}


BOMBS = {"png": ("image/png", png_bomb, "24000x24000"),
         "jpeg": ("image/jpeg", lambda: jpeg_header(30_000, 30_000), "30000x30000")}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_pixel_bomb_is_replaced_by_a_note(kind):
    mime, make, size = BOMBS[kind]
    raw = make()
    assert len(raw) < images.MAX_IMAGE_BYTES and raw.startswith(images.IMAGE_MAGIC[mime])
    note = f"[image left out: {size} pixels, over the 4,000,000-pixel limit]"
    cell = sanitized_cell(code(outputs=[image_output(mime, raw)]))
    assert [o.data for o in cell.outputs] == [{"text/plain": note}]
    attached = sanitized_cell(answer("![plot](attachment:bomb.img)", attachments={"bomb.img": {mime: image_output(mime, raw)["data"][mime]}}))
    assert "attachments" not in attached and attached.source.endswith(f"\n\n[{note[1:-1]} (bomb.img)]")
    html = feedback.render(notebook(code(outputs=[image_output(mime, raw)])), {}, [])
    assert note in html and base64.b64encode(raw).decode()[:200] not in html


@pytest.mark.parametrize("fmt, mime", [("png", "image/png"), ("jpeg", "image/jpeg")])
def test_real_figures_are_kept(fmt, mime):
    raw = real_image(fmt)
    width, height = images.image_size(mime, raw)
    assert 800 <= width <= 900 and 600 <= height <= 700   # the notebooks' 10x8-inch figure
    payload_b64 = base64.b64encode(raw).decode()
    cell = sanitized_cell(code(outputs=[image_output(mime, raw)]))
    assert cell.outputs[0].data[mime] == payload_b64


@pytest.mark.parametrize("mime, raw", [
    ("image/png", b"\x89PNG\r\n\x1a\n"),                                          # truncated
    ("image/png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"tEXt", b"x" * 20)),          # IHDR not first
    ("image/png", png_bomb(8)[:20]),                                               # cut in IHDR
    ("image/png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", bytes(13))),          # 0x0 pixels
    ("image/jpeg", b"\xff\xd8\xff"),                                               # nothing after SOI
    ("image/jpeg", jpeg_header(10, 10)[:25]),                                      # cut in the SOF
    ("image/jpeg", b"\xff\xd8\xff\xda\0\x02" + jpeg_header(10, 10)),               # scan before any frame
    ("image/jpeg", b"\xff\xd8\xff\xe0\0\x00"),                                     # length below 2
    ("image/jpeg", jpeg_header(10, 10, before=b"\xff\xfe\0\x02" * 300)),           # 300 comments first
    ("image/jpeg", b"\xff\xd8" + b"\x00" * 100),                                   # no marker
], ids=["png-signature-only", "png-no-ihdr", "png-cut", "png-zero", "jpeg-soi-only", "jpeg-cut-sof",
        "jpeg-scan-first", "jpeg-bad-length", "jpeg-too-many-segments", "jpeg-no-marker"])
def test_malformed_headers_are_not_images(mime, raw):
    assert images.image_size(mime, raw) is None
    assert images.checked_image(mime, base64.b64encode(raw).decode()) == (None, None)


def test_image_size_reads_headers():
    assert images.image_size("image/png", png_bomb(16)) == (16, 16)
    assert images.image_size("image/jpeg", jpeg_header(640, 480, before=b"\xff\xfe\0\x04hi")) == (640, 480)
    assert images.image_size("image/jpeg", b"\xff\xd8\xff\xff" + jpeg_header(7, 9)[3:]) == (7, 9)  # fill bytes
    with pytest.raises(ValueError, match="expected image/png or image/jpeg, got 'image/gif' instead"):
        images.image_size("image/gif", b"GIF89a")


def test_cell_ids_are_kept_or_made_from_the_place_never_random():
    """A valid id is kept (its first cell only); a missing, invalid or repeated one is made
    from the cell's place, never taking a later cell's own id; the score table's id yields
    to a student's cell that has it. So the same notebook always gives the same page."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(t) for t in "abcde"])
    del nb.cells[0]["id"]                       # missing
    nb.cells[1]["id"] = "kit-cell-0"            # valid: kept, though it is the made-up name
    nb.cells[2]["id"] = 'x" onmouseover="y'     # invalid
    nb.cells[3]["id"] = "kit-cell-0"            # repeated
    nb.cells[4]["id"] = "kit-score-table"       # the score table's own id
    ids = [c.id for c in sanitize.graded_notebook(nb).cells]
    assert ids == ["kit-cell-0-2", "kit-cell-0", "kit-cell-2", "kit-cell-3", "kit-score-table"], ids
    assert [c.id for c in sanitize.graded_notebook(nb).cells] == ids
    html = feedback.render(nb, {}, [])
    assert feedback.render(nb, {}, []) == html
    assert html.count('id="cell-id=kit-score-table"') == 1 and 'id="cell-id=kit-score-table-2"' in html
