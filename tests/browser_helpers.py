"""Building blocks for the browser test: a Jupyter server on 127.0.0.1 in a student's
folder, headless Chromium driven by Playwright, and what a student does in each front end.

JupyterLab and Jupyter Notebook 7 share their notebook and editor widgets (the same CSS
classes); they differ in where things open: Lab keeps the notebook and the .py file in tabs
of one page, Notebook 7 opens each document in its own browser tab.
"""
import importlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Headless, no first-run or background traffic (Playwright's headless=True passes --headless
# too). No host name resolves but 127.0.0.1: nothing in the page can reach out of the machine.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm; Chromium crashes on it
]
VIEWPORT = {"width": 1280, "height": 900}

SERVER_START_TIMEOUT = 60  # s: a cold start imports a lot on a busy 2-core machine
SERVER_STOP_TIMEOUT = 15   # s between SIGTERM and SIGKILL
# Upper bounds only (every wait ends as soon as the page is ready), generous for busy CI machines.
UI_TIMEOUT = 60_000        # ms for anything the page has to do
RUN_TIMEOUT = 120_000      # ms for cells to run and for Validate (runs the whole notebook)

# Front-end settings for a reproducible page: every cell in the DOM (no windowing, so the
# n-th .jp-Cell is the n-th cell), no news or update check (no request leaves 127.0.0.1).
USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}

FRONT_ENDS = {
    # name: (jupyter subcommand, URL of a notebook, URL of a text file)
    "lab": ("lab", "lab/tree/{}", "lab/tree/{}"),
    "notebook": ("notebook", "notebooks/{}", "edit/{}"),
}


def browser_skip_reason():
    """Why the browser test cannot run here, or None when Chromium and Playwright are there."""
    if not os.access(CHROMIUM, os.X_OK):
        return ("Chromium not found at %s: install the Debian packages chromium and "
                "chromium-driver (see .ci/run)" % CHROMIUM)
    try:
        importlib.import_module("playwright.sync_api")   # to see that it can be imported
    except ImportError as err:
        return "Playwright for Python not importable (%s): pip install playwright" % err
    return None


