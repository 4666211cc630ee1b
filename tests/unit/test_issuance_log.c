/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the issuance log (log/issuance_log*.c): schema creation,
 * migration (also of a schema 2 log, rows and chain) and refusal of a newer
 * schema; the reserve/complete cycle and serial collisions; join tokens
 * stored as hashes and consumed exactly once, in the certificate's
 * transaction; revocation; the read-only handle, including one opened
 * after the writer closed.
 * Results are checked through raw SQLite connections, not only through
 * the module. Shared set-up: ilog_fixture.c.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <sodium.h>
#include <sqlite3.h>

#include "common/ca_error.h"
#include "log/issuance_log.h"
#include "log/issuance_log_int.h"
#include "tests/unit/ilog_fixture.h"
#include "tests/unit/unit.h"

static void
test_schema_create_reopen(void)
{
	struct issuance_log *log;

	fresh();
	log = open_log();
	issuance_log_close(log);
	CU_ASSERT_EQUAL(raw_int("PRAGMA user_version"),
	    ISSUANCE_LOG_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(raw_int("PRAGMA application_id"),
	    ISSUANCE_LOG_APPLICATION_ID);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM sqlite_schema WHERE "
	    "name IN ('certificates', 'events', 'join_tokens', "
	    "'seen_instances', 'crl_state')"), 5);
	CU_ASSERT_EQUAL(raw_int("SELECT journal_mode = 'wal' FROM "
	    "pragma_journal_mode"), 1);
	log = open_log();	/* reopening migrates nothing, fails nothing */
	issuance_log_close(log);
	CU_ASSERT_EQUAL(raw_int("PRAGMA user_version"),
	    ISSUANCE_LOG_SCHEMA_VERSION);
	issuance_log_close(NULL);
}

static void
test_migrate_from_v0(void)
{
	struct issuance_log *log = NULL;
	struct issuance_log_reader *r = NULL;

	/* An empty SQLite database at version 0 is migrated. */
	fresh();
	CU_ASSERT_EQUAL(raw_exec("PRAGMA user_version = 0; VACUUM"),
	    SQLITE_OK);
	CU_ASSERT_EQUAL(raw_int("PRAGMA user_version"), 0);
	/* The reader does not migrate: it asks for the issuer to run. */
	CU_ASSERT_EQUAL(issuance_log_reader_open(&r, dbpath),
	    CA_ERR_UNSUPPORTED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "migrate"));
	CU_ASSERT_EQUAL(issuance_log_open(&log, dbpath), CA_OK);
	issuance_log_close(log);
	CU_ASSERT_EQUAL(raw_int("PRAGMA user_version"),
	    ISSUANCE_LOG_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates"), 0);

	/* Someone else's database is refused and left alone. */
	fresh();
	CU_ASSERT_EQUAL(raw_exec("CREATE TABLE t (x)"), SQLITE_OK);
	CU_ASSERT_EQUAL(issuance_log_open(&log, dbpath), CA_ERR_INVALID);
	CU_ASSERT_PTR_NULL(log);
	CU_ASSERT_EQUAL(raw_int("PRAGMA user_version"), 0);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM sqlite_schema"), 1);
}

/*
 * A schema 2 log, made the only way this tree can: a schema 3 log with
 * what migration 2 -> 3 added taken out again, at user_version 2.
 */
