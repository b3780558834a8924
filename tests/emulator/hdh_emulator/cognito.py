"""Cognito app clients as AWS bounds them (moto keeps any token lifetime): CreateUserPoolClient
and UpdateUserPoolClient refuse an access or ID token lifetime outside 5 minutes to 1 day and a
refresh token lifetime outside 60 minutes to 10 years (``InvalidParameterException``), each read
in its ``TokenValidityUnits`` unit (AWS's defaults: hours, hours, days).
"""

from __future__ import annotations

from typing import Any

from .protocol import AwsRequest, error_response

OPERATIONS = {"CreateUserPoolClient", "UpdateUserPoolClient"}

_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
# parameter, unit key, default unit, min seconds, max seconds
_BOUNDS = (
    ("AccessTokenValidity", "AccessToken", "hours", 300, 86400),
    ("IdTokenValidity", "IdToken", "hours", 300, 86400),
    ("RefreshTokenValidity", "RefreshToken", "days", 3600, 3650 * 86400),
)


def check(req: AwsRequest):
    """An error answer for token lifetimes Cognito refuses, else None."""
    if req.service != "cognito-idp":
        return None
    p: dict[str, Any] = req.params if isinstance(req.params, dict) else {}
    units = p.get("TokenValidityUnits") or {}
    for param, unit_key, default, lo, hi in _BOUNDS:
        value = p.get(param)
        if value is None:
            continue
        unit = units.get(unit_key) or default
        seconds = int(value) * _SECONDS.get(unit, 1)
        if not lo <= seconds <= hi:
            upper = f"{hi // 86400} days" if hi >= 86400 else f"{hi // 60} minutes"
            message = f"{param} {value} {unit} is outside the allowed range ({lo // 60} minutes to {upper})."
            return error_response(req, "InvalidParameterException", 400, message)
    return None
