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
    # Issue 26: answers before their questions, and hints that are the answer.
    ("why random search is slow, before Inline question 4 (SVM)",
     r"starts? from scratch|throws away what|처음부터 다시 시작|알아낸 것을 버리"),
    ("what a numerical gradient of the full model costs, before Inline question 4 (SVM)",
     r"hopelessly slow|numerical gradient would (take|cost)|numerical gradient of the full|61,460|"
     r"절망적으로 느|수치적 기울기를 한 번 구하는 데"),
    ("what L2 regularization prefers and its gradient (SVM Inline question 1, Question 4)",
     r"spread[- ]out|(gradient|기울기)(는| is) \$?2\s*\\lambda|고르게 퍼진"),
    ("the kink as the hint of Inline question 3 (SVM)",
     r"(Hint|힌트)[^*]*(differentiable|미분 가능)"),
    ("the cross-entropy as the correct class's negative log-probability (Softmax Inline question 3)",
     r"cross-entropy\W[^.]{0,80}negative log|negative log[^.]{0,80}cross-entropy|"
     r"음의 로그인 \*\*교차 엔트로피"),
    ("a visible regularized gradient to read the regularization's gradient from",
     r"\(0\.1,\s*np\.array\("),
    # Issue 26's read-through (student and TA, both editions, the notebooks run).
    ("that the multiclass SVM contains the binary SVM, before the prediction that asks it (SVM)",
     r"binary SVM as a special case|generalizes the binary SVM|특별한 경우인 이진|이진 SVM을 일반화"),
    ("the trade-off of analytic and numerical gradients, before Inline question 4 (b, c) asks it (SVM)",
     r"fast but easy to get wrong|slow but follows|빠르지만 틀리기 쉽|느리지만 도함수"),
    ("the weak model's weight decay per step, before Inline question 4 asks why (Softmax)",
     r"\\text\{learning rate\} \\cdot \\lambda|1 - 10\^\{-3\}"),
    ("a gap between training and validation accuracy that only a small training set shows (SVM)",
     r"training accuracy above is higher|학습 정확도가 검증 정확도보다 높습니다"),
    ("the kit's tests, tools or grader variables in student text",
     r"\btests/|PREPARED_DIR|\bkit[./][a-z_]|(written|spelled) in two parts|release would refuse"),
]


def student_texts(folder):
    """(where, text) of everything a student reads in a release folder."""
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".ipynb":
            for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
                yield f"{path.name} cell {i}", cell.source
        elif path.suffix in (".py", ".md", ".txt") and path.is_file():
            yield str(path.relative_to(folder)), path.read_text()
