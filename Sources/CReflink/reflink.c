#include "CReflink.h"
#include <errno.h>

#if defined(__linux__)
#include <sys/ioctl.h>
#include <linux/fs.h>

int vhdtool_reflink(int destination, int source) {
    return ioctl(destination, FICLONE, source);
}
#else
int vhdtool_reflink(int destination, int source) {
    (void)destination;
    (void)source;
    errno = ENOTTY;
    return -1;
}
#endif
