"""What students must not be handed before they answer: the patterns both editions' release
text is checked against (tests/unit/test_teaching.py, tests/e2e/test_korean.py)."""
import nbformat


# Text that gives a derivation away, answers a question before it is asked, or speaks of the
# grader's machinery. Each entry: (what it gives away, regular expression).
GIVEAWAYS = [
    ("Softmax gradient formula", r"p_j\s*-\s*\\mathbb\{1\}|\(p\[j\]\s*-\s*1|p\s*-\s*1\{|P\s*-\s*Y"),
    ("Softmax gradient recipe", r"probabilities minus the one-hot|X\.T times|X\^T"),
    ("SVM gradient recipe", r"pushes column|coefficient matrix|count of positive margins|gains x_0|"
                            r"column y\[i\] down|grows by \$x_i\$"),
    ("predict's solution", r"argmax\(\s*X"),
    ("the SGD update", r"W\s*-=\s*learning_rate|-\s*k\s*\*\s*learning_rate"),
    ("why the initial SVM loss is C - 1", r"C - 1 margins|close to \$?C - 1|C - 1 = 9|is exactly 1\b"),
    ("why the initial Softmax loss is log C", r"probability 1 / C|loss is ln\(C\)"),
    ("the stability recipe", r"subtract (each|the) row's (largest|max)|largest score before|"
                             r"c = -\\max|shifted\.max|scores - np\.max"),
    ("the quick setting", r"QUICK|quick setting"),
    ("CI or test data", r"\bCI\b|subset|10%|4,170|smaller copy"),
]


def student_texts(folder):
    """(where, text) of everything a student reads in a release folder."""
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".ipynb":
            for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
                yield f"{path.name} cell {i}", cell.source
        elif path.suffix in (".py", ".md", ".txt") and path.is_file():
            yield str(path.relative_to(folder)), path.read_text()
