"""Summarise a `py-spy record -f raw` file: the functions most samples were in (self time), and
the same samples by the package of their innermost frame (uvicorn, starlette, aiokafka, …) and
by the packages anywhere on their stack (a caller's share includes what it called)."""

from __future__ import annotations

import sys
from collections import Counter


def _package(frame: str) -> str:
    """`send (uvicorn/protocols/http/httptools_impl.py:524)` → `uvicorn`; `hmac.py` → `hmac`."""
    where = frame.rpartition("(")[2]
    return where.split("/")[0].split(".py")[0] or "?"


def main(path: str, top: int = 25) -> None:
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    within: Counter[str] = Counter()  # samples with the package anywhere on the stack
    total = 0
    with open(path) as lines:
        for line in lines:
            stack, _, count = line.rstrip().rpartition(" ")
            total += int(count)
            leaf = stack.split(";")[-1]
            own[leaf] += int(count)
            packages[_package(leaf)] += int(count)
            for package in {_package(frame) for frame in stack.split(";")}:
                within[package] += int(count)
    for frame, samples in own.most_common(top):
        print(f"{samples / total * 100:5.1f}%  {frame}")
    for title, shares in (("self, by package", packages), ("on the stack", within)):
        print(f"{title}: " + " · ".join(f"{p} {c / total * 100:.0f}%" for p, c in shares.most_common(12)))


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
