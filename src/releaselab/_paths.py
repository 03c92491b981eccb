"""Where the kit's cluster files are: a checkout's ``cluster/``, or the copy installed with it.

Both backends read ``cluster/manifests/<lab>/*.yaml`` and ``cluster/images.yaml``;
``releaselab cluster up`` also reads ``cluster/kind.yaml`` and builds
``cluster/app/``.  They are found, in this order:

1. a checkout: the ``cluster/`` beside ``src/`` (an editable install,
   ``pip install -e .``, or running from the repository);
2. the package data of an installed wheel (``pip install .`` or a built
   wheel): ``setup.py`` copies those files into ``releaselab/_cluster/``.

Overrides, each for its own file and nothing else:

- ``$RELEASELAB_MANIFESTS``: the directory relative manifest paths resolve
  against (``lab.apply("rolling/web.yaml")``).  It does *not* move
  ``images.yaml``: pointing the manifests elsewhere must not silently change
  which image tags exist and what they do;
- ``$RELEASELAB_IMAGES``: the ``images.yaml`` to read instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import NotFoundError

MANIFESTS_ENV = "RELEASELAB_MANIFESTS"
IMAGES_ENV = "RELEASELAB_IMAGES"
#: What setup.py ships from cluster/ as package data (releaselab/_cluster/...).
SHIPPED = ("manifests", "images.yaml", "kind.yaml", "app")

_HERE = Path(__file__).resolve().parent


def _complete(directory: Path) -> bool:
    return (directory / "manifests").is_dir() and (directory / "images.yaml").is_file()


def cluster_dir() -> Path:
    """The kit's ``cluster/`` directory (see the module docstring for the order)."""
    for candidate in (_HERE.parents[1] / "cluster", _HERE / "_cluster"):
        if _complete(candidate):
            return candidate
    raise NotFoundError(
        f"the kit's cluster files are missing (looked in {_HERE.parents[1] / 'cluster'} and "
        f"{_HERE / '_cluster'}); reinstall releaselab from its repository or a built wheel")


def manifests_root() -> Path:
    """The directory relative manifest paths resolve against."""
    override = os.environ.get(MANIFESTS_ENV)
    if override:
        return Path(override).expanduser()
    return cluster_dir() / "manifests"


def images_path() -> Path:
    """The ``images.yaml`` both backends read (``$RELEASELAB_IMAGES``, else the kit's own)."""
    override = os.environ.get(IMAGES_ENV)
    if override:
        return Path(override).expanduser()
    return cluster_dir() / "images.yaml"
