"""Every error releaselab raises on purpose.

The hierarchy::

    ReleaseLabError                  anything the kit refuses, with a message that says what to fix
     ├── ManifestError               YAML that cannot be loaded or that the API server would reject
     ├── NotFoundError               an object (Deployment "web", revision 7, ...) that does not exist
     ├── UsageError                  a bad argument to a Lab method (rps=-1, an unknown backend, ...)
     ├── WaitTimeout                 a wait_* call whose condition did not come true in time
     ├── BackendError                the cluster side failed
     │    ├── ToolMissingError       docker / kind / kubectl not installed or not answering
     │    └── ContextRefusedError    the kube context is not the kit's own (kind-releaselab)
     └── LabSourceError              a solutions/ notebook the lab generator cannot turn into a lab

Messages are one line.  In a notebook (IPython) a kit error is shown as that
one line, ``ErrorName: message``, as the cell's *error* output: Jupyter marks
the cell failed, ``nbval`` (strict or lax) fails it, and execution stops there
— but there is no traceback wall (:meth:`ReleaseLabError._render_traceback_`,
the hook IPython's ``showtraceback`` asks an exception for).
"""

from __future__ import annotations


class ReleaseLabError(Exception):
    """Base of every error the kit raises on purpose."""

    def _render_traceback_(self) -> list[str]:
        # IPython's InteractiveShell.showtraceback uses this list as the
        # structured traceback; ipykernel sends it as the cell's error output
        # (ename, evalue, traceback), so the error is seen and fails the cell.
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


class ManifestError(ReleaseLabError):
    """A manifest that cannot be parsed or that Kubernetes would reject."""


class NotFoundError(ReleaseLabError):
    """A named object, revision or file that does not exist."""


class UsageError(ReleaseLabError):
    """A Lab method was called with an argument it cannot use."""


class WaitTimeout(ReleaseLabError):
    """A wait_* condition did not become true before its timeout."""


class BackendError(ReleaseLabError):
    """The cluster (simulated or real) could not do what was asked."""


class ToolMissingError(BackendError):
    """A command-line tool or daemon the kind path needs is missing."""


class ContextRefusedError(BackendError):
    """The kubeconfig context is not the kit's own cluster."""


class LabSourceError(ReleaseLabError):
    """A solution notebook breaks the rules the lab generator relies on."""
