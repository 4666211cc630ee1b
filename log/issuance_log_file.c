/* SPDX-License-Identifier: ISC */
/*
 * issuance_log_file: the log as a file on disk. A log is only ever created
 * by issuance_log_create (`carapace log init`): exclusively, mode 0600 (or
 * 0640 and the group of its readers) whatever the umask, and its -wal and
 * -shm files with the same mode and group. No open creates one.
 *
 * Next to the log, PATH.head (the head state file) records the last chain
 * head this host has seen: the sequence number and hash of the newest
 * entry, made durable in the log before it is written here. Every open
 * compares it with the log, so that a log that was there and is gone, a
 * log rolled back to an older copy, and a log replaced by another one are
 * refused with both heads named instead of being used (or, as before,
 * silently replaced by an empty one). The writer updates the file at open,
 * when the issuer asks (periodically and at shutdown), never on the commit
 * path; what the window between updates means is in docs/issuance-log.md.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"

#define HEAD_MAGIC	"carapace issuance log head v1"
#define HEAD_MAX	512		/* bytes in a head state file */

/* file_with prints path + suffix into a new string. */
static char *
file_with(const char *path, const char *suffix)
{
	size_t n = strlen(path) + strlen(suffix) + 1;
	char *s;

	if ((s = malloc(n)) != NULL)
		snprintf(s, n, "%s%s", path, suffix);
	return s;
}

char *
ilog_head_path(const char *path)
{
	return file_with(path, ISSUANCE_LOG_HEAD_SUFFIX);
}

/* head_str formats "entry N (hash H)" into buf. */
static const char *
head_str(char *buf, size_t len, const struct issuance_log_head *h)
{
	char hex[2 * ISSUANCE_LOG_HASH_LEN + 1];

	if (h->seq == 0)
		snprintf(buf, len, "entry 0 (an empty chain)");
	else
		snprintf(buf, len, "entry %" PRId64 " (hash %s)", h->seq,
		    ilog_hex(hex, h->hash, sizeof(h->hash)));
	return buf;
}

/* head_parse reads the four lines of a head state file. */
static int
head_parse(struct issuance_log_head *out, const char *name, char *text)
{
	char *line, *save = NULL, *end;
	long long v;
	int n = 0;

	memset(out, 0, sizeof(*out));
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), n++) {
		if (n == 0 && strcmp(line, HEAD_MAGIC) == 0)
			continue;
		if (n == 2 && strncmp(line, "hash ", 5) == 0 &&
		    fileio_unhex(out->hash, sizeof(out->hash), line + 5) == 0)
			continue;
		if ((n == 1 && strncmp(line, "seq ", 4) == 0) ||
		    (n == 3 && strncmp(line, "time ", 5) == 0)) {
			errno = 0;
			v = strtoll(strchr(line, ' ') + 1, &end, 10);
			if (errno == 0 && *end == '\0' && v >= 0 &&
			    end != strchr(line, ' ') + 1) {
				if (n == 1)
					out->seq = v;
				else
					out->time = v;
				continue;
			}
		}
		break;
	}
	if (n != 4 || line != NULL)
		return ca_error(CA_ERR_INVALID, "%s: line %d: not a head state "
		    "file (\"" HEAD_MAGIC "\", then seq, hash and time lines)",
		    name, n + 1);
	return CA_OK;
}

int
ilog_head_read(const char *path, struct issuance_log_head *out, int *present)
{
	char *name = NULL;
	uint8_t *buf = NULL;
	size_t len;
	int rc = CA_ERR_INTERNAL;

	*present = 0;
	memset(out, 0, sizeof(*out));
	if ((name = ilog_head_path(path)) == NULL)
		return ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
	rc = fileio_read(&buf, &len, name, HEAD_MAX);
	if (rc == CA_ERR_NOT_FOUND) {
		rc = CA_OK;
		goto out;
	}
	if (rc != CA_OK)
		goto out;
	if (strlen((char *)buf) != len) {
		rc = ca_error(CA_ERR_INVALID, "%s: not a head state file "
		    "(holds a NUL byte)", name);
		goto out;
	}
	if ((rc = head_parse(out, name, (char *)buf)) != CA_OK)
		goto out;
	*present = 1;
 out:
	free(buf);
	free(name);
	return rc;
}

int
ilog_head_write(const char *path, const struct issuance_log_head *h)
{
	char *name = NULL, text[HEAD_MAX], hex[2 * ISSUANCE_LOG_HASH_LEN + 1];
	struct stat sb;
	int n, rc = CA_ERR_INTERNAL;

	/* The log's own mode and group: its readers read this file too. */
	if (stat(path, &sb) != 0)
		return ca_error(CA_ERR_IO, "%s: %s", path, strerror(errno));
	if ((name = ilog_head_path(path)) == NULL)
		return ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
	n = snprintf(text, sizeof(text), HEAD_MAGIC "\nseq %" PRId64
	    "\nhash %s\ntime %" PRId64 "\n", h->seq,
	    ilog_hex(hex, h->hash, sizeof(h->hash)), h->time);
	rc = fileio_replace_group(name, text, (size_t)n, sb.st_mode & 0666,
	    sb.st_gid);
	free(name);
	return rc;
}