def release_zip(root, lang="en"):
    """`python -m kit release [--lang]` into root/course and root/dist (never the repo's
    course/); the student zip's path. Skips, saying why, where no browser can run."""
    import pytest
    skip = browser_skip_reason()
    if skip:
        print(skip)
        pytest.skip(skip)
    command = [sys.executable, "-m", "kit", "release", "--lang", lang,
               "--course", str(root / "course"), "--dist", str(root / "dist")]
    proc = subprocess.run(command, cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"kit release --lang {lang} failed:\n" + proc.stdout + proc.stderr
    from kit.course import ASSIGNMENT
    return root / "dist" / (ASSIGNMENT + ".zip")


def free_port():
    """A TCP port nothing listens on at 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_until(predicate, timeout, what, interval=0.1):
    """Call `predicate` until it returns something true; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("waited %.0f s for %s" % (timeout, what))
        time.sleep(interval)


class JupyterServer:
    """`jupyter lab` or `jupyter notebook` serving `root` on 127.0.0.1 with a fresh token.

    Everything Jupyter would keep in the user's home (runtime files, settings, workspaces,
    IPython profile, user config) lives under `state_dir`, so runs do not leak into each other.
    Use as a context manager: the server is always stopped and its port freed.
    """

    def __init__(self, front_end, root, state_dir, log_path, env=None):
        if front_end not in FRONT_ENDS:
            raise ValueError("expected a front end among %s, got %r instead"
                             % (sorted(FRONT_ENDS), front_end))
        self.front_end = front_end
        self.root = Path(root)
        self.state_dir = Path(state_dir)
        self.log_path = Path(log_path)
        self.extra_env = dict(env or {})
        self.token = secrets.token_hex(24)
        self.port = None
        self.proc = None
        self._log = None

    @property
    def base_url(self):
        return "http://127.0.0.1:%d/" % self.port

    def url(self, path, token=False):
        return self.base_url + path + ("?token=" + self.token if token else "")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _environment(self):
        env = dict(os.environ)
        dirs = {name: self.state_dir / sub for name, sub in [
            ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
            ("IPYTHONDIR", "ipython")]}
        for name, folder in dirs.items():
            folder.mkdir(parents=True, exist_ok=True)
            env[name] = str(folder)
        for rel, settings in USER_SETTINGS.items():
            path = dirs["JUPYTERLAB_SETTINGS_DIR"] / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        env["JUPYTER_TOKEN"] = self.token  # not on the command line, where `ps` shows it
        env.update(self.extra_env)
        return env

    def start(self):
        subcommand = FRONT_ENDS[self.front_end][0]
        self.port = free_port()
        cmd = [sys.executable, "-m", "jupyter", subcommand, "--no-browser",
               "--ip=127.0.0.1", "--port=%d" % self.port, "--ServerApp.port_retries=0",
               "--ServerApp.root_dir=%s" % self.root]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")
        # Own process group: kernels the server starts can be ended with it, and only them.
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=self._environment(),
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(self._answers, SERVER_START_TIMEOUT,
                       "jupyter %s to answer on port %d" % (subcommand, self.port))
        except BaseException:
            self.stop()
            raise

    def _answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError("jupyter %s exited with code %s before answering; its log:\n%s"
                               % (FRONT_ENDS[self.front_end][0], self.proc.returncode,
                                  self.log_text()))
        try:
            self.api("GET", "api/status", timeout=2)
        except (OSError, urllib.error.URLError):
            return False
        return True

    def api(self, method, path, timeout=30):
        """Call the server's REST API with the token; return the decoded JSON (or None)."""
        request = urllib.request.Request(self.url(path), method=method,
                                         headers={"Authorization": "token " + self.token})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        """Shut down every kernel: closing a page leaves its kernel running."""
        for kernel in self.api("GET", "api/kernels"):
            self.api("DELETE", "api/kernels/" + kernel["id"])
        left = self.api("GET", "api/kernels")
        if left:
            raise RuntimeError("expected no kernel after shutting them down, got %s instead" % left)

    def stop(self):
        """Shut the kernels down, stop the server (SIGTERM, then SIGKILL) and free the port."""
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                try:
                    self.shutdown_kernels()
                except Exception as err:  # still stop the server; the process group ends kernels
                    self._note("could not shut the kernels down through the API: %r" % err)
                self._signal(signal.SIGTERM)
                try:
                    self.proc.wait(SERVER_STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self._note("server ignored SIGTERM for %d s; killing it" % SERVER_STOP_TIMEOUT)
            # Whatever is left of the group (a stuck server, an orphaned kernel) goes too.
            self._signal(signal.SIGKILL)
            self.proc.wait(SERVER_STOP_TIMEOUT)
        finally:
            if self._log:
                self._log.close()
                self._log = None
        wait_until(lambda: port_is_free(self.port), SERVER_STOP_TIMEOUT,
                   "port %d to be free after stopping the server" % self.port)

    def _signal(self, sig):
        try:
            os.killpg(self.proc.pid, sig)  # the group start_new_session made: ours only
        except ProcessLookupError:
            pass

    def _note(self, text):
        if self._log:
            self._log.write("[browser test] %s\n" % text)
            self._log.flush()

    def log_text(self):
        if self._log:
            self._log.flush()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def launch_chromium(playwright, profile_dir):
    """System Chromium, headless, with a fresh profile; no browser is ever downloaded."""
    return playwright.chromium.launch_persistent_context(
        str(profile_dir), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
        viewport=VIEWPORT)


# --- The notebook page (same widgets in both front ends) -----------------------------------

NOTEBOOK = ".jp-NotebookPanel"


def notebook_cells(page):
    return page.locator(NOTEBOOK + " .jp-Notebook .jp-Cell")


def wait_for_notebook(page, n_cells):
    """Wait until the notebook shows all its cells and its kernel is idle."""
    from playwright.sync_api import expect
    expect(notebook_cells(page)).to_have_count(n_cells, timeout=UI_TIMEOUT)
    wait_for_idle_kernel(page)


def wait_for_idle_kernel(page, timeout=UI_TIMEOUT):
    from playwright.sync_api import expect
    indicator = page.locator(NOTEBOOK + " .jp-Notebook-ExecutionIndicator")
    expect(indicator).to_have_attribute("data-status", "idle", timeout=timeout)


def select_cell(page, index):
    """Select cell `index` in command mode, as a click on its prompt ("[3]:") does."""
    from playwright.sync_api import expect
    cell = notebook_cells(page).nth(index)
    cell.locator(".jp-InputArea-prompt").click()
    expect(cell).to_have_class(re.compile(r"\bjp-mod-active\b"))
    expect(page.locator(NOTEBOOK + " .jp-Notebook")).to_have_class(re.compile(r"\bjp-mod-commandMode\b"))
    return cell


def run_cells(page, first, last, code_cells):
    """Run cells first..last (inclusive) with Shift+Enter; wait until each code cell ran.

    `code_cells` is the set of code-cell indices. A cell has run when its prompt shows an
    execution count it did not show before ("[ ]:" or "[3]:" becomes "[4]:"): the count
    appears once the kernel replied and all outputs arrived. Returns {index: output text}.
    """
    from playwright.sync_api import expect
    cells = notebook_cells(page)
    prompts = {i: cells.nth(i).locator(".jp-InputPrompt") for i in range(first, last + 1)
               if i in code_cells}
    before = {i: prompt.inner_text().strip() for i, prompt in prompts.items()}
    select_cell(page, first)
    for _ in range(first, last + 1):
        page.keyboard.press("Shift+Enter")
    outputs = {}
    for i, prompt in prompts.items():
        old = re.fullmatch(r"\[(\d+)\]:", before[i])
        new_count = r"(?!%s\])\d+" % old.group(1) if old else r"\d+"
        expect(prompt).to_have_text(re.compile(r"^\[%s\]:$" % new_count), timeout=RUN_TIMEOUT)
        outputs[i] = output_text(cells.nth(i))
    wait_for_idle_kernel(page, RUN_TIMEOUT)
    return outputs


def output_text(cell):
    area = cell.locator(".jp-OutputArea")
    return area.inner_text() if area.count() else ""


def editor_text(cell):
    return cell.locator(".cm-content").inner_text()


def try_to_type(page, cell, text):
    """Click into `cell`'s editor and type `text` at its very end; return the editor's text.

    Typing happens only once the editor has the focus in edit mode: typed in command mode,
    letters would be notebook shortcuts (a, b, x, d d...) and change the notebook. The text
    returned is what the editor shows, which for a long cell may be only the lines in view
    (CodeMirror renders what is visible); the end, where the cursor is, is always among them.
    """
    from playwright.sync_api import expect
    cell.locator(".cm-content").click()
    expect(page.locator(NOTEBOOK + " .jp-Notebook")).to_have_class(re.compile(r"\bjp-mod-editMode\b"))
    expect(cell.locator(".cm-editor")).to_have_class(re.compile(r"\bcm-focused\b"))
    page.keyboard.press("Control+End")
    page.keyboard.type(text)
    shown = editor_text(cell)
    page.keyboard.press("Escape")
    expect(page.locator(NOTEBOOK + " .jp-Notebook")).to_have_class(re.compile(r"\bjp-mod-commandMode\b"))
    return shown


def validate(page):
    """Press nbgrader's Validate button and wait for its result dialog.

    Returns (dialog title, kind of result: the message's validation-* class, message text,
    [(source, error) of each failed cell], the dialog locator).
    """
    from playwright.sync_api import expect
    page.locator(NOTEBOOK + " .jp-Toolbar .validate-button").click()
    dialog = page.locator(".jp-Dialog")
    message = dialog.locator("#validation-message")
    expect(message).to_be_visible(timeout=RUN_TIMEOUT)
    title = dialog.locator(".jp-Dialog-header").inner_text().strip()
    classes = message.get_attribute("class") or ""
    kind = next((c for c in classes.split() if c.startswith("validation-")), "")
    text = message.inner_text()
    failed = message.evaluate("""node => {
        const out = [];
        for (const p of node.querySelectorAll('p')) {
            if (p.innerText.trim() !== 'The following cell failed:') continue;
            const source = p.parentElement.nextElementSibling;
            const error = source && source.nextElementSibling;
            out.push([source ? source.innerText : '', error ? error.innerText : '']);
        }
        return out;
    }""")
    return title, kind, text, failed, dialog


def paste(page, text):
    """Put `text` on the clipboard and paste it with Ctrl+V, as a student pastes code."""
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.keyboard.press("Control+V")


def copy_to(paths, target_dir):
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if Path(path).exists():
            shutil.copy2(path, target_dir / Path(path).name)


# --- Hostile submissions for the grading views (formgrader, feedback) ------------------------
# Each payload, should it ever run in a page, marks the top window and tries what a real
# attacker wants on the instructor's Jupyter origin: write a file through the REST API with
# the instructor's session (the XSRF token is in a cookie the page can read). Payload code
# travels as eval(atob('...')): no spaces, quotes or brackets for markdown or HTML to mangle.

PWNED_FLAG = "__kitPwned"


def payload_js(tag):
    """JavaScript that records `tag` in top.__kitPwned and PUTs /api/contents/pwned-<tag>.txt."""
    return ("(function(){var w=window;try{w=window.top;w.document;}catch(e){w=window;}"
            "(w.%s=w.%s||[]).push('%s');"
            "var m=document.cookie.match(/_xsrf=([^;]+)/);"
            "fetch('/api/contents/pwned-%s.txt',{method:'PUT',credentials:'include',"
            "headers:{'Content-Type':'application/json','X-XSRFToken':m?decodeURIComponent(m[1]):''},"
            "body:JSON.stringify({type:'file',format:'text',content:'%s'})}).catch(function(){});})()"
            % (PWNED_FLAG, PWNED_FLAG, tag, tag, tag))


def payload(tag):
    import base64
    return "eval(atob('%s'))" % base64.b64encode(payload_js(tag).encode()).decode()


def _b64(text):
    import base64
    return base64.b64encode(text.encode()).decode()


def hostile_markdown():
    """[(tag, markdown)]: what a student can type into a written answer."""
    p = payload
    return [
        ("md-script", "<script>%s</script>" % p("md-script")),
        ("md-img", '<img src=x onerror="%s">' % p("md-img")),
        ("md-svg-script", "<svg><script>%s</script></svg>" % p("md-svg-script")),
        ("md-svg-onload", '<svg onload="%s"></svg>' % p("md-svg-onload")),
        ("md-iframe", '<iframe srcdoc="<script>%s</script>"></iframe>' % p("md-iframe")),
        ("md-details", '<details open ontoggle="%s">x</details>' % p("md-details")),
        ("md-object", '<object data="data:text/html;base64,%s"></object>'
         % _b64("<script>%s</script>" % p("md-object"))),
        ("md-link", "[click for a hint](javascript:%s)" % p("md-link")),
        ("md-link-entity", "[click](java&#x73;cript:%s)" % p("md-link-entity")),
        ("md-link-bracket", "[click]( <javascript:%s>)" % p("md-link-bracket")),
        ("md-link-reference", "[click][hint]\n\n[hint]: javascript:%s" % p("md-link-reference")),
        ("md-autolink", "<javascript:%s>" % p("md-autolink")),
        ("md-data-link", "[click](data:text/html;base64,%s)" % _b64("<script>%s</script>" % p("md-data-link"))),
        ("md-relative-link", "[my plot](%2e%2e/%2e%2e/%2e%2e/submitted/x/evil.html)"),
        ("md-mermaid", '```mermaid\ngraph TD\nA["<img src=x onerror=%s>"]\n```' % p("md-mermaid")),
        ("md-code-span", "`<img src=x onerror=%s>`" % p("md-code-span")),
        ("md-math", "$<img src=x onerror=%s>$" % p("md-math")),
    ]


HOSTILE_SVG = '<svg xmlns="http://www.w3.org/2000/svg"><script>%s</script></svg>'


def hostile_outputs():
    """[(tag, nbformat output dict)]: what a student's code can display, as stored in a notebook."""
    p = payload
    fake_png = _b64('<img src=x onerror="%s">' % p("out-fake-png"))
    return [
        ("out-js", {"output_type": "display_data", "metadata": {},
                    "data": {"application/javascript": p("out-js"), "text/plain": "<Javascript>"}}),
        ("out-html", {"output_type": "display_data", "metadata": {},
                      "data": {"text/html": '<img src=x onerror="%s">' % p("out-html")}}),
        ("out-html-isolated", {"output_type": "display_data",
                               "metadata": {"text/html": {"isolated": True}},
                               "data": {"text/html": "<script>%s</script>" % p("out-html-isolated")}}),
        ("out-svg", {"output_type": "display_data", "metadata": {},
                     "data": {"image/svg+xml": HOSTILE_SVG % p("out-svg")}}),
        ("out-markdown", {"output_type": "display_data", "metadata": {},
                          "data": {"text/markdown": "<script>%s</script>" % p("out-markdown")}}),
        ("out-latex", {"output_type": "display_data", "metadata": {},
                       "data": {"text/latex": "$\\href{javascript:%s}{x}$</div><script>%s</script>"
                                % (p("out-latex"), p("out-latex"))}}),
        ("out-widget", {"output_type": "display_data", "metadata": {},
                        "data": {"application/vnd.jupyter.widget-view+json":
                                 {"model_id": "x", "version_major": 2, "version_minor": 0}}}),
        ("out-mermaid", {"output_type": "display_data", "metadata": {},
                         "data": {"text/vnd.mermaid": 'graph TD\nA["<img src=x onerror=%s>"]' % p("out-mermaid")}}),
        ("out-fake-png", {"output_type": "display_data", "metadata": {}, "data": {"image/png": fake_png}}),
        ("out-png-metadata", {"output_type": "display_data",
                              "metadata": {"image/png": {"width": '1 onerror="%s"' % p("out-png-metadata")},
                                           "filenames": {"image/png": "javascript:%s" % p("out-png-metadata")}},
                              "data": {"image/png": TINY_PNG_B64}}),
        ("out-result-html", {"output_type": "execute_result", "execution_count": 3, "metadata": {},
                             "data": {"text/html": "<script>%s</script>" % p("out-result-html"),
                                      "text/plain": "<HTML>"}}),
        ("out-stream", {"output_type": "stream", "name": "stdout",
                        "text": "<script>%s</script>\n" % p("out-stream")}),
        ("out-error", {"output_type": "error", "ename": "<img src=x onerror=%s>" % p("out-error"),
                       "evalue": "<script>%s</script>" % p("out-error"), "traceback": ["<b>x</b>"]}),
    ]


def hostile_display_code():
    """Python for the student's own code cell: every rich output of hostile_outputs(), displayed."""
    lines = ["from IPython.display import display"]
    for tag, output in hostile_outputs():
        if output["output_type"] in ("display_data", "execute_result"):
            lines.append("display(%r, raw=True, metadata=%r)  # %s" % (output["data"], output["metadata"], tag))
        elif output["output_type"] == "stream":
            lines.append("print(%r)" % output["text"])
    # The cell's value: an execute_result whose HTML is a script.
    lines += ["class Hostile:", "    def _repr_html_(self):",
              "        return %r" % ("<script>%s</script>" % payload("out-repr-html")), "Hostile()"]
    return "\n".join(lines) + "\n"


def _tiny_png():
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) \
        + chunk(b"IEND", b"")
    import base64
    return base64.b64encode(raw).decode()


TINY_PNG_B64 = _tiny_png()


def payloads_that_ran(page):
    """The tags of payloads that ran in `page` (its top window's flag), [] when none did."""
    return page.evaluate("() => window.%s || []" % PWNED_FLAG)


def live_dangers(page, container):
    """What the browser itself built inside `container` (a CSS selector) that could run a
    payload: script, iframe, object, embed or svg elements, on* attributes, and links or
    sources whose scheme (as the browser parsed the URL) is javascript:, vbscript: or data:
    (but PNG/JPEG data images). A script whose type is MathJax's math/tex or math/mml (what
    MathJax puts beside each formula it typesets) is a data block that no browser runs."""
    return page.evaluate("""(selector) => {
        const found = [];
        const root = document.querySelector(selector);
        if (!root) return ['no element ' + selector];
        for (const el of root.querySelectorAll('*')) {
            const name = el.tagName.toLowerCase();
            if (name === 'script' && /^math\\/(tex|mml)\\b/i.test(el.type || '')) continue;
            if (['script', 'iframe', 'object', 'embed', 'svg', 'frame', 'base', 'form'].includes(name))
                found.push('<' + name + '> ' + el.outerHTML.slice(0, 120));
            for (const attr of el.attributes) {
                if (attr.name.toLowerCase().startsWith('on'))
                    found.push(name + ' ' + attr.name + '=' + attr.value.slice(0, 80));
            }
            for (const key of ['href', 'src', 'action', 'formAction', 'data']) {
                const value = el[key];
                if (typeof value !== 'string' || !value) continue;
                let scheme = '';
                try { scheme = new URL(value, document.baseURI).protocol; } catch (e) { continue; }
                const image = /^data:image\\/(png|jpeg);base64,/.test(value);
                if (['javascript:', 'vbscript:'].includes(scheme) || (scheme === 'data:' && !image))
                    found.push(name + ' ' + key + '=' + value.slice(0, 80));
            }
        }
        return found;
    }""", container)


# --- formgrader (nbgrader's instructor pages: jQuery, Backbone, Bootstrap 3 modals) -----------

def wait_for_formgrader_table(page):
    """Wait until a formgrader listing page (Manage Assignments, Manage Submissions, a
    student's notebooks) has fetched its rows: its script sets `models.loaded`."""
    page.wait_for_function("() => window.models !== undefined && window.models.loaded === true",
                           timeout=UI_TIMEOUT)


def formgrader_row(page, key_class, key):
    """The row of the page's #main-table whose `td.<key_class>` reads exactly `key`."""
    from playwright.sync_api import expect
    text = re.compile(r"^\s*%s\s*$" % re.escape(key))
    expect(page.locator("#main-table td.%s" % key_class).filter(has_text=text)).to_have_count(
        1, timeout=UI_TIMEOUT)
    # `has` is matched inside each row: a locator relative to the row.
    return page.locator("#main-table tr").filter(
        has=page.locator("td.%s" % key_class).filter(has_text=text))


def formgrader_action(page, link, timeout):
    """Click one of formgrader's action links (Autograde, Generate/Release Feedback...),
    wait for the modal that reports its result, close it.

    The action is one request the server answers when the nbgrader command it runs is done.
    Returns (modal title: "Success" or "Error", modal text: message, log and traceback).
    """
    from playwright.sync_api import expect
    link.click()
    modal = page.locator("#success-modal, #error-modal")
    expect(modal).to_have_class(re.compile(r"\bin\b"), timeout=timeout)
    # Shown once Bootstrap's fade-in is over (a screenshot then shows it as the user sees it).
    page.wait_for_function("""() => {
        const modal = document.querySelector('#success-modal, #error-modal');
        const dialog = modal.querySelector('.modal-dialog');
        const moved = getComputedStyle(dialog).transform;
        return getComputedStyle(modal).opacity === '1'
            && (moved === 'none' || moved === 'matrix(1, 0, 0, 1, 0, 0)');
    }""")
    title = modal.locator(".modal-title").inner_text().strip()
    text = modal.locator(".modal-body").inner_text()
    return title, text, modal


def close_formgrader_modal(page, modal):
    from playwright.sync_api import expect
    modal.locator(".modal-footer button").click()
    expect(page.locator(".modal")).to_have_count(0)  # removed from the page once hidden
    expect(page.locator(".modal-backdrop")).to_have_count(0)
