"""Processes a run started, found by a marker in their environment (children inherit it)."""

from __future__ import annotations

import psutil


def processes_with(variable: str, marker: str) -> list[psutil.Process]:
    """Running processes whose environment sets `variable` to `marker`."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(variable) == marker:
                found.append(proc)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found
