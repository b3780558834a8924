"""EFS realism: file system and mount target lifecycles, lingering mount-target ENIs.

* CreateFileSystem answers ``creating``; ``available`` after ``efs_file_system_create``.
  CreateMountTarget on a file system that is still ``creating`` is refused
  (``IncorrectFileSystemLifeCycleState``).
* CreateMountTarget answers ``creating`` (its ENI exists at once, in-use, requester-managed);
  ``available`` after ``efs_mount_target_create``.
* DeleteMountTarget: ``deleting`` for ``efs_mount_target_delete``, then gone, but its ENI lingers
  for ``efs_mount_target_eni_linger`` more, blocking the subnet and security groups.
* DeleteFileSystem while mount targets (deleting ones included) exist: ``FileSystemInUse``
  (moto's check, kept).
* PutBackupPolicy (moto lacks it): ``ENABLED`` or ``DISABLED``; DescribeBackupPolicy then answers
  the status put (moto answered PolicyNotFound for a disabled one, as AWS does only for a file
  system that never had a policy).
"""

from __future__ import annotations

from typing import Any

import json

from moto.efs.exceptions import BadRequest, EFSError, FileSystemNotFound
from moto.efs.models import EFSBackend
from moto.efs.responses import EFSResponse

from . import ec2 as ec2mod
from .world import WORLD


class IncorrectFileSystemLifeCycleState(EFSError):
    code = 409

    def __init__(self, message: str):
        super().__init__("IncorrectFileSystemLifeCycleState", message)


def _available(obj: Any) -> None:
    if obj.life_cycle_state == "creating":
        obj.life_cycle_state = "available"


def _finish_mount_target_delete(efs: EFSBackend, mt: Any) -> None:
    if efs.mount_targets_by_id.get(mt.mount_target_id) is not mt:
        return
    del efs.mount_targets_by_id[mt.mount_target_id]
    mt.clean_up()
    if mt.network_interface_id:
        ec2mod.linger_then_release(
            efs.account_id, efs.region_name, [mt.network_interface_id], "efs_mount_target_eni_linger"
        )


def install() -> None:
    orig_create_fs = EFSBackend.create_file_system
    orig_create_mt = EFSBackend.create_mount_target

    def create_file_system(self: EFSBackend, *args: Any, **kwargs: Any) -> Any:
        fs = orig_create_fs(self, *args, **kwargs)
        if WORLD.duration("efs_file_system_create") > 0:
            fs.life_cycle_state = "creating"
            WORLD.after("efs_file_system_create", f"efs {fs.file_system_id} available", lambda: _available(fs))
        return fs

    def create_mount_target(self: EFSBackend, file_system_id: str, subnet_id: str, *args: Any, **kwargs: Any) -> Any:
        fs = self.file_systems_by_id.get(file_system_id)
        if WORLD.profile.refusals and fs is not None and fs.life_cycle_state != "available":
            raise IncorrectFileSystemLifeCycleState(
                f"File system '{file_system_id}' is in life cycle state '{fs.life_cycle_state}'."
            )
        mt = orig_create_mt(self, file_system_id, subnet_id, *args, **kwargs)
        ec2 = ec2mod.backend(self.account_id, self.region_name)
        eni = ec2.enis.get(mt.network_interface_id)
        if eni is not None:
            ec2mod.mark_managed(ec2, eni, f"efs:{mt.mount_target_id}", "interface", "amazon-efs")
            eni.description = f"EFS mount target for {file_system_id} ({mt.mount_target_id})"
        if WORLD.duration("efs_mount_target_create") > 0:
            mt.life_cycle_state = "creating"
            WORLD.after("efs_mount_target_create", f"mount target {mt.mount_target_id} available", lambda: _available(mt))
        return mt

    def delete_mount_target(self: EFSBackend, mount_target_id: str) -> None:
        mt = self.mount_targets_by_id.get(mount_target_id)
        if mt is None:
            from moto.efs.exceptions import MountTargetNotFound

            raise MountTargetNotFound(mount_target_id)
        if mt.life_cycle_state == "deleting":
            return
        mt.life_cycle_state = "deleting"
        WORLD.after(
            "efs_mount_target_delete",
            f"mount target {mount_target_id} deleted",
            lambda: _finish_mount_target_delete(self, mt),
        )

    orig_describe_backup = EFSBackend.describe_backup_policy

    def put_backup_policy(self: EFSBackend, file_system_id: str, status: str) -> dict[str, str]:
        fs = self.file_systems_by_id.get(file_system_id)
        if fs is None:
            raise FileSystemNotFound(file_system_id)
        if status not in ("ENABLED", "DISABLED"):
            raise BadRequest(f"1 validation error detected: Value '{status}' at 'backupPolicy.status' "
                             "failed to satisfy constraint: Member must satisfy enum value set: "
                             "[ENABLED, DISABLED, ENABLING, DISABLING]")
        fs._backup = status == "ENABLED"
        fs.hdh_backup_status = status
        return {"Status": status}

    def describe_backup_policy(self: EFSBackend, file_system_id: str) -> dict[str, str]:
        fs = self.file_systems_by_id.get(file_system_id)
        if fs is None:
            raise FileSystemNotFound(file_system_id)
        put = getattr(fs, "hdh_backup_status", None)
        return {"Status": put} if put else orig_describe_backup(self, file_system_id)

    def put_backup_policy_response(self: EFSResponse) -> Any:
        policy = self._get_param("BackupPolicy") or {}
        got = self.efs_backend.put_backup_policy(self._get_param("FileSystemId"), policy.get("Status"))
        return json.dumps({"BackupPolicy": got}), {"Content-Type": "application/json"}

    EFSBackend.put_backup_policy = put_backup_policy
    EFSBackend.describe_backup_policy = describe_backup_policy
    EFSResponse.put_backup_policy = put_backup_policy_response
    EFSBackend.create_file_system = create_file_system
    EFSBackend.create_mount_target = create_mount_target
    EFSBackend.delete_mount_target = delete_mount_target
