"""The request log: one JSON record per AWS call, in arrival order.

A record: ``seq``, ``time`` (RFC 3339, UTC), ``unix`` (seconds), ``service``, ``operation``,
``region``, ``status`` (HTTP), ``outcome`` (``ok`` or the AWS error code), ``fault`` (``throttle``,
``error5xx``, ``notfound_after_create`` or null when the answer came from moto), ``duration_ms``,
``digest`` (12 hex digits of a hash of the request's path, query and body: equal digests are
the same request), ``call`` (the crash switch's counted-call number) and ``killed`` (``before``/``after`` when the
crash switch killed the caller on this call, else null).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from typing import Any

from .protocol import AwsRequest

_XML_CODE = re.compile(rb"<Code>([^<]+)</Code>")


def error_code(status: int, headers: list[tuple[str, str]], body: bytes) -> str:
    """The AWS error code of a response, or 'ok'."""
    if status < 300:
        return "ok"
    for k, v in headers:
        if k.lower() == "x-amzn-errortype":
            return v.split(":", 1)[0]
    m = _XML_CODE.search(body[:4096])
    if m:
        return m.group(1).decode("utf-8", "replace")
    try:
        data = json.loads(body[:65536] or b"{}")
        code = data.get("__type") or data.get("code") or data.get("ErrorCode")
        if code:
            return str(code).rsplit("#", 1)[-1]
    except (ValueError, AttributeError):
        pass
    return f"HTTP{status}"


class RequestLog:
    """Bounded in-memory log (the newest 100,000 records)."""

    LIMIT = 100_000

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self._seq = 0

    def reset(self) -> None:
        self.records = []
        self._seq = 0

    def add(
        self,
        req: AwsRequest,
        status: int,
        outcome: str,
        fault: str | None,
        started: float,
        call: int | None = None,
        killed: str | None = None,
    ) -> None:
        self._seq += 1
        now = time.time()
        self.records.append(
            {
                "seq": self._seq,
                "time": dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(
                    timespec="milliseconds"
                ),
                "unix": round(now, 6),
                "service": req.service,
                "operation": req.operation,
                "region": req.region,
                "status": status,
                "outcome": outcome,
                "fault": fault,
                "duration_ms": round((time.monotonic() - started) * 1000, 3),
                "digest": hashlib.sha1(req.text.encode("utf-8", "replace")).hexdigest()[:12],
                "call": call,
                "killed": killed,
            }
        )
        if len(self.records) > self.LIMIT:
            del self.records[: len(self.records) - self.LIMIT]

    def since(self, seq: int) -> list[dict[str, Any]]:
        return [r for r in self.records if r["seq"] > seq]
