//! EFS: `aws_efs_file_system` (`file_system`, the encrypted file system that holds user home
//! directories) and `aws_efs_mount_target` (`mount_target`, one per private subnet).

pub(crate) mod file_system;
pub(crate) mod mount_target;

pub(crate) use file_system::FileSystem;
pub(crate) use mount_target::MountTarget;