int
ilog_head_of(struct ilog_cache *c, struct issuance_log_head *out)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	memset(out, 0, sizeof(*out));
	/* A log at schema version 0 has no chain yet. */
	if (sqlite3_table_column_metadata(c->db, "main", "events", "hash",
	    NULL, NULL, NULL, NULL, NULL) != SQLITE_OK)
		return CA_OK;
	if ((rc = ilog_prep(c, &st, "SELECT seq, hash FROM events "
	    "ORDER BY seq DESC LIMIT 1")) != CA_OK)
		return rc;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		out->seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == ISSUANCE_LOG_HASH_LEN)
			memcpy(out->hash, sqlite3_column_blob(st, 1),
			    ISSUANCE_LOG_HASH_LEN);
		else
			rc = ca_error(CA_ERR_DB, "%s: entry %" PRId64 ": the "
			    "hash is not %d bytes", c->path, out->seq,
			    ISSUANCE_LOG_HASH_LEN);
	} else if (step != SQLITE_DONE)
		rc = ilog_db_err(c->db, c->path, "read the chain head");
	ilog_done(st);
	return rc;
}

int
ilog_head_check(struct ilog_cache *c, const struct issuance_log_head *seen)
{
	struct issuance_log_head now, at;
	sqlite3_stmt *st = NULL;
	char a[128], b[128], when[32];
	time_t t = (time_t)seen->time;
	struct tm tm;
	int rc, step, found = 0;

	if ((rc = ilog_head_of(c, &now)) != CA_OK)
		return rc;
	if (seen->seq == 0)
		return CA_OK;		/* an empty chain: anything follows */
	memset(&at, 0, sizeof(at));
	at.seq = seen->seq;
	/* A chain shorter than the recorded head cannot hold it. */
	if (now.seq >= seen->seq) {
		if ((rc = ilog_prep(c, &st, "SELECT hash FROM events "
		    "WHERE seq = ?")) != CA_OK)
			return rc;
		sqlite3_bind_int64(st, 1, seen->seq);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) ==
		    ISSUANCE_LOG_HASH_LEN) {
			memcpy(at.hash, sqlite3_column_blob(st, 0),
			    sizeof(at.hash));
			found = 1;
		} else if (step != SQLITE_DONE && step != SQLITE_ROW)
			rc = ilog_db_err(c->db, c->path, "read a chain entry");
		ilog_done(st);
		if (rc != CA_OK)
			return rc;
	}
	if (found && memcmp(at.hash, seen->hash, sizeof(at.hash)) == 0)
		return CA_OK;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%" PRId64, seen->time);
	head_str(b, sizeof(b), seen);
	if (!found)
		return ca_error(CA_ERR_VERIFY, "%s: the log is older than one "
		    "this host has seen: its head is %s, but %s" 
		    ISSUANCE_LOG_HEAD_SUFFIX " recorded %s at %s, so entries "
		    "were cut off (a restore from an older copy, or a "
		    "replaced file); refusing to use it. Find the newer log "
		    "and put it back; if this older copy is really all that "
		    "is left, see \"Head state\" in docs/issuance-log.md "
		    "before moving %s" ISSUANCE_LOG_HEAD_SUFFIX " aside",
		    c->path, head_str(a, sizeof(a), &now), c->path, b, when,
		    c->path);
	return ca_error(CA_ERR_VERIFY, "%s: the log is not the one this host "
	    "has seen: its %s, but %s" ISSUANCE_LOG_HEAD_SUFFIX " recorded "
	    "%s at %s, so the chain was rewritten or the file replaced; "
	    "refusing to use it. Put the right log back; run carapace log "
	    "verify on both copies and see \"Head state\" in "
	    "docs/issuance-log.md", c->path, head_str(a, sizeof(a), &at),
	    c->path, b, when);
}

int
ilog_present(const char *path)
{
	struct issuance_log_head h;
	char a[128];
	int present, rc;

	if ((rc = fileio_exists(path)) == 1)
		return CA_OK;
	if (rc < 0)
		return ca_error(CA_ERR_IO, "%s: %s", path, strerror(errno));
	if ((rc = ilog_head_read(path, &h, &present)) != CA_OK)
		return rc;
	if (present)
		return ca_error(CA_ERR_NOT_FOUND, "%s: the issuance log is "
		    "gone: %s" ISSUANCE_LOG_HEAD_SUFFIX " says it held %s; "
		    "refusing to start without it (a new, empty log would "
		    "answer every certificate it held as unknown). Restore it "
		    "from a backup; see \"Head state\" in docs/issuance-log.md",
		    path, path, head_str(a, sizeof(a), &h));
	return ca_error(CA_ERR_NOT_FOUND, "%s: no issuance log; create one "
	    "with `carapace log init --log %s` (a daemon never creates it)",
	    path, path);
}

