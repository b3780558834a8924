"""Measure the emulator's start-up and reset times (run through ``tests/emulator/measure``).

For each of N runs: start ``serve --port 0``; time until the ready line; time until the first
EC2 call (DescribeVpcs, through boto3 from the virtualenv) answers; then create a small stack
(VPC, 2 subnets, an EKS cluster, an EFS file system, a bucket) and time ``POST /_hdh/reset``,
both as the emulator reports it and as a client sees it. Prints the median and the worst.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _post(url: str) -> dict:
    req = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def one_run(resets: int) -> dict:
    import boto3

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(HERE / "serve"), "--port", "0", "--time-scale", "0.001"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        ready = time.perf_counter() - t0
        url = line.split()[1]
        kw = dict(
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        ec2 = boto3.client("ec2", **kw)
        ec2.describe_vpcs()
        first = time.perf_counter() - t0
        eks = boto3.client("eks", **kw)
        efs = boto3.client("efs", **kw)
        s3 = boto3.client("s3", **kw)
        server_ms, client_ms = [], []
        for i in range(resets):
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            subnets = [
                ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
                for n, az in enumerate(["us-east-1a", "us-east-1b"])
            ]
            eks.create_cluster(
                name=f"c{i}", roleArn="arn:aws:iam::123456789012:role/r", resourcesVpcConfig={"subnetIds": subnets}
            )
            efs.create_file_system(CreationToken=f"t{i}")
            s3.create_bucket(Bucket=f"bucket-{i}")
            t = time.perf_counter()
            answer = _post(url + "/_hdh/reset")
            client_ms.append((time.perf_counter() - t) * 1000)
            server_ms.append(answer["ms"])
        return {"ready": ready, "first": first, "reset_server_ms": server_ms, "reset_client_ms": client_ms}
    finally:
        proc.terminate()
        proc.wait()


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    resets = 20
    results = [one_run(resets) for _ in range(runs)]
    ready = [r["ready"] for r in results]
    first = [r["first"] for r in results]
    srv = [x for r in results for x in r["reset_server_ms"]]
    cli = [x for r in results for x in r["reset_client_ms"]]
    load = os.getloadavg()[0]
    print(f"runs: {runs} (load average {load:.2f}, {os.cpu_count()} cores)")
    print(f"start-up to ready line : median {statistics.median(ready):.3f} s, worst {max(ready):.3f} s")
    print(f"start-up to first EC2  : median {statistics.median(first):.3f} s, worst {max(first):.3f} s")
    print(f"reset (in emulator)    : median {statistics.median(srv):.2f} ms, worst {max(srv):.2f} ms ({len(srv)} resets)")
    print(f"reset (client round trip): median {statistics.median(cli):.2f} ms, worst {max(cli):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
