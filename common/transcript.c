/* SPDX-License-Identifier: ISC */
/*
 * transcript: append, parse and verify the ceremony's hash-chained
 * transcript (format in transcript.h and docs/ceremony-file.md).
 *
 * Appending takes an exclusive flock, re-reads and re-checks the whole
 * chain (a damaged transcript is never extended), writes the record in one
 * write and fsyncs it. Parsing is strict, because an auditor runs it on a
 * file that may have been tampered with: every line has a fixed place and
 * shape, lengths and counts are capped, control characters are refused, and
 * the first problem is reported with its line and record number. A seal is
 * a signature, made through a callback, over a context string and the hash
 * of the record it seals, so it commits to everything before it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/transcript.h"

#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define STEP_MAX	32
#define KEY_MAX		32

struct transcript {
	char *name;
	char *text;		/* a copy of the file, lines NUL-terminated */
	size_t nrecords;
	struct transcript_record *records;
};

struct transcript_entry {
	char *path;
	char step[STEP_MAX];
	time_t time;
	char *body;		/* body lines, each with its '\n' */
	size_t len, cap;
	size_t nfields;
};

static void
record_free_fields(struct transcript_record *r)
{
	free(r->fields);
	r->fields = NULL;
	r->nfields = 0;
}

void
transcript_free(struct transcript *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrecords; i++)
		record_free_fields(&t->records[i]);
	free(t->records);
	free(t->text);
	free(t->name);
	free(t);
}

size_t
transcript_count(const struct transcript *t)
{
	return t->nrecords;
}

const struct transcript_record *
transcript_record_at(const struct transcript *t, size_t i)
{
	return i < t->nrecords ? &t->records[i] : NULL;
}

const char *
transcript_record_field(const struct transcript_record *r, const char *key,
    size_t n)
{
	size_t i;

	for (i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].key, key) == 0 && n-- == 0)
			return r->fields[i].value;
	return NULL;
}

/* is_word: [a-z][a-z0-9-]* of at most max - 1 characters. */
static int
is_word(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len >= max || !(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static int
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/* is_time: exactly YYYY-MM-DDTHH:MM:SSZ. */
static int
is_time(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != shape[i])
			return 0;
	}
	return 1;
}

/* prefixed: when line starts with "word ", *rest is what follows. */
static int
prefixed(const char *line, const char *word, const char **rest)
{
	size_t n = strlen(word);

	if (strncmp(line, word, n) != 0 || line[n] != ' ')
		return 0;
	*rest = line + n + 1;
	return 1;
}

static int
is_reserved(const char *key, size_t len)
{
	static const char *const reserved[] = { "record", "prev", "time",
	    "step", "outcome", "hash", NULL };
	size_t i;

	for (i = 0; reserved[i] != NULL; i++)
		if (strlen(reserved[i]) == len &&
		    memcmp(reserved[i], key, len) == 0)
			return 1;
	return 0;
}

enum parse_state {
	P_RECORD, P_PREV, P_TIME, P_STEP, P_BODY, P_HASH, P_BLANK,
};

#define BAD(...) do { rc = ca_error(CA_ERR_VERIFY, __VA_ARGS__); goto out; } \
	while (0)

