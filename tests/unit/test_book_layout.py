"""The book lists what the repository holds, and its configuration keeps its promises."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _toc_files(node) -> list[str]:
    files = []
    if isinstance(node, dict):
        if "file" in node:
            files.append(node["file"])
        for value in node.values():
            files += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            files += _toc_files(item)
    return files


def test_every_lab_is_in_the_book_no_solution_is_and_every_entry_exists():
    # _toc.yml is the student edition: the solutions are added only to the instructor
    # edition's toc (book/instructor/edition.py; tests/editions check that one).
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"], *_toc_files(toc["parts"])]
    for entry in files:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry
    for nb in sorted((ROOT / "labs").glob("*.ipynb")):
        assert f"labs/{nb.stem}" in files, f"labs/{nb.name} is not in _toc.yml"
    for nb in sorted((ROOT / "solutions").glob("*.ipynb")):
        assert f"solutions/{nb.stem}" not in files, f"solutions/{nb.name} is in the student toc"
    captions = [part["caption"] for part in toc["parts"]]
    assert len(captions) == len(set(captions))


def test_book_config_keeps_its_promises():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["only_build_toc_files"] is True
    assert config["execute"]["execute_notebooks"] == "cache"
    for excluded in (".venv/*", "_build/*", "cluster/*"):
        assert excluded in config["exclude_patterns"]
    assert "sphinx_exercise" in config["sphinx"]["extra_extensions"]


def test_requirements_end_with_the_editable_package_and_name_no_index():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    assert lines[-1] == "-e ."
    assert not any(line.startswith(("--index-url", "--extra-index-url", "-i ")) for line in lines)
