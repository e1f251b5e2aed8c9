/* sha256.c — mien_sha256(): the SHA-256 digest (FIPS 180-4) of a byte buffer, from
 * libsodium's crypto_hash_sha256, so that the CLI and other users of mien.h can name an
 * image by its bytes (resumable enrolment, audit input digests) without a crypto library of
 * their own. @test gallery/test_gallery.c */
#include <sodium.h>

#include "mien.h"

_Static_assert(crypto_hash_sha256_BYTES == 32, "SHA-256 digests are 32 bytes");

mien_status mien_sha256(const void *bytes, size_t n, uint8_t out[32])
{
    if (out == NULL || (bytes == NULL && n != 0)) {
        return MIEN_ERR_ARG;
    }
    /* crypto_hash_sha256 needs no sodium_init(): it has one portable implementation. */
    crypto_hash_sha256(out, (const unsigned char *)(n != 0 ? bytes : ""),
                       (unsigned long long)n);
    return MIEN_OK;
}