int
transcript_parse(struct transcript **out, const uint8_t *buf, size_t len,
    const char *name)
{
	struct transcript *t = NULL;
	struct transcript_record *r = NULL, *nrec;
	struct transcript_field *nf;
	enum parse_state st = P_RECORD;
	const char *line, *rest, *sp;
	char *nl, *end;
	char prev[FILEIO_SHA256_HEX] = ZERO_HASH;
	uint8_t h[FILEIO_SHA256_LEN];
	size_t pos = 0, lineno = 0, rec_start = 0, cap = 0, fcap = 0, llen, i;
	unsigned long idx;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (len > TRANSCRIPT_MAX_SIZE) {
		rc = ca_error(CA_ERR_INVALID, "%s: larger than %d bytes", name,
		    TRANSCRIPT_MAX_SIZE);
		goto out;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->name = strdup(name)) == NULL ||
	    (t->text = malloc(len + 1)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", name);
		goto out;
	}
	memcpy(t->text, buf, len);
	t->text[len] = '\0';

	while (pos < len) {
		lineno++;
		if ((nl = memchr(t->text + pos, '\n', len - pos)) == NULL)
			BAD("%s:%zu: no newline at the end of the file "
			    "(truncated?)", name, lineno);
		llen = (size_t)(nl - (t->text + pos));
		if (llen > TRANSCRIPT_MAX_LINE)
			BAD("%s:%zu: line longer than %d bytes", name, lineno,
			    TRANSCRIPT_MAX_LINE);
		for (i = 0; i < llen; i++) {
			unsigned char c = (unsigned char)t->text[pos + i];

			if (c < 0x20 || c == 0x7f)
				BAD("%s:%zu: control character 0x%02x",
				    name, lineno, c);
		}
		*nl = '\0';
		line = t->text + pos;

		switch (st) {
		case P_RECORD:
			if (!prefixed(line, "record", &rest))
				BAD("%s:%zu: expected \"record %zu\"", name,
				    lineno, t->nrecords + 1);
			errno = 0;
			idx = strtoul(rest, &end, 10);
			if (!isdigit((unsigned char)*rest) || *end != '\0' ||
			    (rest[0] == '0') || errno != 0)
				BAD("%s:%zu: bad record number", name, lineno);
			if (idx != t->nrecords + 1)
				BAD("%s:%zu: record %lu where record %zu was "
				    "expected (a record was removed or "
				    "reordered)", name, lineno, idx,
				    t->nrecords + 1);
			if (t->nrecords >= TRANSCRIPT_MAX_RECORDS)
				BAD("%s:%zu: more than %d records", name,
				    lineno, TRANSCRIPT_MAX_RECORDS);
			if (t->nrecords == cap) {
				cap = cap ? cap * 2 : 16;
				nrec = reallocarray(t->records, cap,
				    sizeof(*nrec));
				if (nrec == NULL) {
					rc = ca_error(CA_ERR_NOMEM, "%s: out of "
					    "memory", name);
					goto out;
				}
				t->records = nrec;
			}
			r = &t->records[t->nrecords++];
			memset(r, 0, sizeof(*r));
			r->index = idx;
			r->line = lineno;
			rec_start = pos;
			fcap = 0;
			st = P_PREV;
			break;
		case P_PREV:
			if (!prefixed(line, "prev", &rest) || !is_hex64(rest))
				BAD("%s:%zu: record %lu: expected \"prev\" and "
				    "64 hex digits", name, lineno, r->index);
			if (strcmp(rest, prev) != 0)
				BAD("%s:%zu: record %lu: prev does not match "
				    "the hash of the record before it (a record "
				    "was removed, reordered or edited)", name,
				    lineno, r->index);
			memcpy(r->prev, rest, sizeof(r->prev));
			st = P_TIME;
			break;
		case P_TIME:
			if (!prefixed(line, "time", &rest) || !is_time(rest))
				BAD("%s:%zu: record %lu: expected \"time "
				    "YYYY-MM-DDTHH:MM:SSZ\"", name, lineno,
				    r->index);
			r->time = rest;
			st = P_STEP;
			break;
		case P_STEP:
			if (!prefixed(line, "step", &rest) ||
			    !is_word(rest, strlen(rest), STEP_MAX))
				BAD("%s:%zu: record %lu: expected \"step "
				    "NAME\"", name, lineno, r->index);
			r->step = rest;
			st = P_BODY;
			break;
		case P_BODY:
			if (prefixed(line, "outcome", &rest)) {
				if (strcmp(rest, "ok") != 0 &&
				    strcmp(rest, "cancelled") != 0 &&
				    (strncmp(rest, "failed: ", 8) != 0 ||
				    rest[8] == '\0'))
					BAD("%s:%zu: record %lu: outcome must "
					    "be ok, cancelled or failed: "
					    "MESSAGE", name, lineno, r->index);
				r->outcome = rest;
				/* The hash covers the file's bytes as read. */
				if ((rc = fileio_sha256_buf(h, buf + rec_start,
				    (size_t)(nl - t->text) + 1 - rec_start)) !=
				    CA_OK)
					goto out;
				fileio_hex(r->hash, h, sizeof(h));
				st = P_HASH;
				break;
			}
			if ((sp = strchr(line, ' ')) == NULL ||
			    !is_word(line, (size_t)(sp - line), KEY_MAX) ||
			    is_reserved(line, (size_t)(sp - line)))
				BAD("%s:%zu: record %lu: expected \"KEY "
				    "VALUE\" or \"outcome ...\"", name, lineno,
				    r->index);
			if (r->nfields >= TRANSCRIPT_MAX_FIELDS)
				BAD("%s:%zu: record %lu: more than %d lines",
				    name, lineno, r->index,
				    TRANSCRIPT_MAX_FIELDS);
			if (r->nfields == fcap) {
				fcap = fcap ? fcap * 2 : 8;
				nf = reallocarray(r->fields, fcap,
				    sizeof(*nf));
				if (nf == NULL) {
					rc = ca_error(CA_ERR_NOMEM, "%s: out of "
					    "memory", name);
					goto out;
				}
				r->fields = nf;
			}
			t->text[sp - t->text] = '\0';
			r->fields[r->nfields].key = line;
			r->fields[r->nfields].value = sp + 1;
			r->nfields++;
			break;
		case P_HASH:
			if (!prefixed(line, "hash", &rest) || !is_hex64(rest))
				BAD("%s:%zu: record %lu: expected \"hash\" and "
				    "64 hex digits", name, lineno, r->index);
			if (strcmp(rest, r->hash) != 0)
				BAD("%s:%zu: record %lu: hash does not match "
				    "the record's contents (the record was "
				    "edited)", name, lineno, r->index);
			memcpy(prev, r->hash, sizeof(prev));
			st = P_BLANK;
			break;
		case P_BLANK:
			if (*line != '\0')
				BAD("%s:%zu: record %lu: expected an empty line "
				    "after the hash", name, lineno, r->index);
			st = P_RECORD;
			break;
		}
		pos = (size_t)(nl - t->text) + 1;
	}
	if (st != P_RECORD)
		BAD("%s:%zu: record %lu is incomplete (truncated?)", name,
		    lineno, r->index);
	*out = t;
	t = NULL;
	rc = CA_OK;
 out:
	transcript_free(t);
	return rc;
}

