"""The ``releaselab`` command.

    releaselab cluster up       create (or reuse) the kind cluster, build and load the images
    releaselab cluster down     delete the kit's kind cluster
    releaselab cluster status   what is there and what is missing
    releaselab labs [...]       regenerate labs/ from solutions/ (see releaselab.labgen)
    releaselab grade NB.ipynb...  re-run lab submissions on the simulator, grade each exercise
                                (see releaselab.grade; --csv FILE, --json FILE, --timeout S)

A refusal the kit explains (any ReleaseLabError) prints ``error: <message>``
and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from .errors import ReleaseLabError, UsageError


def _say(line: str) -> None:
    print(line, flush=True)     # progress must show while a long step runs


def _cluster(args: argparse.Namespace) -> int:
    from . import kube

    if args.action == "up":
        kube.cluster_up(say=_say)
        return 0
    if args.action == "down":
        kube.cluster_down(say=_say)
        return 0
    return kube.cluster_status(say=_say)


def _labs(labgen_args: list[str]) -> int:
    import importlib

    try:
        # Written elsewhere; imported only when asked for.
        labgen = importlib.import_module("releaselab.labgen")
    except ModuleNotFoundError as exc:
        if exc.name != "releaselab.labgen":
            raise                # labgen exists but one of its own imports failed: show it
        raise UsageError("`releaselab labs` needs releaselab.labgen, which this checkout "
                         "does not have; update it (git pull) or reinstall") from None

    result = labgen.main(labgen_args)
    return result if isinstance(result, int) else 0


def _grade(args: argparse.Namespace) -> int:
    from . import grade

    return grade.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="releaselab",
                                     description="Zero-downtime deployment labs: the kit's tools.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{cluster,labs,grade}")
    cluster = sub.add_parser("cluster", help="the kind cluster the labs can run on")
    cluster.add_argument("action", choices=["up", "down", "status"])
    labs = sub.add_parser("labs", help="regenerate labs/ from solutions/", add_help=False)
    labs.add_argument("labgen_args", nargs=argparse.REMAINDER,
                      help="passed on to the lab generator")
    from .grade import add_arguments

    add_arguments(sub.add_parser("grade", help="re-run lab submissions on the simulator and "
                                              "grade each exercise (table, CSV, JSON)"))
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["labs"]:
        # Everything after `labs` belongs to the generator, options included
        # (argparse's REMAINDER would reject a leading `--option`).
        handler, arg = _labs, argv[1:]
    else:
        args = build_parser().parse_args(argv)
        handler, arg = (_grade if args.command == "grade" else _cluster), args
    try:
        return handler(arg)
    except ReleaseLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