static void
test_migrate_from_v2(void)
{
	struct issuance_log *log;
	struct issuance_log_reader *r = NULL;
	struct issuance_cert *c = NULL;
	uint8_t s1[ISSUANCE_LOG_SERIAL_LEN], s2[ISSUANCE_LOG_SERIAL_LEN];

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL_FATAL(issue(log, s1, "CN=before", NULL), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_revoke(log, s1, 4), CA_OK);
	CU_ASSERT_EQUAL_FATAL(issuance_log_reserve(log, s2, kid, sizeof(kid)),
	    CA_OK);
	issuance_log_close(log);
	CU_ASSERT_EQUAL_FATAL(raw_exec("DROP TABLE certificate_selectors; "
	    "DROP INDEX certificates_reserved; "
	    "DROP INDEX certificates_parent; "
	    "ALTER TABLE certificates DROP COLUMN profile; "
	    "ALTER TABLE certificates DROP COLUMN request_hash; "
	    "ALTER TABLE certificates DROP COLUMN parent_serial; "
	    "PRAGMA user_version = 2"), SQLITE_OK);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM pragma_table_info("
	    "'certificates') WHERE name IN ('request_hash', "
	    "'parent_serial')"), 0);

	/* The reader does not migrate; the writer does, keeping the rows. */
	CU_ASSERT_EQUAL(issuance_log_reader_open(&r, dbpath),
	    CA_ERR_UNSUPPORTED);
	log = open_log();
	CU_ASSERT_EQUAL(raw_int("PRAGMA user_version"),
	    ISSUANCE_LOG_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM pragma_table_info("
	    "'certificates') WHERE name IN ('request_hash', "
	    "'parent_serial', 'profile')"), 3);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM sqlite_schema WHERE "
	    "name IN ('certificates_reserved', 'certificates_parent')"), 2);
	CU_ASSERT_EQUAL_FATAL(issuance_log_find(log, &c, s1), CA_OK);
	CU_ASSERT_EQUAL(c->status, ISSUANCE_REVOKED);
	CU_ASSERT_STRING_EQUAL(c->subject, "CN=before");
	CU_ASSERT_PTR_NULL(c->request_hash);
	issuance_cert_free(c);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'reserved'"), 1);
	/* The chain written under schema 2 still verifies, and grows. */
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	CU_ASSERT_EQUAL(issue(log, s2, "CN=after", NULL), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	issuance_log_close(log);
	CU_ASSERT_EQUAL_FATAL(issuance_log_reader_open(&r, dbpath), CA_OK);
	issuance_log_reader_close(r);
}

static void
test_refuse_future(void)
{
	char sql[64];
	struct issuance_log *log = NULL;
	struct issuance_log_reader *r = NULL;

	fresh();
	log = open_log();
	issuance_log_close(log);
	log = NULL;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    ISSUANCE_LOG_SCHEMA_VERSION + 1);
	CU_ASSERT_EQUAL(raw_exec(sql), SQLITE_OK);
	CU_ASSERT_EQUAL(issuance_log_open(&log, dbpath), CA_ERR_UNSUPPORTED);
	CU_ASSERT_PTR_NULL(log);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "newer"));
	CU_ASSERT_EQUAL(issuance_log_reader_open(&r, dbpath),
	    CA_ERR_UNSUPPORTED);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(raw_int("PRAGMA user_version"),
	    ISSUANCE_LOG_SCHEMA_VERSION + 1);
}

static void
test_reserve_complete_find(void)
{
	struct issuance_log *log;
	struct issuance_log_reader *r = NULL;
	struct issuance_cert *c = NULL;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL(issuance_log_reserve(log, serial, kid, sizeof(kid)),
	    CA_OK);
	CU_ASSERT(serial[0] >= 0x40 && serial[0] <= 0x7f);
	CU_ASSERT_EQUAL(issuance_log_find(log, &c, serial), CA_OK);
	CU_ASSERT_EQUAL_FATAL(c != NULL, 1);
	CU_ASSERT_EQUAL(c->status, ISSUANCE_RESERVED);
	CU_ASSERT_PTR_NULL(c->der);
	issuance_cert_free(c);
	c = NULL;

	CU_ASSERT_EQUAL(issue(log, serial, "CN=node7", NULL), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_reader_open(&r, dbpath), CA_OK);
	CU_ASSERT_EQUAL_FATAL(r != NULL, 1);
	CU_ASSERT_EQUAL(issuance_log_reader_find(r, &c, serial), CA_OK);
	CU_ASSERT_EQUAL_FATAL(c != NULL, 1);
	CU_ASSERT_EQUAL(c->status, ISSUANCE_ISSUED);
	CU_ASSERT_EQUAL(memcmp(c->serial, serial, sizeof(serial)), 0);
	CU_ASSERT_STRING_EQUAL(c->subject, "CN=node7");
	CU_ASSERT_STRING_EQUAL(c->names, "DNS:node.example\nIP:192.0.2.7");
	CU_ASSERT_STRING_EQUAL(c->requester, "node7");
	CU_ASSERT_STRING_EQUAL(c->attestation, "x509pop");
	CU_ASSERT_EQUAL(c->der_len, 300);
	CU_ASSERT_EQUAL(c->evidence_len, 32);
	CU_ASSERT_EQUAL(c->issuer_key_id_len, sizeof(kid));
	CU_ASSERT_EQUAL(c->not_after, fake_now + 86400);
	CU_ASSERT_EQUAL(c->issued_at, fake_now);
	CU_ASSERT_EQUAL(c->reason, -1);
	issuance_cert_free(c);
	c = NULL;
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'issued' AND length(der) = 300"), 1);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM events WHERE "
	    "kind = 'issue'"), 1);

	serial[15] ^= 1;
	CU_ASSERT_EQUAL(issuance_log_reader_find(r, &c, serial),
	    CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(c);
	issuance_log_reader_close(r);
	issuance_log_close(log);
}

