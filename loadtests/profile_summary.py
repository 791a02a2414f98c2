"""Summarise a `py-spy record -f raw` file: the functions most samples were in (self time)."""

from __future__ import annotations

import sys
from collections import Counter


def main(path: str, top: int = 25) -> None:
    own: Counter[str] = Counter()
    total = 0
    with open(path) as lines:
        for line in lines:
            stack, _, count = line.rstrip().rpartition(" ")
            total += int(count)
            own[stack.split(";")[-1]] += int(count)
    for frame, count in own.most_common(top):
        print(f"{count / total * 100:5.1f}%  {frame}")


if __name__ == "__main__":
    main(sys.argv[1])
