"""The crash switch: SIGKILL a given process when the emulator serves its K-th counted call.

hdh promises that a run killed at any moment is finished by running it again. To prove it at
every call, a test arms the switch (``POST /_hdh/crash``) with the pid of the ``hdh`` it started
and a position; when the emulator serves that call it kills the process with SIGKILL either

* ``before`` acting on the request: the call does nothing (moto never sees it), or
* ``after`` the emulator acted but before the answer is sent: the change happened, hdh never
  learns its result.

Counted calls (numbered ``call`` from 1 after start or reset, in the request log and the tool
log): every AWS API call the emulator answers (faulted ones included), and every stand-in
``helm``/``kubectl`` invocation (``POST /_hdh/k8s``, except the ``ready`` polls of ``--wait``,
which belong to the invocation that started them). Control API calls are not counted.

``at`` counts from the moment the switch is armed, only the calls that match the optional
``service`` (``ec2``, ``eks``, ``helm``, ``kubectl``…) and ``operation`` (``CreateSubnet``,
``upgrade``…), and, when ``any_of`` lists ``[service, operation]`` pairs, only calls of one of
those (a chain of kills takes each resumed run down at the first operation not yet killed at,
whatever order the run reaches them in). The switch fires once, then disarms;
``GET /_hdh/crash`` says what it did.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from .world import WORLD

WHEN = ("before", "after")


class CrashSwitch:
    def __init__(self) -> None:
        self.calls = 0
        self.armed: dict[str, Any] | None = None
        self.seen = 0
        self.fired: dict[str, Any] | None = None

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def arm(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ValueError("crash: body must be a JSON object")
        unknown = set(body) - {"pid", "at", "when", "service", "operation", "any_of"}
        if unknown:
            raise ValueError(f"crash: unknown keys {sorted(unknown)}")
        pid, at, when = body.get("pid"), body.get("at"), body.get("when", "before")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
            raise ValueError("crash: pid must be a process id > 1")
        if not isinstance(at, int) or isinstance(at, bool) or at < 1:
            raise ValueError("crash: at must be an integer >= 1")
        if when not in WHEN:
            raise ValueError(f"crash: when must be one of {list(WHEN)}")
        for key in ("service", "operation"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise ValueError(f"crash: {key} must be a string")
        any_of = body.get("any_of")
        if any_of is not None:
            if not isinstance(any_of, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
                for p in any_of
            ):
                raise ValueError("crash: any_of must be a list of [service, operation] pairs")
            any_of = sorted({(p[0], p[1]) for p in any_of})
        self.armed = {
            "pid": pid,
            "any_of": any_of,
            "at": at,
            "when": when,
            "service": body.get("service"),
            "operation": body.get("operation"),
        }
        self.seen = 0
        self.fired = None
        return self.to_json()

    def to_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "armed": self.armed, "seen": self.seen, "fired": self.fired}

    def count(self, service: str, operation: str) -> tuple[int, str | None]:
        """Number this call; return it and ``before``/``after`` if the switch fires on it."""
        self.calls += 1
        a = self.armed
        if a is None:
            return self.calls, None
        if a["service"] not in (None, service) or a["operation"] not in (None, operation):
            return self.calls, None
        if a["any_of"] is not None and (service, operation) not in a["any_of"]:
            return self.calls, None
        self.seen += 1
        if self.seen < a["at"]:
            return self.calls, None
        self.armed = None
        self.fired = {
            "call": self.calls,
            "pid": a["pid"],
            "when": a["when"],
            "service": service,
            "operation": operation,
        }
        return self.calls, a["when"]

    def kill(self, also: int | None = None) -> None:
        """SIGKILL the armed pid and wait (bounded) until it can no longer act. ``also`` is the
        stand-in tool (helm, kubectl) whose call fired the switch: it dies with its caller, as
        both do when a laptop is closed, so a helm killed mid-install leaves what helm leaves."""
        assert self.fired is not None
        # The caller first: killed after its tool, it could see the tool die and clean up
        # (remove its work directory, record a failure) in the moment between the two kills,
        # which a closed laptop never allows.
        pid = self.fired["pid"]
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            self.fired["result"] = "no such process"
            _kill_tool(also)
            return
        except PermissionError:
            self.fired["result"] = "not permitted"
            _kill_tool(also)
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not _dead(pid):
            time.sleep(0.001)
        self.fired["result"] = "killed" if _dead(pid) else "still alive after 5 s"
        _kill_tool(also)


def _kill_tool(also: int | None) -> None:
    """SIGKILL the stand-in tool whose call fired the switch, if there is one."""
    if isinstance(also, int) and not isinstance(also, bool) and also > 1 and also != os.getpid():
        try:
            os.kill(also, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _dead(pid: int) -> bool:
    """Gone or a zombie: a process in either state runs no more code."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    # "pid (comm) S ...": the state follows the last ')'
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
    return state in (b"Z", b"X")


SWITCH = CrashSwitch()
WORLD.on_reset(SWITCH.reset)
