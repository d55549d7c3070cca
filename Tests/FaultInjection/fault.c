// An LD_PRELOAD library for fault-injection tests: it wraps pwrite(2), which vhdtool uses for
// every write to an image file, and fails or kills the process at a chosen point.
//
//   FAULT_KILL_AT_WRITE=K   the K-th pwrite (1-based) raises SIGKILL before writing anything:
//                           a crash between two writes.
//   FAULT_AFTER_BYTES=N     once N bytes have been written, pwrite writes what still fits and
//   FAULT_ERRNO=E           then fails with errno E (28 ENOSPC: a full filesystem; 5 EIO).
//   FAULT_PAUSE_AT_WRITE=K  before the K-th pwrite, creates the file FAULT_PAUSE_FILE and
//   FAULT_PAUSE_FILE=PATH   waits (at most 120 s) until the test removes it: the process is
//                           caught part-way, holding its locks and partial files.
//   FAULT_COUNT_FILE=PATH   at a normal exit, the number of pwrite calls seen is written to
//                           PATH (tests choose their kill points from it).
//
// Built by the tests with `cc -shared -fPIC -o fault.so fault.c -ldl`.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static long kill_at_write = -1;
static long pause_at_write = -1;
static const char *pause_file;
static long long byte_budget = -1;
static int fault_errno = EIO;
static long writes_seen;
static long long bytes_written;

__attribute__((constructor)) static void read_settings(void) {
    const char *value;
    if ((value = getenv("FAULT_KILL_AT_WRITE"))) kill_at_write = atol(value);
    if ((value = getenv("FAULT_PAUSE_AT_WRITE"))) pause_at_write = atol(value);
    pause_file = getenv("FAULT_PAUSE_FILE");
    if ((value = getenv("FAULT_AFTER_BYTES"))) byte_budget = atoll(value);
    if ((value = getenv("FAULT_ERRNO"))) fault_errno = atoi(value);
}

__attribute__((destructor)) static void report_count(void) {
    const char *path = getenv("FAULT_COUNT_FILE");
    if (!path) return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char text[32];
    int length = snprintf(text, sizeof text, "%ld\n", writes_seen);
    if (length > 0) (void)!write(fd, text, (size_t)length);
    close(fd);
}

typedef ssize_t (*pwrite_function)(int, const void *, size_t, off_t);

static ssize_t faulty_pwrite(pwrite_function real, int fd, const void *buffer, size_t count, off_t offset) {
    writes_seen += 1;
    if (kill_at_write > 0 && writes_seen == kill_at_write) raise(SIGKILL);
    if (pause_at_write > 0 && writes_seen == pause_at_write && pause_file) {
        int marker = open(pause_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (marker >= 0) close(marker);
        for (int tick = 0; tick < 12000 && access(pause_file, F_OK) == 0; tick++) usleep(10000);
    }
    if (byte_budget >= 0) {
        long long left = byte_budget - bytes_written;
        if (left <= 0) {
            errno = fault_errno;
            return -1;
        }
        if ((long long)count > left) count = (size_t)left;
    }
    ssize_t written = real(fd, buffer, count, offset);
    if (written > 0) bytes_written += written;
    return written;
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    static pwrite_function real;
    if (!real) real = (pwrite_function)dlsym(RTLD_NEXT, "pwrite");
    return faulty_pwrite(real, fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off_t offset) {
    static pwrite_function real;
    if (!real) real = (pwrite_function)dlsym(RTLD_NEXT, "pwrite64");
    return faulty_pwrite(real, fd, buffer, count, offset);
}
