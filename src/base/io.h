/* io.h — whole writes to a file descriptor, the one loop every writer of a file needs.
 *
 * write(2) may take fewer bytes than asked (a signal, a full pipe) and fails with EINTR when
 * a signal arrives first; base_write_all() loops until all n bytes are written. */
#ifndef MIEN_BASE_IO_H
#define MIEN_BASE_IO_H

#include <stdbool.h>
#include <stddef.h>

/* Writes buf[n] to fd, retrying after EINTR and short writes. True when every byte is
 * written; false with errno set otherwise (EIO when write(2) takes 0 of n > 0 bytes, which
 * a regular file never does). @test base/test_keyring.c (the key file is written with it) */
bool base_write_all(int fd, const void *buf, size_t n);

#endif
