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


def test_every_lab_and_solution_is_in_the_book_and_every_entry_exists():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"], *_toc_files(toc["parts"])]
    for entry in files:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry
    for folder in ("labs", "solutions"):
        for nb in sorted((ROOT / folder).glob("*.ipynb")):
            assert f"{folder}/{nb.stem}" in files, f"{folder}/{nb.name} is not in _toc.yml"
    captions = [part["caption"] for part in toc["parts"]]
    assert len(captions) == len(set(captions)) and "Labs" in captions and "Lab solutions" in captions


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
