"""The control API under ``/_hdh/`` (a path no AWS API uses), on the emulator's own port.

=======  =====================  ==============================================================
method   path                   what
=======  =====================  ==============================================================
GET      /_hdh/health           ``{"ok": true}``
POST     /_hdh/reset            forget every AWS resource (moto's and ours), log, scenario,
                                pending transitions; resume the clock; re-seed the faults
GET      /_hdh/state            profile, clock, faults, scenario, pending transitions, managed ENIs
GET|POST /_hdh/scenario         read / merge scenario flags (``leak_cni_enis``, ``kube_unreachable``)
GET      /_hdh/log              request log; ``?since=SEQ`` for newer records, ``?format=jsonl``
GET|POST /_hdh/clock            read AWS time; ``{"pause": true|false}``, ``{"advance": SECONDS}``
POST     /_hdh/faults           ``{"spec": "throttle=0.3", "seed": 7}`` replaces the fault spec
POST     /_hdh/k8s              one stand-in helm/kubectl invocation (used by ``bin/helm``,
                                ``bin/kubectl``); answers ``{"exit", "stdout", "stderr"}``
GET      /_hdh/k8s/log          the stand-in tools' invocations (argv, cluster, exit code)
GET|POST /_hdh/crash            read / arm the crash switch: ``{"pid": P, "at": K, "when":
                                "before"|"after", "service"?, "operation"?}`` SIGKILLs P at the
                                K-th counted call from now (see ``crash``)
GET      /_hdh/inventory        everything that exists, normalised (see ``inventory``)
=======  =====================  ==============================================================

Bodies and answers are JSON. Errors answer 400 with ``{"error": "..."}``.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from .faults import FaultSpecError
from .world import SCENARIO_DEFAULTS, WORLD


def _reply(start_response: Callable, status: int, payload: Any, ctype: str = "application/json") -> Iterable[bytes]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}[status]
    start_response(f"{status} {reason}", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


def reset_everything(app: Any) -> None:
    """Forget all state, moto's and ours. Backends are recreated lazily on their next use."""
    from moto.core.base_backend import BackendDict, backend_lock
    from moto.core.model_instances import reset_model_data

    from moto.s3.models import s3_backends

    with backend_lock:
        for backend_dict in BackendDict._instances:
            backend_dict.clear()
        BackendDict._instances.clear()
        # S3 bucket names are global: moto keeps which account owns each outside the backends,
        # and a name left there after a reset sends every later lookup of it into endless
        # recursion (HTTP 500) instead of "no such bucket".
        s3_backends.bucket_accounts.clear()
    reset_model_data()
    WORLD.reset()
    WORLD.clock.resume()
    app.faults.reset()
    app.log.reset()


def handle(app: Any, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "").rstrip("/")
    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return _reply(start_response, 400, {"error": "body is not JSON"})

    with WORLD.lock:
        WORLD.tick()
        try:
            result = _route(app, method, path, query, body)
        except (ValueError, KeyError, TypeError) as e:
            return _reply(start_response, 400, {"error": str(e)})
    if result is None:
        return _reply(start_response, 404, {"error": f"no control endpoint {method} {path}"})
    if isinstance(result, bytes):
        return _reply(start_response, 200, result, "application/x-ndjson")
    return _reply(start_response, 200, result)


def _route(app: Any, method: str, path: str, query: dict[str, str], body: Any) -> Any:
    if path == "/_hdh/health":
        return {"ok": True}
    if path == "/_hdh/reset" and method == "POST":
        t0 = time.perf_counter()
        reset_everything(app)
        return {"reset": True, "ms": round((time.perf_counter() - t0) * 1000, 3)}
    if path == "/_hdh/state":
        from . import ec2

        return {
            "profile": WORLD.profile.to_json(),
            "clock": _clock(),
            "faults": app.faults.to_json(),
            "scenario": WORLD.scenario,
            "pending": WORLD.pending(),
            "managed_enis": [vars(m) for m in ec2.MANAGED.values()],
            "init_seconds": app.init_seconds,
        }
    if path == "/_hdh/scenario":
        if method == "POST":
            if not isinstance(body, dict):
                raise ValueError("scenario must be a JSON object")
            unknown = set(body) - set(SCENARIO_DEFAULTS)
            if unknown:
                raise ValueError(f"unknown scenario flags {sorted(unknown)}; known: {sorted(SCENARIO_DEFAULTS)}")
            if "leak_cni_enis" in body:
                flag = body["leak_cni_enis"]
                body["leak_cni_enis"] = int(flag if not isinstance(flag, bool) else (1 if flag else 0))
            WORLD.scenario.update(body)
        return WORLD.scenario
    if path == "/_hdh/log":
        records = app.log.since(int(query.get("since", 0)))
        if query.get("format") == "jsonl":
            return "".join(json.dumps(r) + "\n" for r in records).encode()
        return {"records": records}
    if path == "/_hdh/clock":
        if method == "POST":
            if "pause" in body:
                WORLD.clock.pause() if body["pause"] else WORLD.clock.resume()
            if "advance" in body:
                WORLD.clock.advance(float(body["advance"]))
                WORLD.tick()
        return _clock()
    if path == "/_hdh/faults" and method == "POST":
        try:
            app.faults.configure(body.get("spec", ""), int(body.get("seed", app.faults.seed)))
        except FaultSpecError as e:
            raise ValueError(str(e))
        return app.faults.to_json()
    if path == "/_hdh/k8s" and method == "POST":
        from . import k8s

        return k8s.execute(body)
    if path == "/_hdh/crash":
        from .crash import SWITCH

        return SWITCH.arm(body) if method == "POST" else SWITCH.to_json()
    if path == "/_hdh/inventory":
        from . import inventory

        return inventory.take()
    if path == "/_hdh/k8s/log":
        from . import k8s

        return {"records": k8s.TOOL_LOG}
    return None


def _clock() -> dict[str, Any]:
    return {
        "aws_seconds": round(WORLD.clock.now(), 6),
        "paused": WORLD.clock.paused,
        "time_scale": WORLD.clock.time_scale,
    }
