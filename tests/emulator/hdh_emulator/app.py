"""The WSGI middleware in front of moto: faults, add-ons, request log, control API, transitions.

Every AWS call goes: tick due transitions -> crash switch (kill before?) -> NotFound-after-create?
-> seeded throttle/5xx? -> EKS add-on API (ours) or moto (whose backends our modules have
patched; an operation moto lacks answers as AWS answers an unknown action) -> crash switch (kill
after?) -> request log.
All of it runs under the world lock, one call at a time, so moto's models, our bookkeeping and
the transitions never race (moto answers in milliseconds; the server stays threaded so slow
clients do not block each other's connections).

moto is imported lazily by ``initialise`` (the server calls it in a thread right after printing
its ready line), so start-up does not wait for moto's 1-2 s of imports; a request that arrives
earlier waits for it.
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
import traceback
from typing import Any, Callable, Iterable

from .crash import SWITCH
from .faults import FaultInjector
from .requestlog import RequestLog, error_code
from .world import WORLD

_AKID_RE = re.compile(r"Credential=([^/,\s]+)/")

_REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 206: "Partial Content",
    301: "Moved Permanently", 304: "Not Modified", 307: "Temporary Redirect",
    400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 412: "Precondition Failed", 429: "Too Many Requests",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
}


def status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Unknown')}"


class HdhApp:
    """The emulator's WSGI application."""

    def __init__(self, faults_spec: str = "", seed: int = 0) -> None:
        self.faults = FaultInjector(faults_spec, seed)
        self.log = RequestLog()
        self._moto: Any = None
        self._ready = threading.Event()
        self._init_error: BaseException | None = None
        self.started = time.monotonic()
        self.init_seconds: float | None = None

    # -- start-up ----------------------------------------------------------------------------

    def initialise(self) -> None:
        """Import moto, patch its backends, build its dispatcher, warm the common backends."""
        try:
            os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
            # AWS-managed policies (AmazonEKSClusterPolicy...) exist in every account
            os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            share_botocore_data()
            from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

            from . import acm, ec2, efs, eks, elb, filters

            filters.install()
            ec2.install()
            eks.install()
            efs.install()
            elb.install()
            acm.install()
            from . import addons, k8s, updates  # noqa: F401  (register their reset hooks)

            self._moto = DomainDispatcherApplication(create_backend_app)
            warm_backends()
            for service in ("ec2", "eks", "efs", "elb", "s3", "iam", "sts"):
                with self._moto.lock:
                    if service not in self._moto.app_instances:
                        self._moto.app_instances[service] = create_backend_app(service)
            self.init_seconds = time.monotonic() - self.started
        except BaseException as e:  # surfaced on every request
            self._init_error = e
            raise
        finally:
            self._ready.set()

    def wait_ready(self, timeout: float = 120) -> None:
        self._ready.wait(timeout)
        if self._init_error is not None:
            raise RuntimeError(f"emulator failed to initialise: {self._init_error!r}")

    # -- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        self.wait_ready()
        if path.startswith("/_hdh/") or path == "/_hdh":
            from . import control

            return control.handle(self, environ, start_response)
        return self._aws(environ, start_response)

    def _aws(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        from . import access, addons, cognito, s3fix, updates
        from .protocol import (
            error_response,
            identify,
            not_found_error,
            server_error,
            throttle_error,
            unimplemented,
            unknown_operation_error,
        )

        started = time.monotonic()
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        req = identify(environ, body)
        with WORLD.lock:
            WORLD.tick()
            call, kill = SWITCH.count(req.service, req.operation)
            fault = None
            target = None if kill == "before" else self.faults.not_found_target(req)
            if kill == "before":
                # the caller dies before the call does anything; nobody reads this answer
                SWITCH.kill()
                status, headers, out = error_response(req, *server_error(req))
            elif target:
                fault = "notfound_after_create"
                status, headers, out = error_response(req, *not_found_error(req, target))
            else:
                fault = self.faults.draw()
                if fault == "throttle":
                    status, headers, out = error_response(req, *throttle_error(req))
                elif fault == "error5xx":
                    status, headers, out = error_response(req, *server_error(req))
                elif req.service == "eks" and req.operation in addons.OPERATIONS:
                    status, headers, out = addons.handle(req, account_for(environ))
                elif req.service == "eks" and req.operation in updates.OPERATIONS:
                    status, headers, out = updates.handle(req, account_for(environ))
                elif req.service == "eks" and req.operation in access.OPERATIONS:
                    status, headers, out = access.handle(req, account_for(environ), environ)
                elif req.service == "eks" and access.is_entry_tagging(req):
                    status, headers, out = access.handle_tags(req, account_for(environ), environ)
                elif req.service == "eks" and req.operation == "UpdateClusterConfig" and req.params.get("accessConfig"):
                    status, headers, out = access.update_access_config(req, account_for(environ))
                elif req.service == "eks" and req.operation == "CreateCluster" and access.check_create_cluster(req):
                    status, headers, out = access.check_create_cluster(req)
                elif req.operation in cognito.OPERATIONS and cognito.check(req):
                    status, headers, out = cognito.check(req)
                else:
                    try:
                        status, headers, out = self._call_moto(environ)
                    except Exception as e:
                        if _unknown_to_moto(e):
                            status, headers, out = 500, [], b"<!doctype html>"
                        else:  # a bug in moto: say so on stderr, answer AWS's 500
                            traceback.print_exc()
                            status, headers, out = error_response(req, *server_error(req))
                    out = s3fix.fix_response(req, status, out)
                    if unimplemented(status, out):
                        status, headers, out = error_response(req, *unknown_operation_error(req))
                    elif req.service == "eks" and req.operation in updates.RECORDED and status == 200:
                        updates.note_moto_update(req, account_for(environ), out)
                    if req.service == "eks" and req.operation in ("CreateCluster", "DescribeCluster") and status == 200:
                        if req.operation == "CreateCluster":
                            access.note_create_cluster(req, environ, account_for(environ))
                        out = access.add_access_config(req, account_for(environ), out)
            if kill == "after":
                SWITCH.kill()
            self.faults.note_response(req, status, out)
            self.log.add(req, status, error_code(status, headers, out), fault, started, call, kill)
        start_response(status_line(status), _fix_length(headers, out, environ))
        return [out]

    def _call_moto(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = list(headers)
            return chunks.append

        result = self._moto(environ, start_response)
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            if hasattr(result, "close"):
                result.close()
        return captured.get("status", 500), captured.get("headers", []), b"".join(chunks)


def _unknown_to_moto(e: BaseException) -> bool:
    """moto lacks the operation (NotImplementedError) or the whole service (its dispatcher
    fails to find a backend)."""
    if isinstance(e, NotImplementedError):
        return True
    frames = traceback.extract_tb(e.__traceback__)
    last = frames[-1].filename.replace("\\", "/") if frames else ""
    return last.endswith(("moto/backends.py", "moto/moto_server/werkzeug_app.py"))


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            return stream.read(int(length))
        except ValueError:
            return b""
    if environ.get("wsgi.input_terminated") or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", ""):
        return stream.read()
    return b""


def _fix_length(headers: list[tuple[str, str]], out: bytes, environ: dict[str, Any]) -> list[tuple[str, str]]:
    if environ.get("REQUEST_METHOD") == "HEAD":
        return headers
    fixed = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
    fixed.append(("Content-Length", str(len(out))))
    return fixed


def share_botocore_data() -> None:
    """One JSON parse per botocore data file per process.

    moto creates several botocore sessions (for regions, zones, serializers); each parses the same
    big files (EC2's model, endpoints.json) again, which was half of the start-up time.
    """
    import botocore.loaders

    loader_cls = botocore.loaders.JSONFileLoader
    if getattr(loader_cls, "_hdh_shared", False):
        return
    original = loader_cls.load_file
    cache: dict[str, Any] = {}
    lock = threading.Lock()

    def load_file(self: Any, file_path: str) -> Any:
        with lock:
            if file_path not in cache:
                cache[file_path] = original(self, file_path)
            return cache[file_path]

    loader_cls.load_file = load_file
    loader_cls._hdh_shared = True


def account_for(environ: dict[str, Any]) -> str:
    """The account moto will use for this request (same rules as moto's)."""
    if os.environ.get("MOTO_ACCOUNT_ID"):
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    from moto.iam.models import get_account_id_from

    m = _AKID_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return get_account_id_from(m.group(1)) if m else get_account_id_from("")


def warm_backends(region: str = "us-east-1") -> None:
    """Create the backends hdh uses first, so the first real call is not the slow one."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    for service in ("ec2", "eks", "efs", "elb"):
        get_backend(service)[DEFAULT_ACCOUNT_ID][region]
    for service in ("s3", "iam", "sts", "route53"):
        get_backend(service)[DEFAULT_ACCOUNT_ID]["aws"]
    from . import protocol

    for name in ("ec2", "eks", "efs", "elb", "s3", "iam", "sts"):
        protocol.service_model(name)
        if protocol.service_model(name)["metadata"]["protocol"].startswith("rest"):
            protocol._rest_routes(name)
