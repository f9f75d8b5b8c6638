"""nbgrader's release on a course `kit release` made, outside any hub: formgrader's Generate
button (nbgrader's generate_assignment) copies classifiers/*.py with the reference solutions
in them; its Release button (nbgrader's release_assignment, named by the course's
configuration) then refuses to put that in the exchange. A release made by `kit release`
goes out."""
import subprocess
import sys

from kit.course import ASSIGNMENT
from kit_helpers import make_course


def nbgrader(course, exchange, *args):
    return subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--Exchange.root={exchange}"],
                          cwd=course, capture_output=True, text=True, timeout=600)


def test_formgrader_generate_then_release_never_reaches_the_exchange(tmp_path):
    course = make_course(tmp_path)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)   # nbgrader wants a world-writable exchange
    released = nbgrader(course, exchange, "release_assignment", ASSIGNMENT, "--force")
    assert released.returncode == 0, released.stdout[-2000:] + released.stderr[-2000:]
    outbound = exchange / "linear_classifiers_course" / "outbound" / ASSIGNMENT
    assert (outbound / "classifiers" / "linear_svm.py").is_file()

    generated = nbgrader(course, exchange, "generate_assignment", ASSIGNMENT, "--force")
    assert generated.returncode == 0, generated.stdout[-2000:] + generated.stderr[-2000:]
    solution_line = "svm_loss_vectorized"   # present either way; the check is line by line
    assert solution_line in (course / "release" / ASSIGNMENT / "classifiers" / "linear_svm.py").read_text()
    before = (outbound / "classifiers" / "linear_svm.py").read_bytes()
    refused = nbgrader(course, exchange, "release_assignment", ASSIGNMENT, "--force")
    assert refused.returncode != 0
    assert "still holds instructor material" in refused.stdout + refused.stderr
    assert (outbound / "classifiers" / "linear_svm.py").read_bytes() == before
