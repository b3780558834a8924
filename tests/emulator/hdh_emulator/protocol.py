"""Which AWS call a request is, and how each service spells an error.

The service and region come from the SigV4 credential scope (the AWS SDK for Rust always signs);
the operation from the ``Action`` parameter (EC2 and query services), the ``X-Amz-Target`` header
(JSON services) or, for REST services (EKS, EFS, S3, Route 53), by matching method and path against
the request URIs in botocore's service model, which ships inside moto's virtualenv.

Error bodies follow each protocol's wire format so that the SDK parses the code exactly as it
would from AWS: EC2's ``<Response><Errors>``, the query services' ``<ErrorResponse>``, JSON's
``__type``, REST-JSON's ``x-amzn-ErrorType`` header and S3's bare ``<Error>``.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

# signing name -> botocore model name, where they differ or are ambiguous
_MODEL_BY_SIGNING_NAME = {
    "elasticfilesystem": "efs",
    "elasticloadbalancing": "elb",  # or elbv2, decided by the Version parameter
    "monitoring": "cloudwatch",
    "email": "ses",
    "states": "stepfunctions",
}
_SHORT_SERVICE_NAMES = {"elasticfilesystem": "efs", "elasticloadbalancing": "elb"}


@dataclass
class AwsRequest:
    """What the realism layer needs to know about one AWS call."""

    service: str  # short name: ec2, eks, efs, elb, elbv2, s3, iam, sts, kms, cognito-idp, ...
    region: str
    operation: str
    protocol: str  # ec2 | query | json | rest-json | rest-xml | unknown
    params: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # path + query + body, for id matching

    @property
    def is_read(self) -> bool:
        return self.operation.startswith(("Describe", "Get", "List", "Head"))


@lru_cache(maxsize=None)
def _loader() -> Any:
    import botocore.loaders

    return botocore.loaders.Loader()


@lru_cache(maxsize=None)
def service_model(name: str) -> dict[str, Any] | None:
    try:
        return _loader().load_service_model(name, "service-2")
    except Exception:
        return None


@lru_cache(maxsize=None)
def _rest_routes(name: str) -> list[tuple[str, list[str], dict[str, str | None], set[str], str]]:
    """(method, path segments, query items, required headers, operation) for each operation.

    The query items are the URI's literal ones plus the input's required querystring members
    (present, any value), and the headers the input's required header members: S3 tells
    PutObject from CopyObject only by ``x-amz-copy-source``, and DeleteObject from
    AbortMultipartUpload only by ``uploadId``."""
    model = service_model(name)
    shapes = (model or {}).get("shapes", {})
    routes = []
    for op, spec in (model or {}).get("operations", {}).items():
        http = spec.get("http", {})
        uri = http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        literal_query: dict[str, str | None] = {}
        for item in filter(None, query.split("&")):
            k, eq, v = item.partition("=")
            literal_query[k] = v if eq else None
        headers: set[str] = set()
        shape = shapes.get(spec.get("input", {}).get("shape", ""), {})
        for member in shape.get("required", []):
            m = shape.get("members", {}).get(member, {})
            where = m.get("location")
            if where == "querystring":
                literal_query.setdefault(m.get("locationName", member), None)
            elif where == "header":
                headers.add(m.get("locationName", member).lower())
        segs = [s for s in path.split("/") if s]
        routes.append((http.get("method", "POST"), segs, literal_query, headers, op))
    return routes


def _match_rest(
    name: str,
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: set[str] | None = None,
):
    segs = [unquote(s) for s in path.split("/") if s]
    best = None
    for r_method, r_segs, r_query, r_headers, op in _rest_routes(name):
        if r_method != method:
            continue
        if headers is not None and not r_headers <= headers:
            continue
        params: dict[str, str] = {}
        ok = True
        i = 0
        for j, rs in enumerate(r_segs):
            m = re.fullmatch(r"\{(\w+)(\+?)\}", rs)
            if m and m.group(2):  # greedy: rest of the path
                if i >= len(segs):
                    ok = False
                    break
                params[m.group(1)] = "/".join(segs[i:])
                i = len(segs)
                if j != len(r_segs) - 1:
                    ok = False
                break
            if i >= len(segs):
                ok = False
                break
            if m:
                params[m.group(1)] = segs[i]
            elif rs != segs[i]:
                ok = False
                break
            i += 1
        if not ok or i != len(segs):
            continue
        if any(k not in query or (v is not None and v not in query[k]) for k, v in r_query.items()):
            continue
        literal_segs = sum(1 for s in r_segs if not s.startswith("{"))
        score = (len(r_query) + len(r_headers), literal_segs)
        if best is None or score > best[0]:
            best = (score, op, params)
    if best is None:
        return None, {}
    return best[1], best[2]


_SCOPE_RE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


def identify(environ: dict[str, Any], body: bytes) -> AwsRequest:
    """Classify a WSGI request as an AWS call."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _SCOPE_RE.search(auth)
    signing, region = (m.group(3), m.group(2)) if m else ("", "us-east-1")
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    # the undecoded path, so an encoded `/` inside one label (an EKS principal ARN) stays in it
    raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    raw_path = raw_path.split("?", 1)[0] if raw_path.startswith("/") else path
    raw_query = environ.get("QUERY_STRING", "")
    query = parse_qs(raw_query, keep_blank_values=True)
    ctype = environ.get("CONTENT_TYPE", "")
    text_body = body.decode("utf-8", "replace") if len(body) < 1_000_000 else ""
    text = f"{unquote(path)}?{unquote(raw_query)}\n{unquote(text_body)}"

    form: dict[str, list[str]] = {}
    if "x-www-form-urlencoded" in ctype:
        form = parse_qs(text_body, keep_blank_values=True)
    flat = {k: v[0] for k, v in {**query, **form}.items()}

    target = environ.get("HTTP_X_AMZ_TARGET", "")
    model_name = _MODEL_BY_SIGNING_NAME.get(signing, signing)
    if signing == "elasticloadbalancing" and flat.get("Version") == "2015-12-01":
        model_name = "elbv2"
    model = service_model(model_name) if model_name else None
    protocol = (model or {}).get("metadata", {}).get("protocol", "unknown")
    short = model_name if model else _SHORT_SERVICE_NAMES.get(signing, signing or "unknown")

    operation = ""
    params: dict[str, Any] = {}
    if "Action" in flat:
        operation = flat["Action"]
        params = flat
        if protocol not in ("ec2", "query"):
            protocol = "query"
    elif target:
        operation = target.rsplit(".", 1)[-1]
        params = _json(text_body)
        if protocol == "unknown":
            protocol = "json"
    elif protocol in ("rest-json", "rest-xml"):
        present = {k[5:].replace("_", "-").lower() for k in environ if k.startswith("HTTP_")}
        present |= {"content-type", "content-length"} & {
            k.replace("_", "-").lower() for k in environ
        }
        op, path_params = _match_rest(model_name, method, raw_path, query, present)
        operation = op or f"{method} {path}"
        params = dict(flat)
        if protocol == "rest-json":
            body_json = _json(text_body)
            if isinstance(body_json, dict):
                params.update(body_json)
        params.update(path_params)
    else:
        operation = f"{method} {path}"
    return AwsRequest(short, region, operation, protocol, params, text)


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        return {}


