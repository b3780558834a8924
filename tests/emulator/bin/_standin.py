"""Shared client code of the stand-in ``helm`` and ``kubectl`` (Python standard library only).

The tools find the emulator through ``HDH_EMULATOR_URL`` or ``AWS_ENDPOINT_URL``, send it the
parsed command plus the contents of every file it names (kubeconfig, values, manifests), and
print what it answers. All Kubernetes state lives in the emulator (so it survives between
invocations and goes with a reset); YAML is parsed there.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from typing import Any


def emulator_url(tool: str) -> str:
    url = os.environ.get("HDH_EMULATOR_URL") or os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        fail(tool, f"{tool} (hdh stand-in): AWS_ENDPOINT_URL is not set, so the emulator cannot be found")
    return url.rstrip("/")


def fail(tool: str, message: str, code: int = 1) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(code)


def call(tool: str, payload: dict[str, Any]) -> dict[str, Any]:
    url = emulator_url(tool) + "/_hdh/k8s"
    # The tool's own pid: a crash kill takes the tool down with its caller, as a closed laptop
    # or a killed CI runner does (a helm killed mid-install leaves its release pending).
    data = json.dumps({**payload, "tool_pid": os.getpid()}).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        fail(tool, f"{tool} (hdh stand-in): emulator answered {e.code}: {e.read().decode(errors='replace')}")
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        prefix = "Error: Kubernetes cluster unreachable" if tool == "helm" else "Unable to connect to the server"
        fail(tool, f"{prefix}: dial tcp {url.split('//', 1)[-1].split('/', 1)[0]}: {reason}")
    raise AssertionError("unreachable")


def finish(result: dict[str, Any]) -> None:
    sys.stdout.write(result.get("stdout", ""))
    sys.stderr.write(result.get("stderr", ""))
    sys.stdout.flush()
    sys.exit(int(result.get("exit", 1)))


def read_file(tool: str, path: str, what: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        if tool == "helm":
            fail(tool, f"Error: open {path}: {e.strerror.lower() if e.strerror else e}")
        fail(tool, f"error: the path \"{path}\" does not exist" if what == "manifest" else f"error: {e}")
    raise AssertionError("unreachable")


def kubeconfig(tool: str, flag: str | None) -> str | None:
    """The kubeconfig text (flag, then $KUBECONFIG, then ~/.kube/config), or None if there is none."""
    if flag:
        if not os.path.exists(flag):
            if tool == "helm":
                fail(tool, f"Error: Kubernetes cluster unreachable: stat {flag}: no such file or directory")
            fail(tool, f"error: stat {flag}: no such file or directory")
        return read_file(tool, flag, "kubeconfig")
    for path in filter(None, os.environ.get("KUBECONFIG", "").split(":")):
        if os.path.exists(path):
            return read_file(tool, path, "kubeconfig")
    default = os.path.expanduser("~/.kube/config")
    if os.path.exists(default):
        return read_file(tool, default, "kubeconfig")
    return None


def go_duration(text: str) -> float:
    """Seconds in a Go duration such as 5m0s, 10m, 300s, 1h30m, 1.5s."""
    total = 0.0
    parts = re.findall(r"([0-9]*\.?[0-9]+)(h|ms|m|s)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ValueError(f'time: invalid duration "{text}"')
    for value, unit in parts:
        total += float(value) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


class Args:
    """A tiny flag parser that knows which flags take a value; accepts --flag=value too."""

    def __init__(self, tool: str, argv: list[str], with_value: set[str], boolean: set[str]):
        self.positional: list[str] = []
        self.flags: dict[str, list[str]] = {}
        i = 0
        while i < len(argv):
            arg = argv[i]
            if arg == "--":
                self.positional += argv[i + 1 :]
                break
            if arg.startswith("-") and arg != "-":
                name, eq, value = arg.partition("=")
                if name in with_value:
                    if not eq:
                        i += 1
                        if i >= len(argv):
                            fail(tool, f"Error: flag needs an argument: {name}" if tool == "helm" else f"error: flag needs an argument: {name}")
                        value = argv[i]
                    self.flags.setdefault(name, []).append(value)
                elif name in boolean:
                    self.flags.setdefault(name, []).append(value if eq else "true")
                else:
                    fail(tool, f"Error: unknown flag: {name}" if tool == "helm" else f"error: unknown flag: {name}")
            else:
                self.positional.append(arg)
            i += 1

    def get(self, *names: str) -> str | None:
        for n in names:
            if n in self.flags:
                return self.flags[n][-1]
        return None

    def all(self, *names: str) -> list[str]:
        out: list[str] = []
        for n in names:
            out += self.flags.get(n, [])
        return out

    def on(self, *names: str) -> bool:
        v = self.get(*names)
        return v is not None and v.lower() not in ("false", "0")


def poll_until(tool: str, payload: dict[str, Any], timeout: float) -> bool:
    """Ask the emulator whether a release is ready until it is or the timeout passes."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        result = call(tool, payload)
        if result.get("exit", 1) != 0:
            finish(result)
        if result.get("ready"):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 1.0)
