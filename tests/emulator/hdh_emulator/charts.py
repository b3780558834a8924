"""Proof against the real chart: what a real cluster and the real chart would refuse, refused here.

* Every ``helm install``/``upgrade`` of a ``daskhub`` chart is rendered with the real ``helm
  template`` (v3.17.3, extracted by ci-setup.sh into ``.venv/tools/``) of the offline chart tree
  whose ``Chart.yaml`` version is the requested one, at the cluster's Kubernetes version. The
  chart's values schema (strict from jupyterhub 2.x on) and its templates' own checks (e.g.
  dask-gateway 2022.6.1 refusing to render without its JupyterHub API token) fail the call as
  helm would, before anything is recorded.
* Every rendered object, and every object ``kubectl apply`` is given, is validated against that
  Kubernetes version's schemas with kubernetes-validate in strict mode (unknown fields refused).
  Only the traefik custom resources the chart renders (IngressRoute, Middleware) have no schema
  there; they are let through by name.

The chart trees are found in ``$HDH_DASKHUB_CHARTS`` (default ``/work/shared/charts``), one
directory per tree. When they are absent (a checkout outside this project's CI) every helm call
says so loudly on stderr and only the rendering is skipped; the object validation still runs.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from typing import Any

import yaml

CHARTS_ENV = "HDH_DASKHUB_CHARTS"
DEFAULT_CHARTS = "/work/shared/charts"
REPOSITORY = "https://helm.dask.org"
# Custom resources of the chart's traefik proxy: their CRDs are not part of Kubernetes' schemas.
UNSCHEMED = {
    ("traefik.containo.us", "IngressRoute"),
    ("traefik.containo.us", "Middleware"),
    ("traefik.io", "IngressRoute"),
    ("traefik.io", "Middleware"),
}


class Refused(Exception):
    """The call fails; the message is what the real tool prints (after its ``Error: …`` prefix)."""


def charts_dir() -> str:
    return os.environ.get(CHARTS_ENV) or DEFAULT_CHARTS


def helm_binary() -> str:
    return os.path.join(sys.prefix, "tools", "helm")


def trees() -> dict[str, str] | None:
    """Chart version → tree directory for every daskhub tree; None when there are none."""
    root = charts_dir()
    found: dict[str, str] = {}
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return None
    for name in names:
        path = os.path.join(root, name)
        try:
            with open(os.path.join(path, "Chart.yaml"), encoding="utf-8") as f:
                meta = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError):
            continue
        if meta.get("name") == "daskhub" and meta.get("version"):
            found[str(meta["version"])] = path
    return found or None


def absent_warning() -> str:
    return (
        f"WARNING (hdh emulator): no DaskHub chart trees in {charts_dir()} (set {CHARTS_ENV}); "
        "this release was NOT rendered with the real chart: its values schema and rendered "
        "manifests are NOT checked\n"
    )


def _newest_release(versions: list[str]) -> str | None:
    def key(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split("."))

    stable = [v for v in versions if all(x.isdigit() for x in v.split("."))]
    return max(stable, key=key) if stable else None


def render(
    chart: str, version: str | None, release: str, namespace: str, values: dict[str, Any], kube_version: str
) -> tuple[list[dict[str, Any]] | None, str, str]:
    """(rendered objects, manifest text, warning); objects None when the chart is not rendered.

    Raises Refused with helm's message when there is no such chart version or the chart refuses.
    """
    if chart.rstrip("/").split("/")[-1] != "daskhub":
        return None, "", ""
    found = trees()
    if found is None:
        return None, "", absent_warning()
    wanted = version or _newest_release(list(found))
    tree = found.get(wanted or "")
    if tree is None:
        raise Refused(
            f'chart "daskhub" version "{version}" not found in {REPOSITORY} repository '
            f"(hdh emulator: the offline chart trees in {charts_dir()} are {', '.join(sorted(found))})"
        )
    helm = helm_binary()
    if not os.access(helm, os.X_OK):
        return None, "", (
            f"WARNING (hdh emulator): the real helm is missing at {helm} (run tests/emulator/ci-setup.sh); "
            "this release was NOT rendered with the real chart\n"
        )
    # JSON is YAML; the values (secrets included) go through a pipe, never a file.
    proc = subprocess.run(
        [helm, "template", release, tree, "--namespace", namespace, "--kube-version", f"{kube_version}.0", "-f", "-"],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise Refused(proc.stderr.strip().removeprefix("Error: "))
    objects = [d for d in yaml.safe_load_all(proc.stdout) if isinstance(d, dict) and d.get("kind")]
    return objects, proc.stdout, ""


def _group(obj: dict[str, Any]) -> str:
    api = str(obj.get("apiVersion", ""))
    return api.split("/", 1)[0] if "/" in api else ""


@functools.lru_cache(maxsize=None)
def _validator(kube_version: str, kind: str, api_version: str) -> Any:
    """kubernetes-validate's strict validator for one kind, built once: its ``validate`` parses
    the version's multi-megabyte definitions file on every call, seconds per chart."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    if utils.major_minor(kube_version) > utils.latest_version():
        raise utils.VersionNotSupportedError(version=utils.major_minor(kube_version))
    version = [v for v in utils.all_versions() if utils.major_minor(v) <= utils.major_minor(kube_version)][-1]
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_dir = f"v{version}-local-strict"
    try:
        schema = utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{api}.json", kube_version)
    except FileNotFoundError:
        raise utils.SchemaNotFoundError(version=utils.major_minor(kube_version), kind=kind, api_version=api_version)
    registry = Resource.from_contents(_definitions(schema_dir, kube_version)) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@functools.lru_cache(maxsize=None)
def _definitions(schema_dir: str, kube_version: str) -> Any:
    from kubernetes_validate import utils

    return utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", kube_version)


def problems(obj: dict[str, Any], kube_version: str) -> str | None:
    """Why the API server at ``kube_version`` would refuse ``obj`` (strict schema, as
    ``kubernetes-validate --strict`` checks it), or None."""
    import jsonschema
    from kubernetes_validate import utils

    if (_group(obj), obj.get("kind")) in UNSCHEMED:
        return None
    try:
        error = jsonschema.exceptions.best_match(
            _validator(kube_version, str(obj.get("kind")), str(obj.get("apiVersion"))).iter_errors(obj)
        )
    except utils.SchemaNotFoundError:
        return (
            f'resource mapping not found for kind "{obj.get("kind")}" in version "{obj.get("apiVersion")}": '
            "ensure CRDs are installed first"
        )
    except utils.VersionNotSupportedError:
        return f"no schemas for Kubernetes {kube_version} (kubernetes-validate)"
    if error is None:
        return None
    where = ".".join(str(p) for p in error.path) or "(root)"
    return f"ValidationError({obj.get('kind')}.{where}): {error.message}"


def name_of(obj: dict[str, Any]) -> str:
    md = obj.get("metadata") or {}
    return f"{obj.get('kind')} {md.get('namespace', '') + '/' if md.get('namespace') else ''}{md.get('name', '')}"