#undef BAD

int
transcript_load(struct transcript **out, const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = fileio_read(&buf, &len, path, TRANSCRIPT_MAX_SIZE)) != CA_OK)
		return rc;
	rc = transcript_parse(out, buf, len, path);
	free(buf);
	return rc;
}

void
transcript_entry_free(struct transcript_entry *e)
{
	if (e == NULL)
		return;
	free(e->body);
	free(e->path);
	free(e);
}

int
transcript_entry_new(struct transcript_entry **out, const char *path,
    const char *step)
{
	struct transcript_entry *e = NULL;
	int rc = CA_ERR_INTERNAL;

	*out = NULL;
	if (!is_word(step, strlen(step), STEP_MAX)) {
		rc = ca_error(CA_ERR_USAGE, "transcript: bad step name \"%s\"",
		    step);
		goto out;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->path = strdup(path)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	snprintf(e->step, sizeof(e->step), "%s", step);
	e->time = time(NULL);
	*out = e;
	e = NULL;
	rc = CA_OK;
 out:
	transcript_entry_free(e);
	return rc;
}

void
transcript_entry_set_time(struct transcript_entry *e, time_t t)
{
	e->time = t;
}

static int
entry_reserve(struct transcript_entry *e, size_t more)
{
	char *nb;
	size_t ncap;

	if (e->len + more <= e->cap)
		return CA_OK;
	ncap = e->cap ? e->cap : 256;
	while (ncap < e->len + more)
		ncap *= 2;
	if ((nb = realloc(e->body, ncap)) == NULL)
		return ca_error(CA_ERR_NOMEM, "transcript: out of memory");
	e->body = nb;
	e->cap = ncap;
	return CA_OK;
}

/*
 * escape_into appends s to dst (capacity cap, NUL-terminated) with control
 * characters as \xNN, stopping before the line limit. Returns the length.
 */
static size_t
escape_into(char *dst, size_t cap, size_t len, const char *s)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f) {
			if (len + 4 >= cap)
				break;
			dst[len++] = '\\';
			dst[len++] = 'x';
			dst[len++] = digits[c >> 4];
			dst[len++] = digits[c & 0x0f];
		} else {
			if (len + 1 >= cap)
				break;
			dst[len++] = (char)c;
		}
	}
	dst[len] = '\0';
	return len;
}

