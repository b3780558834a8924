"""hdh's AWS test cloud: moto's server behind a realism layer.

The package is small on purpose; each module owns one concern:

- ``world``      the shared state: profile, AWS-time clock, scheduled transitions, scenario flags.
- ``protocol``   which service/operation/region a request is, and AWS-shaped error bodies.
- ``faults``     seeded throttling / 5xx / read-after-create NotFound injection.
- ``requestlog`` one record per AWS call, served by the control API.
- ``ec2``        refusals (DependencyViolation), NAT gateway lifecycle, managed and lingering ENIs.
- ``eks``        cluster / node group lifecycles, control-plane and CNI ENIs, cluster security group.
- ``addons``     the EKS add-on API, which moto lacks.
- ``updates``    EKS version updates (UpdateClusterVersion, UpdateNodegroupVersion) and
                 DescribeUpdate/ListUpdates, which moto lacks.
- ``efs``        file system and mount target lifecycles, lingering mount-target ENIs.
- ``elb``        classic load balancer ENIs that linger after the load balancer is deleted.
- ``k8s``        the Kubernetes side used by the stand-in helm/kubectl (releases, services -> ELB).
- ``control``    the ``/_hdh/`` control API.
- ``app``        the WSGI middleware that ties it together in front of moto.
- ``server``     command line, threaded WSGI server, ready line, signal handling.
- ``measure``    start-up and reset timings (``tests/emulator/measure``).
"""