# -- errors ------------------------------------------------------------------------------------

_QUERY_NAMESPACES = {
    "elb": "http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/",
    "elbv2": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "route53": "https://route53.amazonaws.com/doc/2013-04-01/",
}

# (code, HTTP status, message) for throttling, per service; then per protocol
_THROTTLE = {
    "ec2": ("RequestLimitExceeded", 503, "Request limit exceeded."),
    "s3": ("SlowDown", 503, "Please reduce your request rate."),
    "cognito-idp": ("TooManyRequestsException", 400, "Too many requests"),
    "eks": ("ThrottlingException", 429, "Rate exceeded"),
    "efs": ("ThrottlingException", 429, "Rate exceeded"),
}
_THROTTLE_BY_PROTOCOL = {
    "query": ("Throttling", 400, "Rate exceeded"),
    "rest-xml": ("Throttling", 400, "Rate exceeded"),
    "json": ("ThrottlingException", 400, "Rate exceeded"),
    "rest-json": ("ThrottlingException", 429, "Rate exceeded"),
}
_SERVER_ERROR = {
    "ec2": ("InternalError", 500, "An internal error has occurred"),
    "s3": ("InternalError", 500, "We encountered an internal error. Please try again."),
    "iam": ("ServiceFailure", 500, "Service failure"),
    "eks": ("ServerException", 500, "An internal server error occurred"),
    "efs": ("InternalServerError", 500, "An internal server error occurred"),
    "kms": ("KMSInternalException", 500, "An internal error occurred"),
    "cognito-idp": ("InternalErrorException", 500, "An internal error occurred"),
}
_SERVER_ERROR_BY_PROTOCOL = {
    "query": ("InternalFailure", 500, "An internal error occurred"),
    "rest-xml": ("InternalFailure", 500, "An internal error occurred"),
    "json": ("InternalFailure", 500, "An internal error occurred"),
    "rest-json": ("InternalFailure", 500, "An internal error occurred"),
}