static int
entry_line(struct transcript_entry *e, const char *key, const char *value)
{
	char *line = NULL;
	size_t n;
	int rc = CA_ERR_INTERNAL;

	if (!is_word(key, strlen(key), KEY_MAX) ||
	    is_reserved(key, strlen(key))) {
		rc = ca_error(CA_ERR_USAGE, "transcript: bad key \"%s\"", key);
		goto out;
	}
	if (e->nfields >= TRANSCRIPT_MAX_FIELDS) {
		rc = ca_error(CA_ERR_USAGE, "transcript: more than %d lines in "
		    "one record", TRANSCRIPT_MAX_FIELDS);
		goto out;
	}
	if ((line = malloc(TRANSCRIPT_MAX_LINE + 1)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "transcript: out of memory");
		goto out;
	}
	n = (size_t)snprintf(line, TRANSCRIPT_MAX_LINE + 1, "%s ", key);
	n = escape_into(line, TRANSCRIPT_MAX_LINE + 1, n, value);
	if ((rc = entry_reserve(e, n + 1)) != CA_OK)
		goto out;
	memcpy(e->body + e->len, line, n);
	e->body[e->len + n] = '\n';
	e->len += n + 1;
	e->nfields++;
	rc = CA_OK;
 out:
	free(line);
	return rc;
}

int
transcript_entry_add(struct transcript_entry *e, const char *key,
    const char *fmt, ...)
{
	va_list ap;
	char *value = NULL;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&value, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ca_error(CA_ERR_NOMEM, "transcript: out of memory");
	rc = entry_line(e, key, value);
	free(value);
	return rc;
}

/* dir_of: the directory part of path, "." when there is none. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/*
 * rel_name: file's name relative to the directory holding transcript when
 * it lies under it, else its absolute path, else the path as given.
 */
static char *
rel_name(const char *transcript, const char *file)
{
	char *tdir = NULL, *fdir = NULL, *rt = NULL, *rf = NULL, *res = NULL;
	const char *base, *sub = NULL;
	size_t tl;

	base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	if ((tdir = dir_of(transcript)) == NULL ||
	    (fdir = dir_of(file)) == NULL)
		goto out;
	rt = realpath(tdir, NULL);
	rf = realpath(fdir, NULL);
	if (rt == NULL || rf == NULL) {
		res = strdup(file);
		goto out;
	}
	tl = strlen(rt);
	if (strcmp(rf, rt) == 0) {
		res = strdup(base);
		goto out;
	}
	if (strcmp(rt, "/") == 0)
		sub = rf + 1;
	else if (strncmp(rf, rt, tl) == 0 && rf[tl] == '/')
		sub = rf + tl + 1;
	if (asprintf(&res, "%s/%s", sub != NULL ? sub : rf, base) < 0)
		res = NULL;
 out:
	free(tdir);
	free(fdir);
	free(rt);
	free(rf);
	return res;
}

int
transcript_entry_file(struct transcript_entry *e, const char *key,
    const char *file, const uint8_t sha256[FILEIO_SHA256_LEN])
{
	char hex[FILEIO_SHA256_HEX];
	char *name;
	int rc;

	if ((name = rel_name(e->path, file)) == NULL)
		return ca_error(CA_ERR_NOMEM, "transcript: out of memory");
	fileio_hex(hex, sha256, FILEIO_SHA256_LEN);
	rc = transcript_entry_add(e, key, "%s sha256:%s", name, hex);
	free(name);
	return rc;
}

/*
 * locked_open opens the transcript for appending (creating it only if
 * may_create), takes an exclusive lock and parses what is there.
 */
