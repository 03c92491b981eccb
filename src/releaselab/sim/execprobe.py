"""Exec probes: the few commands the simulator can run inside the demo app's container.

The kubelet runs an exec probe's command in the container (CRI ExecSync) and
counts exit code 0 as success; the output becomes the probe's failure
message, and a command still running after ``timeoutSeconds`` fails with
``command "sleep 5" timed out`` (pkg/probe/exec and the CRI remote runtime's
ExecSync, ExecProbeTimeout GA in 1.27).  The simulator cannot run real
programs, so it models the commands the demo app's table
(cluster/app/README.md, "Files") gives a meaning to:

* ``true``, ``false``, ``:``, and ``exit N`` inside a shell;
* ``sleep N`` (coreutils: suffixes s/m/h/d, several operands add up),
  which matters only against the probe's timeoutSeconds;
* ``cat FILE...`` and ``test``/``[`` with ``-e -f -d -s`` (and ``!``) on the
  image's few known paths and the app's READY_FILE;
* ``sh -c`` / ``bash -c`` scripts made of those, joined by ``&&``, ``||``, ``;``.

Anything else is *not* silently passed: :func:`notes` names it once, says
the simulator cannot run it, and what it assumes — the command exits 0 while
the app listens (like a tcpSocket probe on its port).  A path the table does
not list cannot be known either: it is assumed absent, and said so.

Example: ``["sh", "-c", "test -f /dev/shm/ready && sleep 2"]`` with
timeoutSeconds 1 → the file exists once the app listens, then the sleep
outlasts the timeout: ``command "sh -c test -f /dev/shm/ready && sleep 2"
timed out`` after 1 s.
"""

from __future__ import annotations

import json
import math
import posixpath
import shlex
from dataclasses import dataclass
from typing import Callable, Optional

SHELLS = ("sh", "bash", "dash")
#: Directories a program may live in: "/bin/true" is "true".
_BIN_DIRS = ("", "/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin")
_SUPPORTED = "true, false, exit, sleep, cat and test, alone or in sh -c"

FILE, DIR = "file", "dir"
#: The demo image's paths the table lists (cluster/app/Dockerfile): kind by path.
IMAGE_PATHS = {"/": DIR, "/app": DIR, "/app/server.py": FILE, "/tmp": DIR, "/dev": DIR,
               "/dev/shm": DIR}
#: Directories the app leaves empty but for its READY_FILE: anything else in
#: them is known NOT to exist.
EMPTY_DIRS = ("/tmp", "/dev/shm")
WORKDIR = "/app"
UNKNOWN = "unknown"


class _Unsupported(Exception):
    """The command (or a word of it) is outside what the simulator models."""


@dataclass(frozen=True)
class ExecResult:
    ok: bool
    message: str        # what the kubelet reports when the probe fails
    seconds: float      # how long the command ran (at most the timeout)


def path_kind(path: str, ready_file: str, ready: bool) -> Optional[str]:
    """FILE, DIR, None (known absent) or "unknown" for a path inside the container."""
    path = _absolute(path)
    if path == ready_file:
        return FILE if ready else None
    if path in IMAGE_PATHS:
        return IMAGE_PATHS[path]
    if posixpath.dirname(path) in EMPTY_DIRS:
        return None
    return UNKNOWN


def _absolute(path: str) -> str:
    """Relative paths start from the image's WORKDIR, /app."""
    return posixpath.normpath(posixpath.join(WORKDIR, path))


# -- parsing ------------------------------------------------------------------------------


def _program(word: str) -> str:
    directory, name = posixpath.split(word)
    if directory.rstrip("/") not in _BIN_DIRS:
        raise _Unsupported(word)
    return name


