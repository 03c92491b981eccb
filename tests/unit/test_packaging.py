"""The kit works installed from a wheel, outside the checkout (issue 10 item 9).

Builds the wheel from a copy of the source tree (pip's build isolation,
with pip's own cache: a few seconds once setuptools is cached), installs it
into a fresh virtualenv, and runs lab 01's first cells from a directory far
from the checkout.  The fresh venv gets its third-party dependencies
(pyyaml, matplotlib, pandas) from this test run's environment through a
path entry, so nothing large is downloaded — but releaselab itself can only
come from the wheel: the checkout's ``src/`` is on no path there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "labs" / "01-rolling-update.ipynb"
FIRST_CELLS = ("setup", "part1-apply", "part1-rollout", "part1-summary")


def _source_copy(dest: Path) -> Path:
    """What an sdist holds: the package, the build files, the cluster files (MANIFEST.in)."""
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "src", dest / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("manifests", "app"):
        shutil.copytree(REPO / "cluster" / name, dest / "cluster" / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("images.yaml", "kind.yaml"):
        shutil.copy2(REPO / "cluster" / name, dest / "cluster" / name)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = _source_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                           "--wheel-dir", str(out), str(src)],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and ("Could not find a version" in done.stderr
                                 or "No matching distribution" in done.stderr):
        pytest.skip("no package index to fetch the build backend (setuptools>=77) from")
    assert done.returncode == 0, done.stderr[-2000:]
    (built,) = out.glob("releaselab-*.whl")
    return built


def test_the_wheel_carries_the_cluster_files_and_every_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    cluster = REPO / "cluster"
    expected = {f"releaselab/_cluster/{p.relative_to(cluster).as_posix()}"
                for sub in ("manifests", "app") for p in (cluster / sub).rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    expected |= {"releaselab/_cluster/images.yaml", "releaselab/_cluster/kind.yaml"}
    assert expected <= names, sorted(expected - names)
    modules = {f"releaselab/{p.relative_to(REPO / 'src' / 'releaselab').as_posix()}"
               for p in (REPO / "src" / "releaselab").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert modules <= names, sorted(modules - names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in text


def _fresh_venv(root: Path, wheel: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True,
                   timeout=120)
    python = root / "bin" / "python"
    if not python.exists():                                   # Windows layout
        python = root / "Scripts" / "python.exe"
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # Dependencies from this environment, as a plain path (its .pth files, among them
    # the editable install pointing at the checkout, are NOT processed from there).
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--no-deps", "--no-index", "--quiet", str(wheel)], check=True, timeout=120)
    return python


def _cells(notebook: Path, ids) -> str:
    cells = {c.get("id"): "".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]
             if c["cell_type"] == "code"}
    return "\n".join(cells[i] for i in ids)


def test_a_lab_runs_from_the_installed_wheel_in_another_directory(wheel, tmp_path):
    python = _fresh_venv(tmp_path / "venv", wheel)
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    script = ("import matplotlib\nmatplotlib.use('Agg')\n" + _cells(LAB, FIRST_CELLS) +
              "\nprint(run.summary())\n"
              "import releaselab, releaselab.manifests as m\n"
              "print('FROM', releaselab.__file__)\nprint('MANIFESTS', m.manifests_root())\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELEASELAB_")}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([str(python), "-c", script], cwd=elsewhere, capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    installed = str(tmp_path / "venv")
    assert f"FROM {installed}" in out and str(REPO / "src") not in out
    assert f"MANIFESTS {installed}" in out and out.split("MANIFESTS ")[1].strip().endswith(
        "releaselab/_cluster/manifests")
    assert "deployment \"web\" successfully rolled out" in out
    # The printed kubectl line names the manifest by a path that exists from here.
    apply_line = next(line for line in out.splitlines() if " apply --server-side " in line)
    shown = apply_line.split(" -f ", 1)[1]
    assert (elsewhere / shown).resolve().is_file(), shown


def test_releaselab_manifests_does_not_move_images_yaml(tmp_path, monkeypatch):
    from releaselab import _paths, manifests

    other = tmp_path / "mine"
    (other / "rolling").mkdir(parents=True)
    (tmp_path / "images.yaml").write_text("images: []\n")     # a decoy beside the override
    monkeypatch.setenv(_paths.MANIFESTS_ENV, str(other))
    monkeypatch.delenv(_paths.IMAGES_ENV, raising=False)
    assert manifests.manifests_root() == other
    assert _paths.images_path() == REPO / "cluster" / "images.yaml"
    assert "releaselab/web:3.1" in manifests.load_images()
    monkeypatch.setenv(_paths.IMAGES_ENV, str(tmp_path / "images.yaml"))
    assert manifests.load_images() == {}