struct serial_seq {
	uint8_t serials[4][ISSUANCE_LOG_SERIAL_LEN];
	int n, calls;
};

static void
fixed_serials(uint8_t out[ISSUANCE_LOG_SERIAL_LEN], void *arg)
{
	struct serial_seq *s = arg;

	memcpy(out, s->serials[s->calls < s->n ? s->calls : s->n - 1],
	    ISSUANCE_LOG_SERIAL_LEN);
	s->calls++;
}

static void
test_collision_retry(void)
{
	struct issuance_log *log;
	struct serial_seq seq;
	uint8_t a[ISSUANCE_LOG_SERIAL_LEN], b[ISSUANCE_LOG_SERIAL_LEN];

	fresh();
	log = open_log();
	memset(&seq, 0, sizeof(seq));
	memset(seq.serials[0], 0x41, ISSUANCE_LOG_SERIAL_LEN);
	memset(seq.serials[1], 0x41, ISSUANCE_LOG_SERIAL_LEN);
	memset(seq.serials[2], 0x42, ISSUANCE_LOG_SERIAL_LEN);
	seq.n = 3;
	issuance_log_set_serial_fn(log, fixed_serials, &seq);
	CU_ASSERT_EQUAL(issuance_log_reserve(log, a, kid, sizeof(kid)), CA_OK);
	CU_ASSERT_EQUAL(a[0], 0x41);
	/* The second draw collides with the first: a new one is drawn. */
	CU_ASSERT_EQUAL(issuance_log_reserve(log, b, kid, sizeof(kid)), CA_OK);
	CU_ASSERT_EQUAL(b[0], 0x42);
	CU_ASSERT_EQUAL(seq.calls, 3);
	/* A generator stuck on a taken serial gives up, reusing nothing. */
	CU_ASSERT_EQUAL(issuance_log_reserve(log, b, kid, sizeof(kid)),
	    CA_ERR_EXISTS);
	CU_ASSERT_EQUAL(seq.calls, 3 + ISSUANCE_LOG_SERIAL_TRIES);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates"), 2);
	issuance_log_set_serial_fn(log, NULL, NULL);
	CU_ASSERT_EQUAL(issuance_log_reserve(log, b, kid, sizeof(kid)), CA_OK);
	issuance_log_close(log);
}

static void
test_reserved_vs_issued(void)
{
	struct issuance_log *log;
	struct issuance_cert *c = NULL;
	struct issuance_completion req;
	struct issuance_cert in;
	uint8_t s1[ISSUANCE_LOG_SERIAL_LEN], s2[ISSUANCE_LOG_SERIAL_LEN];
	uint8_t der[] = { 0x30, 0x00 };

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL(issue(log, s1, "CN=a", NULL), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_reserve(log, s2, kid, sizeof(kid)),
	    CA_OK);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'reserved' AND der IS NULL"), 1);

	/* Completing twice, or completing an unknown serial, fails. */
	memset(&in, 0, sizeof(in));
	memset(&req, 0, sizeof(req));
	memcpy(in.serial, s1, sizeof(s1));
	in.der = der;
	in.der_len = sizeof(der);
	req.cert = &in;
	CU_ASSERT_EQUAL(issuance_log_complete(log, &req), CA_ERR_EXISTS);
	in.der_len = 0;
	CU_ASSERT_EQUAL(issuance_log_complete(log, &req), CA_ERR_USAGE);
	in.der_len = sizeof(der);
	in.serial[3] ^= 0xff;
	CU_ASSERT_EQUAL(issuance_log_complete(log, &req), CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "not reserved"));

	/* A reservation cannot be revoked; abandoning it keeps it taken. */
	CU_ASSERT_EQUAL(issuance_log_revoke(log, s2, 1), CA_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(issuance_log_abandon(log, s2), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_abandon(log, s2), CA_ERR_EXISTS);
	CU_ASSERT_EQUAL(issuance_log_abandon(log, s1), CA_ERR_EXISTS);
	memcpy(in.serial, s2, sizeof(s2));
	CU_ASSERT_EQUAL(issuance_log_complete(log, &req), CA_ERR_EXISTS);
	CU_ASSERT_EQUAL(issuance_log_find(log, &c, s2), CA_OK);
	CU_ASSERT_EQUAL_FATAL(c != NULL, 1);
	CU_ASSERT_EQUAL(c->status, ISSUANCE_ABANDONED);
	CU_ASSERT_STRING_EQUAL(issuance_status_name(c->status), "abandoned");
	issuance_cert_free(c);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM events"), 1);
	issuance_log_close(log);
}