def _script(command: tuple) -> Optional[list]:
    """[(operator, argv), ...] for a shell -c script, None if the command is not a shell."""
    if len(command) < 3 or command[1] != "-c":
        return None
    try:
        if _program(command[0]) not in SHELLS:
            return None
    except _Unsupported:
        return None
    lexer = shlex.shlex(command[2], posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:              # an unclosed quote: sh would fail, we cannot say how
        raise _Unsupported(command[2]) from None
    steps, words, operator = [], [], ";"
    for token in tokens:
        if token in ("&&", "||", ";"):
            if not words:
                raise _Unsupported(token)
            steps.append((operator, tuple(words)))
            words, operator = [], token
        elif set(token) <= set("();<>|&") or any(c in token for c in "$`*?~{}"):
            raise _Unsupported(token)     # pipes, redirections, expansions, globs
        else:
            words.append(token)
    if words:
        steps.append((operator, tuple(words)))
    elif operator != ";" or not steps:
        raise _Unsupported(command[2])
    return steps


def _steps(command: tuple) -> list:
    if not command:
        raise _Unsupported("[]")
    steps = _script(command)
    return steps if steps is not None else [(";", command)]


def _sleep_seconds(operands: tuple) -> Optional[float]:
    """coreutils sleep's total, None if an operand is not an interval."""
    if not operands:
        return None
    total = 0.0
    for word in operands:
        scale = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(word[-1:], None)
        number = word[:-1] if scale else word
        try:
            value = float(number)
        except ValueError:
            return None
        if not math.isfinite(value) or value < 0:
            return None
        total += value * (scale or 1)
    return total


_TEST_FLAGS = ("-e", "-f", "-d", "-s")


def _test_operands(name: str, args: tuple) -> tuple:
    """(negated, flag, path) of a `test`/`[` expression the model understands."""
    if name == "[":
        if not args or args[-1] != "]":
            raise _Unsupported("[ without ]")
        args = args[:-1]
    negated = bool(args) and args[0] == "!"
    args = args[1:] if negated else args
    if len(args) != 2 or args[0] not in _TEST_FLAGS:
        raise _Unsupported(" ".join((name, *args)))
    return negated, args[0], args[1]


def _paths(argv: tuple) -> list:
    """Paths a simple command looks at (for notes); raises _Unsupported if not modelled."""
    name = _program(argv[0])
    args = argv[1:]
    if name in ("true", "false", ":"):
        return []
    if name == "exit":
        if len(args) > 1 or (args and not args[0].isdigit()):
            raise _Unsupported("exit " + " ".join(args))
        return []
    if name == "sleep":
        return []           # a bad interval is modelled: sleep fails, as coreutils does
    if name == "cat":
        if any(a.startswith("-") and a != "-" for a in args):
            raise _Unsupported("cat " + " ".join(args))
        return [a for a in args if a != "-"]
    if name in ("test", "["):
        return [_test_operands(name, args)[2]]
    raise _Unsupported(name)


# -- what the simulator cannot know: said once, by name ---------------------------------


def notes(command, ready_file: str, image: str) -> list[str]:
    """Sentences naming what this probe command leaves to assumption (empty: fully modelled)."""
    command = tuple(str(word) for word in command or ())
    shown = json.dumps(list(command))
    try:
        steps = _steps(command)
        unknown = [p for _, argv in steps for p in _paths(argv)
                   if path_kind(p, ready_file, True) == UNKNOWN]
    except _Unsupported:
        return [f"the simulator cannot run the exec probe command {shown} (it runs only "
                f"{_SUPPORTED}, on the demo app's files); it assumes the command exits 0 while "
                "the app listens"]
    return [f"the simulator cannot tell whether {_absolute(path)} exists in image {image} (the "
            f"exec probe command {shown} reads it); it assumes it does not"
            for path in dict.fromkeys(unknown)]


# -- running ------------------------------------------------------------------------------------


def run(command, timeout_s: float, files: Callable[[str], Optional[str]],
        listening: bool) -> ExecResult:
    """Run ``command`` against the container's files; ``files(path)`` is path_kind's answer."""
    command = tuple(str(word) for word in command or ())
    try:
        steps = _steps(command)
        for _, argv in steps:
            _paths(argv)
    except _Unsupported:
        # Said once by notes(); the assumption it states:
        return ExecResult(listening, "" if listening else "not run by the simulator: assumed "
                          "to fail while the app does not listen", 0.0)
    status, output, elapsed = 0, [], 0.0
    for operator, argv in steps:
        if (operator == "&&" and status != 0) or (operator == "||" and status == 0):
            continue
        name, args = _program(argv[0]), argv[1:]
        if name == "exit":
            status = int(args[0]) % 256 if args else status
            break
        status, text, seconds = _simple(name, args, files)
        output.append(text)
        elapsed += seconds
        if elapsed >= timeout_s:
            # The runtime gives up at the deadline: "command %q timed out" (Go's %q).
            return ExecResult(False, f"command {json.dumps(' '.join(command))} timed out",
                              float(timeout_s))
    return ExecResult(status == 0, "".join(output).rstrip("\n"), elapsed)


def _simple(name: str, args: tuple, files) -> tuple:
    """(exit status, output, seconds) of one modelled program."""
    if name in ("true", ":"):
        return 0, "", 0.0
    if name == "false":
        return 1, "", 0.0
    if name == "sleep":
        seconds = _sleep_seconds(args)
        if seconds is None:
            what = f"invalid time interval '{args[0]}'" if args else "missing operand"
            return 1, f"sleep: {what}\nTry 'sleep --help' for more information.\n", 0.0
        return 0, "", seconds
    if name == "cat":
        status, output = 0, []
        for path in args:
            kind = files(path)
            if kind != FILE:
                status = 1
                why = "Is a directory" if kind == DIR else "No such file or directory"
                output.append(f"cat: {path}: {why}\n")
        return status, "".join(output), 0.0
    negated, flag, path = _test_operands(name, args)
    kind = files(path)
    holds = {"-e": kind in (FILE, DIR), "-f": kind == FILE, "-d": kind == DIR,
             "-s": kind in (FILE, DIR)}[flag]     # every modelled file has content
    return (0 if holds != negated else 1), "", 0.0
