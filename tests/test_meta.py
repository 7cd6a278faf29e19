"""The version, the repository and the book's release are written once (radarode_lite/__init__.py);
every other file that repeats them must agree."""

import re
import tomllib
from pathlib import Path

import yaml

import radarode_lite
from radarode_lite import RELEASE, REPOSITORY, __version__

ROOT = Path(__file__).resolve().parents[1]


def test_release_is_the_version_tag():
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__) and RELEASE == f"v{__version__}"
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPOSITORY)


def test_pyproject_reads_the_version_and_repeats_the_repository():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["dynamic"] == ["version"] and "version" not in project["project"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "radarode_lite.__version__"}
    urls = project["project"]["urls"]
    assert urls["Homepage"] == urls["Source"] == REPOSITORY and urls["Issues"] == f"{REPOSITORY}/issues"
    assert project["project"]["license"].startswith("MIT") and "LICENSE" in project["project"]["license-files"]


def test_book_config_and_citation_agree():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == REPOSITORY
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert str(citation["version"]) == __version__ and citation["repository-code"] == REPOSITORY


def test_readme_and_appendix_name_the_same_repository():
    for name in ("README.md", "book/appendix_scaling_up.md"):
        urls = set(re.findall(r"https://github\.com/radarode[\w./-]*?(?=[\s)>`]|$)", (ROOT / name).read_text()))
        assert urls and all(u.removesuffix(".git").startswith(REPOSITORY) for u in urls), (name, urls)


def test_readme_says_how_to_cite_and_under_which_licences():
    readme = (ROOT / "README.md").read_text()
    assert "CITATION.cff" in readme and "MIT" in readme and "CC-BY-4.0" in readme
    licence = (ROOT / "LICENSE").read_text()
    assert "MIT License" in licence and "CC-BY-4.0" in licence


def test_the_colab_cell_installs_this_release():
    import importlib.util

    spec = importlib.util.spec_from_file_location("conventions", ROOT / "data_scripts" / "notebook_conventions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert f'"radarode-lite[notebooks]=={__version__}"' in module.COLAB_CELL
    assert "git+" not in module.COLAB_CELL and radarode_lite.__file__
