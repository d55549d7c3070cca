#ifndef VHDTOOL_CREFLINK_H
#define VHDTOOL_CREFLINK_H

/// Makes `destination` share all of `source`'s blocks (ioctl FICLONE, Linux: btrfs, XFS,
/// bcachefs...). Returns 0, or -1 with errno set (EOPNOTSUPP, EXDEV, EINVAL where the
/// filesystem cannot; ENOTTY elsewhere).
int vhdtool_reflink(int destination, int source);

#endif
