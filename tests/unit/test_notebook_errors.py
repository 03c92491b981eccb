"""A kit error in a notebook is shown, as one line, and fails the cell (nbval-lax too).

IPython ignores what a custom exception handler returns, so an earlier
version showed nothing at all: a cell with a failing kit call looked fine
and ``pytest --nbval-lax`` passed it.  These tests execute real notebooks in
a real kernel.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

FAILING_CALL = 'from releaselab import Lab\nLab(echo=False).get("Deployment", "does-not-exist")'


def _notebook(path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def test_kit_error_is_one_visible_error_line(tmp_path):
    path = tmp_path / "fails.ipynb"
    _notebook(path, FAILING_CALL)
    nb = nbformat.read(path, as_version=4)
    with pytest.raises(CellExecutionError):
        NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    errors = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert len(errors) == 1, nb.cells[0].outputs
    error = errors[0]
    assert error.ename == "NotFoundError"
    assert 'Deployment "does-not-exist" not found' in error.evalue
    # One line, naming the error and the message: no traceback wall.
    assert len(error.traceback) == 1
    assert "NotFoundError" in error.traceback[0] and "does-not-exist" in error.traceback[0]
    assert "\n" not in error.traceback[0]


def test_nbval_lax_fails_a_cell_with_a_kit_error(tmp_path):
    _notebook(tmp_path / "fails.ipynb", "x = 1", FAILING_CALL)
    _notebook(tmp_path / "passes.ipynb", "from releaselab import Lab\nLab(echo=False).now()")
    def nbval(name):
        return subprocess.run(
            [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
             "-p", "no:cacheprovider", "-p", "no:kmock", name],
            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    failing = nbval("fails.ipynb")
    assert failing.returncode == 1, failing.stdout[-2000:]
    assert "1 failed, 1 passed" in failing.stdout
    assert "does-not-exist" in failing.stdout
    # The same run on a notebook without an error passes: the failure above is the kit error's.
    passing = nbval("passes.ipynb")
    assert passing.returncode == 0, passing.stdout[-2000:]
