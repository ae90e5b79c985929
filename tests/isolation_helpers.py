"""Test helpers for isolated plugins: their runner processes and what they map."""
import os
from pathlib import Path


def runner_pids() -> list[int]:
    """Live pyhost-runner children of this process."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if comm == "pyhost-runner" and int(fields[1]) == me and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def mapped(path) -> bool:
    """Whether a library file is mapped into this process or into one of its runners."""
    target = str(Path(path).resolve())
    for pid in [os.getpid(), *runner_pids()]:
        try:
            if target in Path(f"/proc/{pid}/maps").read_text():
                return True
        except OSError:
            continue
    return False