/* Does the byte string needle occur anywhere in hay? */
static int
contains(const uint8_t *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return 1;
	return 0;
}

static void
test_token_hash_not_secret(void)
{
	static const char secret[] = "s3cr3t-join-token-9f8e7d6c5b4a39281706";
	struct issuance_log *log;
	struct join_token *t = NULL;
	uint8_t h[32], want[32];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	FILE *f;
	uint8_t buf[65536];
	size_t n;
	int i, found = 0, rows = 0;

	fresh();
	log = open_log();
	make_token(log, "t-1", secret, 3600);
	issuance_log_close(log);

	/* The stored hash is BLAKE2b-256 keyed as documented. */
	crypto_generichash(want, sizeof(want), (const uint8_t *)secret,
	    strlen(secret), (const uint8_t *)"carapace join token v1", 22);
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(dbpath, &db), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_prepare_v2(db, "SELECT * FROM join_tokens",
	    -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		rows++;
		for (i = 0; i < sqlite3_column_count(st); i++) {
			const uint8_t *p = sqlite3_column_blob(st, i);
			int len = sqlite3_column_bytes(st, i);

			if (p != NULL && contains(p, (size_t)len, secret))
				found = 1;
			if (strcmp(sqlite3_column_name(st, i),
			    "secret_hash") == 0)
				CU_ASSERT(len == 32 &&
				    memcmp(p, want, 32) == 0);
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	CU_ASSERT_EQUAL(rows, 1);
	CU_ASSERT_EQUAL(found, 0);
	/* Nor anywhere in the database file or its WAL. */
	for (i = 0; i < 2; i++) {
		char p[300];

		snprintf(p, sizeof(p), i == 0 ? "%s" : "%s-wal", dbpath);
		if ((f = fopen(p, "rb")) == NULL)
			continue;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			if (contains(buf, n, "s3cr3t-join"))
				found = 1;
		fclose(f);
	}
	CU_ASSERT_EQUAL(found, 0);

	log = open_log();
	issuance_log_token_hash(h, secret, strlen(secret));
	CU_ASSERT_EQUAL(issuance_log_token_find_hash(log, &t, h), CA_OK);
	CU_ASSERT_EQUAL_FATAL(t != NULL, 1);
	CU_ASSERT_STRING_EQUAL(t->id, "t-1");
	CU_ASSERT_STRING_EQUAL(t->identity, "node7");
	CU_ASSERT_EQUAL(join_token_usable(t, fake_now), CA_OK);
	CU_ASSERT_EQUAL(join_token_usable(t, fake_now + 3600),
	    CA_ERR_EXPIRED);
	join_token_free(t);
	t = NULL;
	h[0] ^= 1;
	CU_ASSERT_EQUAL(issuance_log_token_find_hash(log, &t, h),
	    CA_ERR_NOT_FOUND);
	/* Duplicate id or secret is refused. */
	{
		struct join_token dup;

		memset(&dup, 0, sizeof(dup));
		dup.id = (char *)"t-1";
		issuance_log_token_hash(dup.hash, "other", 5);
		dup.identity = dup.allowed_names = dup.profile = (char *)"x";
		dup.expires_at = fake_now + 10;
		CU_ASSERT_EQUAL(issuance_log_token_create(log, &dup),
		    CA_ERR_EXISTS);
		dup.id = (char *)"t-2";
		issuance_log_token_hash(dup.hash, secret, strlen(secret));
		CU_ASSERT_EQUAL(issuance_log_token_create(log, &dup),
		    CA_ERR_EXISTS);
	}
	issuance_log_close(log);
}


#define RACERS 32

static void
test_consume_once_race(void)
{
	struct issuance_log *log;
	struct racer rs[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t barrier;
	struct join_token *t = NULL;
	int i, ok = 0, denied = 0, winner = -1;

	fresh();
	log = open_log();
	make_token(log, "t-race", "race secret", 600);
	pthread_barrier_init(&barrier, NULL, RACERS);
	for (i = 0; i < RACERS; i++) {
		memset(&rs[i], 0, sizeof(rs[i]));
		rs[i].log = log;
		rs[i].barrier = &barrier;
		rs[i].token_id = "t-race";
		CU_ASSERT_EQUAL_FATAL(issuance_log_reserve(log, rs[i].serial,
		    kid, sizeof(kid)), CA_OK);
	}
	for (i = 0; i < RACERS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL,
		    race_consume, &rs[i]), 0);
	for (i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (i = 0; i < RACERS; i++) {
		if (rs[i].rc == CA_OK) {
			ok++;
			winner = i;
		} else if (rs[i].rc == CA_ERR_DENIED)
			denied++;
	}
	CU_ASSERT_EQUAL(ok, 1);
	CU_ASSERT_EQUAL(denied, RACERS - 1);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'issued'"), 1);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'reserved'"), RACERS - 1);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM events WHERE "
	    "kind = 'token-consume'"), 1);
	CU_ASSERT_EQUAL(issuance_log_token_find(log, &t, "t-race"), CA_OK);
	CU_ASSERT_EQUAL_FATAL(t != NULL && winner >= 0, 1);
	CU_ASSERT(t->used_at != 0);
	CU_ASSERT_EQUAL(memcmp(t->used_serial, rs[winner].serial,
	    ISSUANCE_LOG_SERIAL_LEN), 0);
	join_token_free(t);
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	issuance_log_close(log);
}

