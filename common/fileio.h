/* SPDX-License-Identifier: ISC */
/*
 * fileio: whole-file reads with a size cap, outputs that are created
 * exclusively and durably, atomic replacement of small state files, SHA-256
 * of files and buffers, and hex encoding.
 *
 * Every function returns CA_OK or a ca_err code with a detail message that
 * names the file (ca_error_detail()). Nothing here prints.
 */
#ifndef FILEIO_H
#define FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FILEIO_SHA256_LEN	32
#define FILEIO_SHA256_HEX	(2 * FILEIO_SHA256_LEN + 1)

/* Default cap for configuration files, CSRs and certificates. */
#define FILEIO_MAX_SMALL	(1024 * 1024)

/*
 * fileio_read reads the whole of path into a new buffer that is one byte
 * longer than the file and NUL-terminated (so text can be used as a
 * string). A file larger than max bytes is refused (CA_ERR_INVALID), a
 * missing one is CA_ERR_NOT_FOUND. The caller frees *out with free().
 */
int fileio_read(uint8_t **out, size_t *out_len, const char *path, size_t max)
    __attribute__((warn_unused_result));

/*
 * fileio_read_fd is fileio_read on an open descriptor, from its current
 * offset; name is used in error messages only.
 */
int fileio_read_fd(uint8_t **out, size_t *out_len, int fd, const char *name,
    size_t max) __attribute__((warn_unused_result));

/*
 * fileio_exists returns 1 when path names an existing directory entry
 * (including a dangling symlink), 0 when it does not, and -1 (errno set)
 * when that cannot be told.
 */
int fileio_exists(const char *path);

/*
 * fileio_create writes buf to a NEW file at path: O_CREAT|O_EXCL|O_NOFOLLOW
 * with the given mode, every byte written, fsync'd, and the directory
 * fsync'd. An existing path is CA_ERR_EXISTS and is left untouched. On any
 * later failure the new file is unlinked, so a failed call leaves nothing
 * behind.
 */
int fileio_create(const char *path, const void *buf, size_t len, mode_t mode)
    __attribute__((warn_unused_result));

/*
 * fileio_replace atomically replaces (or creates) path with buf: a
 * temporary file in the same directory is written and fsync'd, renamed
 * over path, and the directory is fsync'd. Readers see the old or the new
 * content, never a mix.
 */
int fileio_replace(const char *path, const void *buf, size_t len, mode_t mode)
    __attribute__((warn_unused_result));

/*
 * fileio_replace_group is fileio_replace that gives the new file exactly
 * mode, whatever the umask, and the group group unless it is (gid_t)-1
 * (set on the temporary file, so the file never has another mode).
 */
int fileio_replace_group(const char *path, const void *buf, size_t len,
    mode_t mode, gid_t group) __attribute__((warn_unused_result));

/*
 * fileio_write_all writes len bytes to fd, retrying short writes and EINTR.
 * name is used in error messages.
 */
int fileio_write_all(int fd, const char *name, const void *buf, size_t len)
    __attribute__((warn_unused_result));

/* fileio_sync_dir fsyncs the directory that holds path. */
int fileio_sync_dir(const char *path) __attribute__((warn_unused_result));

/* fileio_sha256 hashes the content of path (streamed, any size). */
int fileio_sha256(uint8_t out[FILEIO_SHA256_LEN], const char *path)
    __attribute__((warn_unused_result));

/*
 * fileio_sha256_buf hashes len bytes of buf; it fails (CA_ERR_INTERNAL)
 * only when OpenSSL cannot fetch SHA-256 or allocate.
 */
int fileio_sha256_buf(uint8_t out[FILEIO_SHA256_LEN], const void *buf,
    size_t len) __attribute__((warn_unused_result));

/*
 * fileio_hex writes len bytes of in as lowercase hex plus a NUL to out,
 * which must hold 2 * len + 1 bytes. Returns out.
 */
char *fileio_hex(char *out, const uint8_t *in, size_t len);

/*
 * fileio_unhex decodes exactly out_len bytes from the hex string in (upper
 * or lower case; the string must be exactly 2 * out_len digits). Returns 0
 * on success and -1 otherwise.
 */
int fileio_unhex(uint8_t *out, size_t out_len, const char *in)
    __attribute__((warn_unused_result));

#endif /* FILEIO_H */
