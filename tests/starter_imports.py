"""How the course's starter code of each year imports, file by file (read from the public
starter zips of assignment 1, 2018-2024; 2017's matches 2018's). Code students wrote for
any of these editions keeps these lines: the kit must import and grade it unchanged.

`with_year_imports(folder, year)` puts a year's lines at the top of a submission's
classifiers/ in place of the kit's own imports (the bodies stay the kit's reference code).
"""
import re
from pathlib import Path

_2017_2018 = {
    "linear_svm.py": ["import numpy as np", "from random import shuffle"],
    "softmax.py": ["import numpy as np", "from random import shuffle"],
    "linear_classifier.py": ["from __future__ import print_function", "import numpy as np",
                             "from cs231n.classifiers.linear_svm import *",
                             "from cs231n.classifiers.softmax import *"],
}
_2019_2020 = {
    "linear_svm.py": ["from builtins import range", "import numpy as np", "from random import shuffle",
                      "from past.builtins import xrange"],
    "softmax.py": ["from builtins import range", "import numpy as np", "from random import shuffle",
                   "from past.builtins import xrange"],
    "linear_classifier.py": ["from __future__ import print_function", "from builtins import range",
                             "from builtins import object", "import numpy as np",
                             "from cs231n.classifiers.linear_svm import *",
                             "from cs231n.classifiers.softmax import *", "from past.builtins import xrange"],
}
# 2021 on: the package imports its siblings relatively, from one level up.
_2021_2024 = {**_2019_2020, "linear_classifier.py": [
    "from __future__ import print_function", "from builtins import range", "from builtins import object",
    "import numpy as np", "from ..classifiers.linear_svm import *", "from ..classifiers.softmax import *",
    "from past.builtins import xrange"]}

IMPORTS = {2017: _2017_2018, 2018: _2017_2018, 2019: _2019_2020, 2020: _2019_2020,
           2021: _2021_2024, 2022: _2021_2024, 2023: _2021_2024, 2024: _2021_2024}
KIT_IMPORT = re.compile(r"^(import numpy as np|from \.(linear_svm|softmax) import .*)\n", re.M)


def with_year_imports(folder, year):
    """Rewrite folder/classifiers/*.py to import as the course's starter of `year` does."""
    for name, lines in IMPORTS[year].items():
        path = Path(folder) / "classifiers" / name
        text = KIT_IMPORT.sub("", path.read_text())
        docstring_end = text.index('"""', 3) + 3 if text.startswith('"""') else 0
        path.write_text(text[:docstring_end] + "\n" + "\n".join(lines) + "\n" + text[docstring_end:])