static void
test_refused_does_not_consume(void)
{
	struct issuance_log *log;
	struct issuance_completion req;
	struct issuance_cert c;
	struct join_token *t = NULL;
	uint8_t s1[ISSUANCE_LOG_SERIAL_LEN], s2[ISSUANCE_LOG_SERIAL_LEN];
	uint8_t seen[ISSUANCE_LOG_SERIAL_LEN];
	uint8_t der[] = { 0x30, 0x00 };

	fresh();
	log = open_log();
	make_token(log, "t-keep", "keep secret", 600);
	CU_ASSERT_EQUAL(issuance_log_reserve(log, s1, kid, sizeof(kid)),
	    CA_OK);
	CU_ASSERT_EQUAL(issuance_log_reserve(log, s2, kid, sizeof(kid)),
	    CA_OK);
	memset(&c, 0, sizeof(c));
	memset(&req, 0, sizeof(req));
	c.der = der;
	c.der_len = sizeof(der);
	req.cert = &c;

	/* Instance i-123 is accepted once ... */
	memcpy(c.serial, s1, sizeof(s1));
	req.seen_kind = "iid:test";
	req.seen_id = "i-123";
	CU_ASSERT_EQUAL(issuance_log_seen(log, NULL, "iid:test", "i-123"),
	    CA_OK);
	CU_ASSERT_EQUAL(issuance_log_complete(log, &req), CA_OK);
	memset(seen, 0, sizeof(seen));
	CU_ASSERT_EQUAL(issuance_log_seen(log, seen, "iid:test", "i-123"),
	    CA_ERR_DENIED);
	/* ... and names the certificate it was accepted for ... */
	CU_ASSERT_EQUAL(memcmp(seen, s1, sizeof(s1)), 0);
	/* ... so a request with a good token and a replayed instance is
	 * refused after the token update ran, and the token survives. */
	memcpy(c.serial, s2, sizeof(s2));
	req.token_id = "t-keep";
	CU_ASSERT_EQUAL(issuance_log_complete(log, &req), CA_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "i-123"));
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM join_tokens WHERE "
	    "used_at IS NULL"), 1);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "status = 'reserved'"), 1);

	/* An expired token is refused and stays unused. */
	req.seen_kind = req.seen_id = NULL;
	__atomic_add_fetch(&fake_now, 601, __ATOMIC_SEQ_CST);
	CU_ASSERT_EQUAL(issuance_log_complete(log, &req), CA_ERR_EXPIRED);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "expired"));
	__atomic_sub_fetch(&fake_now, 601, __ATOMIC_SEQ_CST);
	/* A revoked token is refused. */
	CU_ASSERT_EQUAL(issuance_log_token_revoke(log, "t-keep"), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_token_revoke(log, "t-keep"),
	    CA_ERR_EXISTS);
	CU_ASSERT_EQUAL(issuance_log_complete(log, &req), CA_ERR_DENIED);
	CU_ASSERT_EQUAL(issuance_log_token_find(log, &t, "t-keep"), CA_OK);
	CU_ASSERT_EQUAL_FATAL(t != NULL, 1);
	CU_ASSERT_EQUAL(t->used_at, 0);
	CU_ASSERT(t->revoked_at != 0);
	join_token_free(t);
	/* An unknown token too; the serial is still reserved after all. */
	req.token_id = "t-nope";
	CU_ASSERT_EQUAL(issuance_log_complete(log, &req), CA_ERR_DENIED);
	req.token_id = NULL;
	CU_ASSERT_EQUAL(issuance_log_complete(log, &req), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_verify(log, &(struct
	    issuance_verify_report){ 0 }), CA_OK);
	issuance_log_close(log);
}

