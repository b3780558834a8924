"""Seeded fault injection: throttling, 5xx, and NotFound on reads just after a create.

``--faults throttle=0.3,error5xx=0.05,notfound_after_create=2s``

* ``throttle`` and ``error5xx`` are shares of all AWS calls. The draw is *stratified*: calls are
  taken in blocks of 20, each block gets its share of faults (fractions carry over to the next
  block) at positions shuffled by a ``random.Random(seed)``. So a fixed seed gives a fixed
  sequence, and over any 1,000 calls the observed rate is the requested one to within 1 call.
* ``notfound_after_create`` is a wall-clock window (``2s``, ``500ms``, ``1m``): reads (Describe*,
  Get*, List*, Head*) that name a resource created less than that long ago answer with the
  service's NotFound error, as AWS's eventual consistency sometimes does. Not random.

Faults are injected *before* moto sees the call, so a faulted mutation did not happen.
"""

from __future__ import annotations

import json
import random
import re
import time
from typing import Any

from .protocol import AwsRequest

BLOCK = 20

_ID_RE = re.compile(
    r"(?<![\w-])(?:vpc|subnet|sg|igw|nat|eni|rtb|eipalloc|i|lt|vol|fs|fsmt|fsap)-[0-9a-f]{8,17}(?![\w-])"
)
# names a create call gives to the resource it creates, by (service, operation)
_NAME_PARAMS = {
    ("eks", "CreateCluster"): ("name",),
    ("eks", "CreateNodegroup"): ("nodegroupName",),
    ("eks", "CreateAddon"): ("addonName",),
    ("s3", "CreateBucket"): ("Bucket",),
    ("iam", "CreateRole"): ("RoleName",),
    ("iam", "CreatePolicy"): ("PolicyName",),
    ("iam", "CreateInstanceProfile"): ("InstanceProfileName",),
    ("elb", "CreateLoadBalancer"): ("LoadBalancerName",),
}
_JSON_ID_KEYS = ("KeyId", "UserPoolId", "Id", "ClientId")


class FaultSpecError(ValueError):
    """A --faults string that cannot be parsed."""


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise FaultSpecError(f"bad duration {text!r} (e.g. 2s, 500ms, 1m)")
    value = float(m.group(1))
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def parse_spec(spec: str) -> dict[str, float]:
    out = {"throttle": 0.0, "error5xx": 0.0, "notfound_after_create": 0.0}
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or key not in out:
            raise FaultSpecError(
                f"bad fault {part!r}: expected throttle=P, error5xx=P or notfound_after_create=DURATION"
            )
        if key == "notfound_after_create":
            out[key] = parse_duration(value)
        else:
            try:
                p = float(value)
            except ValueError:
                raise FaultSpecError(f"bad share {value!r} for {key}: expected 0..1")
            if not 0 <= p <= 1:
                raise FaultSpecError(f"share for {key} must be within 0..1, got {p}")
            out[key] = p
    if out["throttle"] + out["error5xx"] > 1:
        raise FaultSpecError("throttle + error5xx must not exceed 1")
    return out


class FaultInjector:
    """Decides, per AWS call, whether to answer with a fault instead of moto."""

    def __init__(self, spec: str = "", seed: int = 0):
        self.configure(spec, seed)

    def configure(self, spec: str, seed: int) -> None:
        self.spec_text = spec or ""
        self.spec = parse_spec(spec)
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        self._rng = random.Random(self.seed)
        self._queue: list[str | None] = []
        self._carry = {"throttle": 0.0, "error5xx": 0.0}
        self._created: dict[str, float] = {}  # token -> wall time of creation

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec_text, "seed": self.seed, **self.spec}

    def _refill(self) -> None:
        counts = {}
        for kind in ("throttle", "error5xx"):
            exact = self.spec[kind] * BLOCK + self._carry[kind]
            counts[kind] = int(exact)
            self._carry[kind] = exact - counts[kind]
        block: list[str | None] = ["throttle"] * counts["throttle"] + ["error5xx"] * counts["error5xx"]
        block += [None] * (BLOCK - len(block))
        self._rng.shuffle(block)
        self._queue = block

    def draw(self) -> str | None:
        """The random fault for the next call: 'throttle', 'error5xx' or None."""
        if not (self.spec["throttle"] or self.spec["error5xx"]):
            return None
        if not self._queue:
            self._refill()
        return self._queue.pop()

    def not_found_target(self, req: AwsRequest) -> str | None:
        """A resource this read names that was created within the window, if any."""
        window = self.spec["notfound_after_create"]
        if not window or not req.is_read or not self._created:
            return None
        now = time.monotonic()
        for token, t in list(self._created.items()):
            if now - t > window:
                del self._created[token]
        if req.service == "ec2":
            haystack = " ".join(
                str(v) for k, v in req.params.items() if not k.startswith("Filter.")
            )
        else:
            haystack = req.text
        for token in self._created:
            if re.search(r"(?<![\w-])" + re.escape(token) + r"(?![\w-])", haystack):
                return token
        return None

    def note_response(self, req: AwsRequest, status: int, body: bytes) -> None:
        """Remember what a successful create created (only when the window is on)."""
        if not self.spec["notfound_after_create"] or status >= 300:
            return
        if not req.operation.startswith(("Create", "Allocate", "Run")):
            return
        tokens: set[str] = set()
        text = body.decode("utf-8", "replace") if len(body) < 1_000_000 else ""
        tokens.update(t for t in _ID_RE.findall(text) if t not in req.text)
        for name in _NAME_PARAMS.get((req.service, req.operation), ()):
            if isinstance(req.params.get(name), str):
                tokens.add(req.params[name])
        if req.protocol in ("json", "rest-json") and text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            for value in _walk_ids(data):
                if value not in req.text:
                    tokens.add(value)
        now = time.monotonic()
        for token in tokens:
            self._created[token] = now


def _walk_ids(data: Any, depth: int = 0):
    if depth > 3:
        return
    if isinstance(data, dict):
        for k, v in data.items():
            if k in _JSON_ID_KEYS and isinstance(v, str):
                yield v
            else:
                yield from _walk_ids(v, depth + 1)
