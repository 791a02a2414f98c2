"""The dev launcher's terminal: every process's lines under its name, as foreman and honcho show
the processes of a Procfile (`ingest | 12:01:02 webhook_rejected reason=…`)."""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Sequence
from typing import IO, TextIO

# ANSI foreground colours the names take in turn (no red: it would read as an error).
COLORS = ("36", "33", "32", "35", "34", "96", "93", "92", "95", "94")


class Console:
    """Whole lines from many threads onto one output, each labelled with who wrote it."""

    def __init__(self, names: Sequence[str], out: TextIO, *, colors: bool) -> None:
        self._width = max(map(len, names))
        self._colors = itertools.cycle(COLORS) if colors else None
        self._labels: dict[str, str] = {}
        for name in names:
            self._label(name)
        self._out = out
        self._lock = threading.Lock()

    def _label(self, name: str) -> str:
        if name not in self._labels:
            label = f"{name:<{self._width}} | "
            if self._colors is not None:
                label = f"\x1b[{next(self._colors)}m{label}\x1b[0m"
            self._labels[name] = label
        return self._labels[name]

    def isatty(self) -> bool:
        return self._out.isatty()

    def _write(self, text: str) -> None:
        with self._lock:
            self._out.write(text)
            self._out.flush()

    def say(self, text: str) -> None:
        """The launcher's own news (what is ready where), unlabelled."""
        self._write(text + "\n")

    def line(self, name: str, text: str) -> None:
        """`text` under `name`, every line of it (a traceback stays readable as one block)."""
        label = self._label(name)
        self._write("".join(f"{label}{part}\n" for part in text.splitlines() or [""]))

    def follow(self, name: str, pipe: IO[bytes]) -> threading.Thread:
        """Show `pipe` (a child's stdout and stderr) under `name` until the child closes it."""

        def copy() -> None:
            with pipe:
                for raw in iter(pipe.readline, b""):
                    self.line(name, raw.decode(errors="replace").rstrip("\r\n"))

        thread = threading.Thread(target=copy, name=f"console-{name}", daemon=True)
        thread.start()
        return thread

    def stream(self, name: str) -> io.TextIOBase:
        """A text stream whose lines show under `name`: where the launcher's own logging goes."""
        return _Labelled(self, name)


class _Labelled(io.TextIOBase):
    def __init__(self, console: Console, name: str) -> None:
        self._console = console
        self._name = name
        self._pending = ""

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            self._console.line(self._name, line)
        return len(text)

    def isatty(self) -> bool:
        return self._console.isatty()