static int
locked_open(int *fd_out, struct transcript **t_out, int *created,
    const char *path, int may_create)
{
	struct transcript *t = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[512];
	int fd = -1, ex, rc = CA_ERR_INTERNAL;

	*fd_out = -1;
	*t_out = NULL;
	if ((ex = fileio_exists(path)) == -1) {
		rc = ca_error(CA_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	*created = !ex;
	if (!ex && !may_create) {
		rc = ca_error(CA_ERR_INVALID, "%s: nothing to seal: the "
		    "transcript does not exist", path);
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY, 0644);
	if (fd == -1) {
		rc = ca_error(CA_ERR_IO, "%s: open transcript: %s", path,
		    strerror(errno));
		goto out;
	}
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			rc = ca_error(CA_ERR_IO, "%s: lock: %s", path,
			    strerror(errno));
			goto out;
		}
	}
	if ((rc = fileio_read_fd(&buf, &len, fd, path,
	    TRANSCRIPT_MAX_SIZE)) != CA_OK)
		goto out;
	if ((rc = transcript_parse(&t, buf, len, path)) != CA_OK) {
		snprintf(why, sizeof(why), "%s", ca_error_detail());
		rc = ca_error(rc, "%s; refusing to append to a damaged "
		    "transcript", why);
		goto out;
	}
	*fd_out = fd;
	fd = -1;
	*t_out = t;
	t = NULL;
	rc = CA_OK;
 out:
	free(buf);
	transcript_free(t);
	if (fd != -1)
		close(fd);
	return rc;
}

/* write_record writes one complete record and fsyncs it. */
static int
write_record(int fd, int created, const char *path, const struct transcript *t,
    time_t when, const char *step, const char *body, size_t body_len,
    const char *outcome, char hash_out[FILEIO_SHA256_HEX])
{
	const struct transcript_record *last;
	char *rec = NULL, *oc = NULL;
	char hex[FILEIO_SHA256_HEX], ts[32];
	uint8_t h[FILEIO_SHA256_LEN];
	size_t n = 0, cap;
	struct tm tm;
	int rc = CA_ERR_INTERNAL;

	if (t->nrecords >= TRANSCRIPT_MAX_RECORDS) {
		rc = ca_error(CA_ERR_INVALID, "%s: full (%d records)", path,
		    TRANSCRIPT_MAX_RECORDS);
		goto out;
	}
	last = t->nrecords > 0 ? &t->records[t->nrecords - 1] : NULL;
	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: cannot format the time",
		    path);
		goto out;
	}
	/* The outcome line is capped and escaped like any other line. */
	if ((oc = malloc(TRANSCRIPT_MAX_LINE + 1)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "transcript: out of memory");
		goto out;
	}
	escape_into(oc, TRANSCRIPT_MAX_LINE + 1 - 8, 0, outcome);
	cap = body_len + strlen(oc) + 512;
	if ((rec = malloc(cap)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "transcript: out of memory");
		goto out;
	}
	n = (size_t)snprintf(rec, cap, "record %zu\nprev %s\ntime %s\n"
	    "step %s\n", t->nrecords + 1, last ? last->hash : ZERO_HASH, ts,
	    step);
	memcpy(rec + n, body, body_len);
	n += body_len;
	n += (size_t)snprintf(rec + n, cap - n, "outcome %s\n", oc);
	if ((rc = fileio_sha256_buf(h, rec, n)) != CA_OK)
		goto out;
	fileio_hex(hex, h, sizeof(h));
	n += (size_t)snprintf(rec + n, cap - n, "hash %s\n\n", hex);
	if ((rc = fileio_write_all(fd, path, rec, n)) != CA_OK)
		goto out;
	if (fsync(fd) == -1) {
		rc = ca_error(CA_ERR_IO, "%s: fsync: %s", path,
		    strerror(errno));
		goto out;
	}
	if (created && (rc = fileio_sync_dir(path)) != CA_OK)
		goto out;
	if (hash_out != NULL)
		memcpy(hash_out, hex, sizeof(hex));
	rc = CA_OK;
 out:
	free(oc);
	free(rec);
	return rc;
}

