"""Where the kit finds the assignment it releases (notebooks/, classifiers/, utils/,
student/, i18n/): beside kit/ in its repository, or inside the installed package
(`kit/_assignment/`, which setup.py's build copies in when a wheel is built). Ground
floor: nothing of the kit is imported here."""
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent            # the kit's own code (kit/)
BUNDLED = PACKAGE / "_assignment"                    # the assignment, in an installed wheel
FROM_REPOSITORY = not BUNDLED.is_dir()
# The root of the assignment's content: the repository, or the wheel's copy of it.
KIT_ROOT = PACKAGE.parent if FROM_REPOSITORY else BUNDLED
# Where a course and the zip go by default: the repository's course/ and dist/ when the kit
# runs from it; an installed kit writes to the current folder, never into site-packages.
WORK_ROOT = KIT_ROOT if FROM_REPOSITORY else Path.cwd()
# What a sandboxed kernel must never see (the reference solutions, kit/reference.py),
# should the folders it is shown contain them (an editable install, site-packages).
HIDDEN = tuple(dict.fromkeys([KIT_ROOT, PACKAGE] if not FROM_REPOSITORY else [KIT_ROOT]))
