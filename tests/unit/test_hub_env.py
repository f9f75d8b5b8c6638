"""`kit hub-env` installs the kit's dependencies and its `hub` extra: read from the
repository's pyproject.toml, or, from a wheel's install (no pyproject.toml), from the
installed distribution's metadata, to the same list."""
import pytest

from kit.course import KIT_ROOT
from kit.errors import KitError
from kit.hub import env


def test_metadata_lines_give_the_dependencies_and_the_hub_extra():
    declared = ["numpy>=1.26", "bleach[css]", 'tomli; python_version < "3.11"',
                'pytest>=8.0; extra == "test"', "jupyterhub<6,>=5.2; extra == 'hub'",
                'jupyterlab-language-pack-ko-KR ; extra == "hub"']
    assert env.requirements_from_metadata(declared) == [
        "numpy>=1.26", "bleach[css]", 'tomli; python_version < "3.11"', "jupyterhub<6,>=5.2",
        "jupyterlab-language-pack-ko-KR"]


def test_without_pyproject_the_installed_metadata_is_read(tmp_path, monkeypatch):
    from_repository = env.requirements(KIT_ROOT / "pyproject.toml")
    monkeypatch.setattr(env.metadata, "requires", lambda name: [
        *from_repository[:-2], *(f'{r}; extra == "hub"' for r in from_repository[-2:]),
        'pytest>=8.0; extra == "test"'] if name == env.DISTRIBUTION else None)
    assert env.requirements(tmp_path / "pyproject.toml") == from_repository


def test_neither_pyproject_nor_an_install_is_refused(tmp_path):
    with pytest.raises(KitError, match="found neither"):
        env.requirements(tmp_path / "pyproject.toml", distribution="no-such-kit-distribution")