# EC2 resource id prefix -> the NotFound code EC2 uses for it
_EC2_NOT_FOUND = {
    "vpc": "InvalidVpcID.NotFound",
    "subnet": "InvalidSubnetID.NotFound",
    "sg": "InvalidGroup.NotFound",
    "igw": "InvalidInternetGatewayID.NotFound",
    "nat": "NatGatewayNotFound",
    "eni": "InvalidNetworkInterfaceID.NotFound",
    "rtb": "InvalidRouteTableID.NotFound",
    "eipalloc": "InvalidAllocationID.NotFound",
    "i": "InvalidInstanceID.NotFound",
    "lt": "InvalidLaunchTemplateId.NotFound",
    "vol": "InvalidVolume.NotFound",
}
_NOT_FOUND = {
    "eks": ("ResourceNotFoundException", 404),
    "efs": ("FileSystemNotFound", 404),
    "s3": ("NoSuchBucket", 404),
    "iam": ("NoSuchEntity", 404),
    "kms": ("NotFoundException", 400),
    "cognito-idp": ("ResourceNotFoundException", 400),
    "elb": ("LoadBalancerNotFound", 400),
    "elbv2": ("LoadBalancerNotFound", 400),
    "route53": ("NoSuchHostedZone", 404),
}


def throttle_error(req: AwsRequest) -> tuple[str, int, str]:
    return _THROTTLE.get(req.service) or _THROTTLE_BY_PROTOCOL.get(
        req.protocol, ("ThrottlingException", 400, "Rate exceeded")
    )


def server_error(req: AwsRequest) -> tuple[str, int, str]:
    return _SERVER_ERROR.get(req.service) or _SERVER_ERROR_BY_PROTOCOL.get(
        req.protocol, ("InternalFailure", 500, "An internal error occurred")
    )


def not_found_error(req: AwsRequest, resource_id: str) -> tuple[str, int, str]:
    if req.service == "ec2":
        prefix = resource_id.split("-", 1)[0]
        code = _EC2_NOT_FOUND.get(prefix, "InvalidID.NotFound")
        return code, 400, f"The resource ID '{resource_id}' does not exist"
    if req.service == "efs" and resource_id.startswith("fsmt-"):
        return "MountTargetNotFound", 404, f"Mount target '{resource_id}' does not exist."
    code, status = _NOT_FOUND.get(req.service, ("ResourceNotFoundException", 404))
    return code, status, f"Resource {resource_id} was not found"


def error_response(req: AwsRequest, code: str, status: int, message: str):
    """(status line, headers, body bytes) in the wire format of the request's protocol."""
    rid = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", rid)]
    if req.protocol == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"</Error></Errors><RequestID>{rid}</RequestID></Response>"
        )
        headers.append(("Content-Type", "text/xml;charset=UTF-8"))
    elif req.service == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>"
        )
        headers += [("Content-Type", "application/xml"), ("x-amz-request-id", rid)]
    elif req.protocol in ("query", "rest-xml"):
        ns = _QUERY_NAMESPACES.get(req.service, "")
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{rid}</RequestId></ErrorResponse>"
        )
        headers.append(("Content-Type", "text/xml"))
    elif req.protocol == "json":
        body = json.dumps({"__type": code, "message": message})
        headers.append(("Content-Type", "application/x-amz-json-1.1"))
    else:  # rest-json and anything unknown
        body = json.dumps({"message": message, "Message": message, "ErrorCode": code})
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    return status, headers, body.encode()


def unimplemented(status: int, body: bytes) -> bool:
    """moto's answer to an operation it lacks: werkzeug's HTML 404 (no route) or 500
    (``NotImplementedError``), never an AWS error body."""
    return status in (404, 405, 500, 501) and body[:64].lstrip().lower().startswith((b"<!doctype html", b"<html"))


def unknown_operation_error(req: AwsRequest) -> tuple[str, int, str]:
    """What AWS answers to an action it does not know, in the service's protocol.

    The emulator answers this for every operation moto does not implement, so a client sees a
    permanent, parseable error (as it would for a typo in the action), never an HTML page."""
    op = req.operation or "(unknown)"
    if req.service == "s3":
        return "NotImplemented", 501, "A header you provided implies functionality that is not implemented"
    if req.protocol in ("ec2", "query", "rest-xml"):
        return "InvalidAction", 400, f"The action {op} is not valid for this web service."
    if req.protocol == "json":
        return "UnknownOperationException", 400, f"The operation {op} is not supported by this service."
    return "UnknownOperationException", 404, f"The operation {op} is not supported by this service."