/* unlink_with removes path + suffix, if it exists. */
static void
unlink_with(const char *path, const char *suffix)
{
	char *s;

	if ((s = file_with(path, suffix)) != NULL) {
		(void)unlink(s);
		free(s);
	}
}

/* set_mode gives path + suffix exactly mode and group (when not -1). */
static int
set_mode(const char *path, const char *suffix, mode_t mode, gid_t group)
{
	char *s = NULL;
	int rc = CA_ERR_INTERNAL;

	if ((s = file_with(path, suffix)) == NULL)
		return ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
	if ((group != (gid_t)-1 && chown(s, (uid_t)-1, group) != 0) ||
	    chmod(s, mode) != 0) {
		rc = ca_error(CA_ERR_IO, "%s: set mode %04o: %s", s,
		    (unsigned)mode, strerror(errno));
		goto out;
	}
	rc = CA_OK;
 out:
	free(s);
	return rc;
}

int
issuance_log_create(const char *path, gid_t group)
{
	static const char *const sfx[] = { "-wal", "-shm",
	    ISSUANCE_LOG_HEAD_SUFFIX };
	struct issuance_log *log = NULL;
	mode_t mode = group == (gid_t)-1 ? 0600 : 0640;
	char *s;
	size_t i;
	int fd = -1, created = 0, rc = CA_ERR_INTERNAL, e;

	if ((e = fileio_exists(path)) != 0)
		return ca_error(e > 0 ? CA_ERR_EXISTS : CA_ERR_IO, "%s: %s; "
		    "refusing to overwrite an issuance log", path, e > 0 ?
		    "already exists" : strerror(errno));
	/* A stale -wal or head file belongs to a log that was here. */
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((s = file_with(path, sfx[i])) == NULL)
			return ca_error(CA_ERR_NOMEM, "%s: out of memory",
			    path);
		e = fileio_exists(s);
		if (e != 0) {
			rc = ca_error(e > 0 ? CA_ERR_EXISTS : CA_ERR_IO,
			    "%s: %s; a log was here before: refusing to "
			    "create a new one over it (restore the log, or "
			    "move the old files aside first)", s, e > 0 ?
			    "exists" : strerror(errno));
			free(s);
			return rc;
		}
		free(s);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return ca_error(CA_ERR_EXISTS, "%s: already exists; "
			    "refusing to overwrite an issuance log", path);
		return ca_error(CA_ERR_IO, "%s: create: %s", path,
		    strerror(errno));
	}
	created = 1;
	/* Exactly this mode, whatever the umask; SQLite copies it. */
	if ((group != (gid_t)-1 && fchown(fd, (uid_t)-1, group) != 0) ||
	    fchmod(fd, mode) != 0) {
		rc = ca_error(CA_ERR_IO, "%s: set mode %04o: %s", path,
		    (unsigned)mode, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = ca_error(CA_ERR_IO, "%s: close: %s", path,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	/* The schema, WAL mode and the head state file (an empty chain). */
	if ((rc = issuance_log_open(&log, path)) != CA_OK)
		goto out;
	/* SQLite copies the mode; the group only when it runs as root. */
	if ((rc = set_mode(path, "-wal", mode, group)) != CA_OK ||
	    (rc = set_mode(path, "-shm", mode, group)) != CA_OK ||
	    (rc = set_mode(path, ISSUANCE_LOG_HEAD_SUFFIX, mode, group)) !=
	    CA_OK || (rc = fileio_sync_dir(path)) != CA_OK)
		goto out;
	rc = CA_OK;
 out:
	issuance_log_close(log);
	if (fd >= 0)
		close(fd);
	if (rc != CA_OK && created) {
		for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
			unlink_with(path, sfx[i]);
		(void)unlink(path);
	}
	return rc;
}

int
issuance_log_head_save(struct issuance_log *log, struct issuance_log_head *out)
{
	struct issuance_log_head h;
	struct ilog_rconn *r;
	int rc;

	if ((rc = ilog_rconn_get(log, &r)) != CA_OK)
		return rc;
	rc = ilog_head_of(&r->cache, &h);
	ilog_rconn_put(log, r);
	if (rc != CA_OK)
		return rc;
	/* Durable in the log before the state file says it is there. */
	if ((rc = ilog_sync(log)) != CA_OK)
		return rc;
	if (!log->head_written || h.seq != log->head.seq ||
	    memcmp(h.hash, log->head.hash, sizeof(h.hash)) != 0) {
		h.time = ilog_now(log);
		if ((rc = ilog_head_write(log->file, &h)) != CA_OK)
			return rc;
		log->head = h;
		log->head_written = 1;
	}
	if (out != NULL)
		*out = log->head;
	return CA_OK;
}

int
issuance_log_head_adopted(const struct issuance_log *log)
{
	return log->head_adopted;
}
