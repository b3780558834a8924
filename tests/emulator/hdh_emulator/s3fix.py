"""S3 answers moto 5.2.5 gets wrong in a way the AWS SDKs reject.

* ``GetBucketVersioning`` on a bucket whose versioning was never set: moto answers an empty
  ``<GetBucketVersioningResponse/>``; S3 answers an empty ``<VersioningConfiguration/>`` (no
  ``Status``), and the Rust SDK refuses any other root element ("expected
  VersioningConfiguration").

Conditional writes (``If-None-Match: *`` / ``If-Match`` on PutObject and DeleteObject, 412
``PreconditionFailed``) and SSE-KMS (reported by HeadObject) are moto's own and need nothing.
"""

from __future__ import annotations

from typing import Any


def fix_response(req: Any, status: int, out: bytes) -> bytes:
    """The body S3 would have sent for moto's answer ``out`` to ``req``."""
    if (
        req.service == "s3"
        and req.operation == "GetBucketVersioning"
        and status == 200
        and b"<GetBucketVersioningResponse" in out
    ):
        return out.replace(b"GetBucketVersioningResponse", b"VersioningConfiguration")
    return out
