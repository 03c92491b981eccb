"""Build hook: ship the kit's cluster files inside the package.

Everything else is declared in pyproject.toml.  A wheel (``pip install .``,
``pip wheel .``) must work outside the checkout, and both backends read
``cluster/manifests/`` and ``cluster/images.yaml`` (``releaselab cluster up``
also ``cluster/kind.yaml`` and ``cluster/app/``), which live beside ``src/``,
not in it.  So the build copies them into ``releaselab/_cluster/``, where
``releaselab._paths`` finds them when there is no checkout.  An editable
install reads the checkout's own ``cluster/`` and gets no copy.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("manifests", "images.yaml", "kind.yaml", "app")   # releaselab._paths.SHIPPED


class BuildPyWithCluster(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "releaselab" / "_cluster"
        for name in SHIPPED:
            source = ROOT / "cluster" / name
            if source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildPyWithCluster})
