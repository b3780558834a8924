"""ACM realism: DNS validation as AWS does it, and certificates in use by load balancers.

moto issues every requested certificate 60 wall seconds after the request, whether or not anyone
wrote its validation record, and names the same validation record for every domain. Here:

* RequestCertificate answers ``PENDING_VALIDATION``. DescribeCertificate shows the
  ``DomainValidationOptions[].ResourceRecord`` only ``acm_record_publish`` AWS seconds after the
  request (AWS fills it in asynchronously). The record is a CNAME whose name and value depend on
  the account and the domain (``_<32 hex>.<domain>.`` → ``_<32 hex>.<10 letters>.acm-validations.aws.``),
  the same for every certificate of that domain in that account, as on AWS.
* The certificate becomes ``ISSUED`` ``acm_certificate_validate`` AWS seconds after ACM first sees
  that CNAME with that value in a Route 53 zone of the account whose name the record is inside
  (ACM looks when the certificate is read: DescribeCertificate, ListCertificates…); if the record
  is gone by then, it stays pending. Without the record it stays ``PENDING_VALIDATION`` and turns
  ``VALIDATION_TIMED_OUT`` 72 AWS hours after the request.
* ``InUseBy`` lists the classic load balancers whose listeners use the certificate now (moto
  never forgets one); DeleteCertificate while one does is ``ResourceInUseException``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from moto import settings as moto_settings
from moto.acm.models import AWSCertificateManagerBackend, CertBundle
from moto.core.exceptions import AWSError

from .world import WORLD

VALIDATION_TIMEOUT = 72 * 3600


class ResourceInUseException(AWSError):
    TYPE = "ResourceInUseException"


def validation_record(account_id: str, domain: str) -> tuple[str, str]:
    """(name, value) of the CNAME ACM asks for, for this domain in this account."""
    base = domain[2:] if domain.startswith("*.") else domain
    h = hashlib.sha256(f"{account_id}/{base}".encode()).hexdigest()
    letters = "".join(chr(ord("a") + int(c, 16) % 26) for c in h[32:42])
    return f"_{h[:32]}.{base}.", f"_{h[32:64]}.{letters}.acm-validations.aws."


def _zones(account_id: str) -> list[Any]:
    from moto.route53.models import route53_backends

    return list(route53_backends[account_id]["global"].zones.values())


def record_in_dns(account_id: str, name: str, value: str) -> bool:
    """Whether a zone of the account holds the CNAME ``name`` → ``value``."""
    want = name.rstrip(".").lower()
    for z in _zones(account_id):
        zone = z.name.rstrip(".").lower()
        if not (want == zone or want.endswith("." + zone)):
            continue
        for rr in z.rrsets:
            if rr.name.rstrip(".").lower() == want and rr.type == "CNAME":
                if any(str(v).rstrip(".").lower() == value.rstrip(".").lower() for v in rr.records or []):
                    return True
    return False


def _where(cert: CertBundle) -> tuple[str, str]:
    """(account, region) from the certificate's ARN (``arn:aws:acm:REGION:ACCOUNT:certificate/…``)."""
    parts = cert.arn.split(":")
    return parts[4], parts[3]


def _in_use_by(cert: CertBundle) -> list[str]:
    from moto.elb.models import elb_backends

    account, region = _where(cert)
    backend = elb_backends[account][region]
    return [
        f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{lb.name}"
        for lb in backend.load_balancers.values()
        if any(getattr(li, "ssl_certificate_id", None) == cert.arn for li in lb.listeners)
    ]


def _domains(cert: CertBundle) -> list[str]:
    return sorted(set(cert.sans + ([cert.common_name] if cert.common_name else [])))


def _records_in_dns(cert: CertBundle) -> bool:
    account, _ = _where(cert)
    return all(record_in_dns(account, *validation_record(account, d)) for d in _domains(cert))


def _issue(cert: CertBundle) -> None:
    cert._hdh_issuing = False
    if cert.status == "PENDING_VALIDATION" and _records_in_dns(cert):
        cert.status = "ISSUED"


def _time_out(cert: CertBundle) -> None:
    if cert.status == "PENDING_VALIDATION":
        cert.status = "VALIDATION_TIMED_OUT"


def install() -> None:
    # moto's "issued after a while, record or not" never happens.
    moto_settings.ACM_VALIDATION_WAIT = 10**12
    orig_check = CertBundle.check
    orig_describe = CertBundle.describe
    orig_request = AWSCertificateManagerBackend.request_certificate
    orig_delete = AWSCertificateManagerBackend.delete_certificate

    def check(self: CertBundle) -> None:
        orig_check(self)
        if (
            self.type == "AMAZON_ISSUED"
            and self.status == "PENDING_VALIDATION"
            and getattr(self, "_hdh_requested", None) is not None
            and not getattr(self, "_hdh_issuing", False)
            and _records_in_dns(self)
        ):
            self._hdh_issuing = True
            WORLD.after("acm_certificate_validate", f"acm {self.arn} issued", lambda: _issue(self))

    def describe(self: CertBundle) -> dict[str, Any]:
        out = orig_describe(self)
        c = out["Certificate"]
        c["InUseBy"] = _in_use_by(self)
        requested = getattr(self, "_hdh_requested", None)
        published = requested is None or WORLD.clock.now() >= requested + WORLD.duration("acm_record_publish")
        for o in c.get("DomainValidationOptions", []):
            if not published:
                o.pop("ResourceRecord", None)
                continue
            name, value = validation_record(_where(self)[0], o["DomainName"])
            o["ResourceRecord"] = {"Name": name, "Type": "CNAME", "Value": value}
        if self.status != "ISSUED":
            c.pop("IssuedAt", None)
        return out

    def request_certificate(self: AWSCertificateManagerBackend, *args: Any, **kwargs: Any) -> str:
        arn = orig_request(self, *args, **kwargs)
        cert = self._certificates[arn]
        if getattr(cert, "_hdh_requested", None) is None and cert.type == "AMAZON_ISSUED":
            cert._hdh_requested = WORLD.clock.now()
            WORLD.after(VALIDATION_TIMEOUT, f"acm {arn} validation timeout", lambda: _time_out(cert))
        return arn

    def delete_certificate(self: AWSCertificateManagerBackend, arn: str) -> None:
        cert = self._certificates.get(arn)
        if cert is not None:
            users = _in_use_by(cert)
            if users:
                raise ResourceInUseException(f"Certificate {arn} is in use by {', '.join(users)}")
        orig_delete(self, arn)

    CertBundle.check = check
    CertBundle.describe = describe
    AWSCertificateManagerBackend.request_certificate = request_certificate
    AWSCertificateManagerBackend.delete_certificate = delete_certificate


def certificate(account_id: str, region: str, arn: str) -> CertBundle | None:
    """The certificate ``arn`` (its status checked as a read would), or None."""
    from moto.acm.models import acm_backends

    backend = acm_backends[account_id][region]
    cert = backend._certificates.get(arn)
    if cert is not None:
        cert.check()
    return cert
