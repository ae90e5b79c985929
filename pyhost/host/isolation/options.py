"""How isolated plugins are run: deadlines, restarts, the crash record, the runner."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Optional

MODES = ("registry", "all", "none")

# Hook deadlines by guid prefix (the longest matching prefix wins). Protocol lines and UDP
# payloads are on a client's network path and must be answered quickly; chat and UI hooks
# get 2 s, as AirDC++ gives its hook subscribers.
DEFAULT_DEADLINES: Mapping[str, float] = {
    "dcpp.network.": 0.5,
    "dcpp.chat.": 2.0,
    "dcpp.ui.": 2.0,
}


@dataclass(frozen=True)
class IsolationOptions:
    """Options of a host's isolated plugins (``Host(isolation=IsolationOptions(...))``).

    - ``deadlines``: seconds a forwarded hook call may take, by hook guid prefix; a runner
      that misses one is killed and restarted, and the call counts as not handled;
      ``default_deadline`` for hooks no prefix matches.
    - ``lifecycle_deadline``: pluginInit and each main() state; ``call_deadline``: a call
      into an interface the plugin registered, or one of its UI commands.
    - ``max_crashes``: crashes in a row (no successful hook call in between) after which
      the plugin is marked crashed and disabled until it is enabled again.
    - ``restart_delay`` doubles after each crash in a row, up to ``max_restart_delay``.
    - ``history``: how many of the last hook calls are written to the replay file of a
      crash (0: none, no file).
    - ``async_hooks``: hook guid prefixes whose calls to isolated plugins do not wait for
      the answer (fire and forget: "not handled", no break); StringData and TagData hooks
      always wait.
    - ``mode``: "registry" (each plugin's own flag), "all" (every compiled plugin runs
      isolated) or "none" (every one in the host's process, e.g. to debug a crash).
      Defaults to $PYHOST_ISOLATION, else "registry".
    - ``runner``: the runner program (default: the one installed with pyhost, or
      $PYHOST_RUNNER).
    """

    deadlines: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DEADLINES))
    default_deadline: float = 5.0
    lifecycle_deadline: float = 10.0
    call_deadline: float = 2.0
    max_crashes: int = 3
    restart_delay: float = 0.1
    max_restart_delay: float = 5.0
    history: int = 32
    async_hooks: tuple[str, ...] = ()
    mode: Optional[str] = None
    runner: Optional[str] = None

    def __post_init__(self):
        mode = self.mode if self.mode is not None else os.environ.get("PYHOST_ISOLATION",
                                                                      "registry")
        if mode not in MODES:
            raise ValueError(f"isolation mode must be one of {', '.join(MODES)}, "
                             f"not {mode!r}")
        object.__setattr__(self, "mode", mode)
        if self.max_crashes < 1:
            raise ValueError("max_crashes must be at least 1")
        for prefix, seconds in self.deadlines.items():
            if not seconds > 0:
                raise ValueError(f"the deadline of {prefix!r} must be positive seconds")

    def restart_backoff(self, crashes: int) -> float:
        """Seconds to wait before the restart that follows the n-th crash in a row."""
        return min(self.restart_delay * 2 ** max(crashes - 1, 0), self.max_restart_delay)

    def runner_path(self) -> str:
        if self.runner:
            return self.runner
        env = os.environ.get("PYHOST_RUNNER")
        if env:
            return env
        from pyhost.abi.paths import runner
        return str(runner())


def ns(seconds: float) -> int:
    return max(int(seconds * 1e9), 1)