static int
count_revoked(const struct issuance_revoked *rv, void *arg)
{
	int *n = arg;

	if (rv->reason == ISSUANCE_REASON_KEY_COMPROMISE)
		(*n)++;
	return 0;
}

static int
count_certs(const struct issuance_cert *c, void *arg)
{
	int *n = arg;

	if (c->der == NULL)
		(*n)++;
	return 0;
}

static void
test_revocation_and_crl(void)
{
	struct issuance_log *log;
	struct issuance_log_reader *r = NULL;
	struct issuance_cert *c = NULL;
	uint8_t s1[ISSUANCE_LOG_SERIAL_LEN], s2[ISSUANCE_LOG_SERIAL_LEN];
	int64_t num = 0;
	int n = 0;

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL(issue(log, s1, "CN=a", NULL), CA_OK);
	CU_ASSERT_EQUAL(issue(log, s2, "CN=b", NULL), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_revoke(log, s1, 7), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(issuance_log_revoke(log, s1, 6), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(issuance_log_revoke(log, s1, 11), CA_ERR_INVALID);
	CU_ASSERT_EQUAL(issuance_log_revoke(log, s1,
	    ISSUANCE_REASON_KEY_COMPROMISE), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_revoke(log, s1, 4), CA_ERR_EXISTS);
	CU_ASSERT_EQUAL(issuance_log_crl_number_next(log, &num, kid,
	    sizeof(kid)), CA_OK);
	CU_ASSERT_EQUAL(num, 1);
	CU_ASSERT_EQUAL(issuance_log_crl_number_next(log, &num, kid,
	    sizeof(kid)), CA_OK);
	CU_ASSERT_EQUAL(num, 2);
	CU_ASSERT_EQUAL(issuance_log_crl_number_next(log, &num, kid, 3),
	    CA_OK);
	CU_ASSERT_EQUAL(num, 1);

	CU_ASSERT_EQUAL_FATAL(issuance_log_reader_open(&r, dbpath), CA_OK);
	CU_ASSERT_EQUAL(issuance_log_reader_find(r, &c, s1), CA_OK);
	CU_ASSERT_EQUAL_FATAL(c != NULL, 1);
	CU_ASSERT_EQUAL(c->status, ISSUANCE_REVOKED);
	CU_ASSERT_EQUAL(c->revoked_at, fake_now);
	CU_ASSERT_EQUAL(c->reason, ISSUANCE_REASON_KEY_COMPROMISE);
	CU_ASSERT_PTR_NOT_NULL(c->der);
	issuance_cert_free(c);
	CU_ASSERT_EQUAL(issuance_log_reader_revoked(r, kid, sizeof(kid),
	    count_revoked, &n), CA_OK);
	CU_ASSERT_EQUAL(n, 1);
	n = 0;
	CU_ASSERT_EQUAL(issuance_log_reader_revoked(r, kid, 3,
	    count_revoked, &n), CA_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(issuance_log_reader_foreach(r, count_certs, &n),
	    CA_OK);
	CU_ASSERT_EQUAL(n, 2);
	n = 0;
	CU_ASSERT_EQUAL(issuance_log_foreach(log, count_certs, &n), CA_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(issuance_log_reader_crl_number(r, &num, kid,
	    sizeof(kid)), CA_OK);
	CU_ASSERT_EQUAL(num, 2);
	issuance_log_reader_close(r);
	CU_ASSERT_EQUAL(raw_int("SELECT revocation_reason FROM certificates "
	    "WHERE status = 'revoked'"), 1);
	issuance_log_close(log);
}

static void
test_readonly_cannot_write(void)
{
	struct issuance_log *log;
	struct issuance_log_reader *r = NULL;
	uint8_t s[ISSUANCE_LOG_SERIAL_LEN];
	sqlite3 *db;
	int rc;

	fresh();
	CU_ASSERT_EQUAL(issuance_log_reader_open(&r, dbpath), CA_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(ca_error_detail(), "carapace log init"));
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(access(dbpath, F_OK), -1);	/* not created */
	log = open_log();
	CU_ASSERT_EQUAL(issue(log, s, "CN=a", NULL), CA_OK);
	CU_ASSERT_EQUAL_FATAL(issuance_log_reader_open(&r, dbpath), CA_OK);
	db = issuance_log_reader_db(r);
	CU_ASSERT_EQUAL(sqlite3_db_readonly(db, "main"), 1);
	rc = sqlite3_exec(db, "UPDATE certificates SET subject = 'x'", NULL,
	    NULL, NULL);
	CU_ASSERT_EQUAL(rc & 0xff, SQLITE_READONLY);
	rc = sqlite3_exec(db, "PRAGMA query_only = OFF; "
	    "DELETE FROM certificates", NULL, NULL, NULL);
	CU_ASSERT_EQUAL(rc & 0xff, SQLITE_READONLY);
	issuance_log_reader_close(r);
	CU_ASSERT_EQUAL(raw_int("SELECT count(*) FROM certificates WHERE "
	    "subject = 'CN=a'"), 1);
	issuance_log_close(log);
}

/* A log with 4 certificates, 1 revocation and tokens, for tampering. */

/*
 * The writer keeps its -wal and -shm files when it closes, so that the
 * read-only consumers (OCSP, CRL) can open the log from a directory they
 * may not write, even while the issuer is stopped.
 */
static void
test_wal_kept_for_readers(void)
{
	struct issuance_log *log;
	struct issuance_log_reader *r = NULL;
	uint8_t serial[ISSUANCE_LOG_SERIAL_LEN];
	char p[300];

	fresh();
	log = open_log();
	CU_ASSERT_EQUAL_FATAL(issue(log, serial, "CN=kept", NULL), CA_OK);
	issuance_log_close(log);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	CU_ASSERT_EQUAL(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	CU_ASSERT_EQUAL(access(p, F_OK), 0);
	CU_ASSERT_EQUAL_FATAL(issuance_log_reader_open(&r, dbpath), CA_OK);
	issuance_log_reader_close(r);
}

static CU_TestInfo tests[] = {
	{ "schema_create_reopen", test_schema_create_reopen },
	{ "migrate_from_v0", test_migrate_from_v0 },
	{ "migrate_from_v2", test_migrate_from_v2 },
	{ "refuse_future_version", test_refuse_future },
	{ "reserve_complete_find", test_reserve_complete_find },
	{ "collision_retry", test_collision_retry },
	{ "reserved_vs_issued", test_reserved_vs_issued },
	{ "token_hash_not_secret", test_token_hash_not_secret },
	{ "consume_once_race", test_consume_once_race },
	{ "refused_does_not_consume", test_refused_does_not_consume },
	{ "revocation_and_crl", test_revocation_and_crl },
	{ "readonly_cannot_write", test_readonly_cannot_write },
	{ "wal_kept_for_readers", test_wal_kept_for_readers },
	CU_TEST_INFO_NULL,
};

UNIT_MAIN_FIXTURE("issuance_log", NULL, ilog_fixture_cleanup, tests)