int
transcript_append(struct transcript_entry *e, enum transcript_outcome outcome,
    const char *message, char hash_out[FILEIO_SHA256_HEX])
{
	struct transcript *t = NULL;
	char *oc = NULL;
	int fd = -1, created = 0, rc = CA_ERR_INTERNAL;

	switch (outcome) {
	case TRANSCRIPT_OK:
		oc = strdup("ok");
		break;
	case TRANSCRIPT_CANCELLED:
		oc = strdup("cancelled");
		break;
	case TRANSCRIPT_FAILED:
		if (asprintf(&oc, "failed: %s", message != NULL &&
		    *message != '\0' ? message : "unknown error") < 0)
			oc = NULL;
		break;
	}
	if (oc == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "transcript: out of memory");
		goto out;
	}
	if ((rc = locked_open(&fd, &t, &created, e->path, 1)) != CA_OK)
		goto out;
	rc = write_record(fd, created, e->path, t, e->time, e->step,
	    e->body != NULL ? e->body : "", e->len, oc, hash_out);
 out:
	if (fd != -1)
		close(fd);	/* releases the lock */
	transcript_free(t);
	free(oc);
	return rc;
}

/* seal_message: the exact bytes a seal over record r signs. */
static char *
seal_message(const struct transcript_record *r, size_t *len)
{
	char *m = NULL;
	int n;

	n = asprintf(&m, "%srecord %lu\nhash %s\n", TRANSCRIPT_SEAL_CONTEXT,
	    r->index, r->hash);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return m;
}

