/* io.c — whole writes to a file descriptor (io.h). */
#include "base/io.h"

#include <errno.h>
#include <unistd.h>

bool base_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            if (w == 0) {
                errno = EIO; /* a regular file never takes 0 of n > 0 bytes: call it an error */
            }
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}
