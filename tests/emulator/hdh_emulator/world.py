"""The shared state of one emulator process: profile, AWS-time clock, scheduled transitions.

Everything that changes with time (a cluster becoming ACTIVE, an ENI finally being released) is a
scheduled *transition*: a callback due at some AWS time. Transitions run lazily, under the world
lock, at the start of every request (AWS call or control call), so a client can never observe a
state that is out of date, and no background thread races with moto's models.

AWS time runs ``1 / time_scale`` times faster than wall time (time scale 0.003: twelve AWS minutes
pass in 2.16 wall seconds). The control API can pause it and advance it by hand, which lets tests
step through in-between states without sleeping.
"""

from __future__ import annotations

import heapq
import json
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

PROFILE_DIR = Path(__file__).resolve().parent.parent / "profiles"

# Every duration a profile may set, in AWS seconds (before --time-scale). Missing keys mean 0.
DURATION_KEYS = (
    "eks_cluster_create",
    "eks_cluster_delete",
    "eks_cluster_eni_linger",
    "eks_cluster_update",
    "eks_access_config_update",
    "eks_nodegroup_create",
    "eks_nodegroup_delete",
    "eks_nodegroup_update",
    "eks_addon_create",
    "eks_addon_delete",
    "nat_gateway_create",
    "nat_gateway_delete",
    "efs_file_system_create",
    "efs_mount_target_create",
    "efs_mount_target_delete",
    "efs_mount_target_eni_linger",
    "k8s_load_balancer_provision",
    "elb_eni_linger",
    "acm_record_publish",
    "acm_certificate_validate",
)

# Scenario flags the control API accepts, with their defaults.
SCENARIO_DEFAULTS: dict[str, Any] = {
    # CNI ENIs (per node) left behind, status "available", when a node group is deleted.
    "leak_cni_enis": 0,
    # The Kubernetes API of every cluster is unreachable for helm/kubectl.
    "kube_unreachable": False,
}


class ProfileError(ValueError):
    """A profile name or file that cannot be used."""


class Profile:
    """Durations and switches that decide how AWS-like the emulator behaves."""

    def __init__(self, name: str, refusals: bool, side_effects: bool, durations: dict[str, float]):
        self.name = name
        self.refusals = refusals
        self.side_effects = side_effects
        self.durations = {k: float(durations.get(k, 0)) for k in DURATION_KEYS}

    @classmethod
    def load(cls, spec: str) -> "Profile":
        """``instant``, ``realistic`` or a path to a JSON profile (which may name a ``base``)."""
        path = PROFILE_DIR / f"{spec}.json"
        if not path.exists():
            path = Path(spec)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ProfileError(f"unknown profile {spec!r} (instant, realistic or a JSON file)")
        except json.JSONDecodeError as e:
            raise ProfileError(f"profile {spec}: invalid JSON: {e}")
        unknown = set(data) - {"description", "base", "refusals", "side_effects", "durations"}
        if unknown:
            raise ProfileError(f"profile {spec}: unknown keys {sorted(unknown)}")
        base = cls.load(data["base"]) if "base" in data else None
        durations = dict(base.durations) if base else {}
        bad = set(data.get("durations", {})) - set(DURATION_KEYS)
        if bad:
            raise ProfileError(f"profile {spec}: unknown durations {sorted(bad)}")
        durations.update(data.get("durations", {}))
        return cls(
            name=path.stem,
            refusals=bool(data.get("refusals", base.refusals if base else False)),
            side_effects=bool(data.get("side_effects", base.side_effects if base else False)),
            durations=durations,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "refusals": self.refusals,
            "side_effects": self.side_effects,
            "durations": self.durations,
        }


class Clock:
    """AWS time in seconds since start; runs 1/time_scale times faster than wall time."""

    def __init__(self, time_scale: float):
        if not time_scale > 0:
            raise ValueError("time scale must be > 0")
        self.time_scale = time_scale
        self._wall0 = time.monotonic()
        self._offset = 0.0
        self._paused_at: float | None = None

    def now(self) -> float:
        wall = self._paused_at if self._paused_at is not None else time.monotonic()
        return (wall - self._wall0) / self.time_scale + self._offset

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = time.monotonic()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._wall0 += time.monotonic() - self._paused_at
            self._paused_at = None

    def advance(self, seconds: float) -> None:
        self._offset += max(0.0, seconds)

    @property
    def paused(self) -> bool:
        return self._paused_at is not None


class World:
    """One emulator's state beside moto's; a single instance lives in ``WORLD``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.profile = Profile.load("realistic")
        self.clock = Clock(1.0)
        self.seed = 0
        self.scenario: dict[str, Any] = dict(SCENARIO_DEFAULTS)
        self._events: list[tuple[float, int, str, Callable[[], None]]] = []
        self._seq = 0
        self._reset_hooks: list[Callable[[], None]] = []

    def configure(self, profile: Profile, time_scale: float, seed: int) -> None:
        self.profile = profile
        self.clock = Clock(time_scale)
        self.seed = seed

    # -- durations and transitions ------------------------------------------------------------

    def duration(self, key: str) -> float:
        return self.profile.durations[key]

    def after(self, key_or_seconds: str | float, label: str, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the profile duration (or explicit AWS seconds) has passed; 0 = now."""
        seconds = (
            self.duration(key_or_seconds) if isinstance(key_or_seconds, str) else key_or_seconds
        )
        if seconds <= 0:
            fn()
            return
        self._seq += 1
        heapq.heappush(self._events, (self.clock.now() + seconds, self._seq, label, fn))

    def tick(self) -> None:
        """Run every transition that is due. Called with the lock held."""
        now = self.clock.now()
        while self._events and self._events[0][0] <= now:
            _, _, label, fn = heapq.heappop(self._events)
            try:
                fn()
            except Exception:  # a broken transition must not take the server down
                print(f"hdh-emulator: transition {label} failed:", file=sys.stderr)
                traceback.print_exc()

    def pending(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        return [
            {"label": label, "due_in_aws_seconds": round(due - now, 3)}
            for due, _, label, _ in sorted(self._events)
        ]

    # -- reset --------------------------------------------------------------------------------

    def on_reset(self, hook: Callable[[], None]) -> None:
        self._reset_hooks.append(hook)

    def reset(self) -> None:
        self._events.clear()
        self.scenario = dict(SCENARIO_DEFAULTS)
        for hook in self._reset_hooks:
            hook()


WORLD = World()