int
transcript_seal(const char *path, const char *key_desc, const char *digest,
    transcript_sign_fn sign, void *arg)
{
	struct transcript *t = NULL;
	struct transcript_entry *e = NULL;
	const struct transcript_record *last;
	unsigned char *sig = NULL;
	char *msg = NULL, *b64 = NULL;
	size_t msglen = 0, siglen = 0;
	int fd = -1, created = 0, rc = CA_ERR_INTERNAL;

	if ((rc = transcript_entry_new(&e, path, "seal")) != CA_OK)
		goto out;
	if ((rc = locked_open(&fd, &t, &created, path, 0)) != CA_OK)
		goto out;
	if (t->nrecords == 0) {
		rc = ca_error(CA_ERR_INVALID, "%s: nothing to seal", path);
		goto out;
	}
	last = &t->records[t->nrecords - 1];
	if ((msg = seal_message(last, &msglen)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "transcript: out of memory");
		goto out;
	}
	if ((rc = sign(&sig, &siglen, digest, (unsigned char *)msg, msglen,
	    arg)) != CA_OK)
		goto out;
	if (siglen == 0 || siglen > 4096) {
		rc = ca_error(CA_ERR_INTERNAL, "%s: seal signature has a bad "
		    "length (%zu)", path, siglen);
		goto out;
	}
	if ((b64 = malloc(4 * ((siglen + 2) / 3) + 1)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "transcript: out of memory");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	if ((rc = transcript_entry_add(e, "key", "%s", key_desc)) != CA_OK ||
	    (rc = transcript_entry_add(e, "sealed", "%lu %s", last->index,
	    last->hash)) != CA_OK ||
	    (rc = transcript_entry_add(e, "signature", "%s %s", digest,
	    b64)) != CA_OK)
		goto out;
	rc = write_record(fd, created, path, t, e->time, e->step, e->body,
	    e->len, "ok", NULL);
 out:
	if (fd != -1)
		close(fd);
	transcript_free(t);
	transcript_entry_free(e);
	OPENSSL_free(sig);
	free(msg);
	free(b64);
	return rc;
}

void
transcript_report_clear(struct transcript_report *rep)
{
	size_t i;

	if (rep == NULL)
		return;
	for (i = 0; i < rep->nmissing; i++)
		free(rep->missing[i]);
	free(rep->missing);
	memset(rep, 0, sizeof(*rep));
}

static const EVP_MD *
seal_digest(const char *name, size_t len)
{
	if (len == 6 && strncmp(name, "sha256", 6) == 0)
		return EVP_sha256();
	if (len == 6 && strncmp(name, "sha384", 6) == 0)
		return EVP_sha384();
	if (len == 6 && strncmp(name, "sha512", 6) == 0)
		return EVP_sha512();
	return NULL;
}

static int
verify_seal(const char *path, const struct transcript *t, size_t i,
    EVP_PKEY *pub, const char *pub_spki)
{
	const struct transcript_record *r = &t->records[i], *sealed;
	const char *v, *sp, *fp;
	EVP_MD_CTX *md = NULL;
	const EVP_MD *dg;
	unsigned char *sig = NULL;
	char *msg = NULL, expect[128];
	size_t msglen = 0, blen, siglen;
	int n, pad, rc = CA_ERR_INTERNAL;

	if (i == 0) {
		rc = ca_error(CA_ERR_VERIFY, "%s: record 1: a seal with nothing "
		    "before it", path);
		goto out;
	}
	sealed = &t->records[i - 1];
	if (strcmp(r->outcome, "ok") != 0 || r->nfields != 3 ||
	    strcmp(r->fields[0].key, "key") != 0 ||
	    strcmp(r->fields[1].key, "sealed") != 0 ||
	    strcmp(r->fields[2].key, "signature") != 0) {
		rc = ca_error(CA_ERR_VERIFY, "%s:%zu: record %lu: a seal has "
		    "exactly the lines key, sealed, signature and outcome ok",
		    path, r->line, r->index);
		goto out;
	}
	snprintf(expect, sizeof(expect), "%lu %s", sealed->index,
	    sealed->hash);
	if (strcmp(r->fields[1].value, expect) != 0) {
		rc = ca_error(CA_ERR_VERIFY, "%s:%zu: record %lu: the seal "
		    "does not name record %lu and its hash", path, r->line,
		    r->index, sealed->index);
		goto out;
	}
	if ((fp = strstr(r->fields[0].value, "spki-sha256:")) != NULL &&
	    strcmp(fp + strlen("spki-sha256:"), pub_spki) != 0) {
		rc = ca_error(CA_ERR_VERIFY, "%s:%zu: record %lu: sealed by a "
		    "different key (%s, expected spki-sha256:%s)", path,
		    r->line, r->index, fp, pub_spki);
		goto out;
	}
	v = r->fields[2].value;
	if ((sp = strchr(v, ' ')) == NULL ||
	    (dg = seal_digest(v, (size_t)(sp - v))) == NULL) {
		rc = ca_error(CA_ERR_VERIFY, "%s:%zu: record %lu: signature "
		    "line needs a digest (sha256, sha384, sha512) and base64",
		    path, r->line, r->index);
		goto out;
	}
	sp++;
	blen = strlen(sp);
	if (blen == 0 || blen % 4 != 0 || strspn(sp, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/=") != blen) {
		rc = ca_error(CA_ERR_VERIFY, "%s:%zu: record %lu: signature is "
		    "not base64", path, r->line, r->index);
		goto out;
	}
	if ((sig = OPENSSL_malloc(blen / 4 * 3 + 1)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "transcript: out of memory");
		goto out;
	}
	if ((n = EVP_DecodeBlock(sig, (const unsigned char *)sp,
	    (int)blen)) < 0) {
		rc = ca_error(CA_ERR_VERIFY, "%s:%zu: record %lu: signature is "
		    "not base64", path, r->line, r->index);
		goto out;
	}
	pad = (sp[blen - 1] == '=') + (blen > 1 && sp[blen - 2] == '=');
	siglen = (size_t)n - (size_t)pad;
	if ((msg = seal_message(sealed, &msglen)) == NULL ||
	    (md = EVP_MD_CTX_new()) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "transcript: out of memory");
		goto out;
	}
	ERR_clear_error();
	if (EVP_DigestVerifyInit(md, NULL, dg, NULL, pub) != 1 ||
	    EVP_DigestVerify(md, sig, siglen, (unsigned char *)msg,
	    msglen) != 1) {
		ERR_clear_error();
		rc = ca_error(CA_ERR_VERIFY, "%s:%zu: record %lu: the seal's "
		    "signature does not verify with the root key", path,
		    r->line, r->index);
		goto out;
	}
	rc = CA_OK;
 out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(sig);
	free(msg);
	return rc;
}

static int
verify_output(struct transcript_report *rep, const char *path,
    const char *tdir, const struct transcript_record *r, const char *value)
{
	const char *sp;
	char *name = NULL, *file = NULL, **nm;
	char hex[FILEIO_SHA256_HEX];
	uint8_t h[FILEIO_SHA256_LEN];
	int ex, rc = CA_ERR_INTERNAL;

	if ((sp = strrchr(value, ' ')) == NULL || sp == value ||
	    strncmp(sp + 1, "sha256:", 7) != 0 || !is_hex64(sp + 8)) {
		rc = ca_error(CA_ERR_VERIFY, "%s:%zu: record %lu: output line "
		    "needs NAME sha256:HEX", path, r->line, r->index);
		goto out;
	}
	if ((name = strndup(value, (size_t)(sp - value))) == NULL)
		goto nomem;
	if (name[0] == '/')
		file = strdup(name);
	else if (asprintf(&file, "%s/%s", tdir, name) < 0)
		file = NULL;
	if (file == NULL)
		goto nomem;
	rep->outputs++;
	if ((ex = fileio_exists(file)) == 0) {
		nm = reallocarray(rep->missing, rep->nmissing + 1,
		    sizeof(*nm));
		if (nm == NULL)
			goto nomem;
		rep->missing = nm;
		rep->missing[rep->nmissing++] = name;
		name = NULL;
		rc = CA_OK;
		goto out;
	}
	if ((rc = fileio_sha256(h, file)) != CA_OK)
		goto out;
	fileio_hex(hex, h, sizeof(h));
	if (strcmp(hex, sp + 8) != 0) {
		rc = ca_error(CA_ERR_VERIFY, "%s:%zu: record %lu: output %s has "
		    "changed since the ceremony (SHA-256 %s, recorded %s)",
		    path, r->line, r->index, file, hex, sp + 8);
		goto out;
	}
	rep->outputs_ok++;
	rc = CA_OK;
	goto out;
 nomem:
	rc = ca_error(CA_ERR_NOMEM, "transcript: out of memory");
 out:
	free(name);
	free(file);
	return rc;
}

int
transcript_verify(struct transcript_report *rep, const char *path,
    EVP_PKEY *pub, unsigned flags)
{
	struct transcript *t = NULL;
	const struct transcript_record *r;
	char spki[FILEIO_SHA256_HEX];
	uint8_t h[FILEIO_SHA256_LEN];
	unsigned char *der = NULL;
	char *tdir = NULL;
	size_t i, j, last_seal = 0;
	int len, rc = CA_ERR_INTERNAL;

	memset(rep, 0, sizeof(*rep));
	if (pub == NULL) {
		rc = ca_error(CA_ERR_USAGE, "%s: verify needs the root's public "
		    "key", path);
		goto out;
	}
	if ((len = i2d_PUBKEY(pub, &der)) <= 0) {
		rc = ca_error_openssl(CA_ERR_INVALID, "root public key");
		goto out;
	}
	if ((rc = fileio_sha256_buf(h, der, (size_t)len)) != CA_OK)
		goto out;
	fileio_hex(spki, h, sizeof(h));
	if ((rc = transcript_load(&t, path)) != CA_OK)
		goto out;
	rep->records = t->nrecords;
	if ((tdir = dir_of(path)) == NULL) {
		rc = ca_error(CA_ERR_NOMEM, "transcript: out of memory");
		goto out;
	}
	for (i = 0; i < t->nrecords; i++) {
		r = &t->records[i];
		if (strcmp(r->step, "seal") == 0) {
			if ((rc = verify_seal(path, t, i, pub, spki)) != CA_OK)
				goto out;
			rep->seals++;
			rep->sealed_through = r->index;
			last_seal = i + 1;
		}
		for (j = 0; j < r->nfields; j++) {
			if (strcmp(r->fields[j].key, "output") != 0)
				continue;
			if ((rc = verify_output(rep, path, tdir, r,
			    r->fields[j].value)) != CA_OK)
				goto out;
		}
	}
	rep->unsealed = t->nrecords - last_seal;
	if (t->nrecords > 0)
		memcpy(rep->last_hash, t->records[t->nrecords - 1].hash,
		    sizeof(rep->last_hash));
	if (t->nrecords == 0) {
		rc = ca_error(CA_ERR_VERIFY, "%s: the transcript is empty",
		    path);
		goto out;
	}
	if (rep->unsealed > 0 && (flags & TRANSCRIPT_ALLOW_UNSEALED) == 0) {
		rc = ca_error(CA_ERR_VERIFY, "%s: records %zu to %zu are not "
		    "sealed by the root key (--allow-unsealed accepts them)",
		    path, last_seal + 1, t->nrecords);
		goto out;
	}
	rc = CA_OK;
 out:
	OPENSSL_free(der);
	free(tdir);
	transcript_free(t);
	return rc;
}
