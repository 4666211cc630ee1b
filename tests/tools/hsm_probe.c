/* SPDX-License-Identifier: ISC */
/*
 * hsm_probe: a small driver for the hsm/ integration tests. It runs one
 * library call per subcommand against a real module (SoftHSM in the tests)
 * and prints the result or the error detail, so that shell scripts can
 * check the outcome with tools nobody here wrote (openssl, pkcs11-tool).
 * PINs come from the URI's pin-source or from -p SOURCE (file:PATH or
 * env:NAME), never from the command line itself. With -P the first line of
 * standard input is read into sodium memory and handed to hsm/ as a struct
 * hsm_pin (hsm_pin_take and the *_pin calls), the way the ceremony passes a
 * PIN typed at the terminal.
 *
 * -i ARGS passes module init args (NSS softokn needs them). keygen prints
 * what hsm_keygen_ex found (token, template attribute dropped, attributes
 * read back, the wrap probe); -r makes it refuse a key the probe exported.
 *
 *   hsm_probe [-m MODULE] [-p PINSRC|-P] [-u] keygen URI TYPE PUB.pem
 *   hsm_probe [-m MODULE] [-p PINSRC|-P] [-u] sign URI DATA SIG PUB.pem
 *   hsm_probe [-m MODULE] [-p PINSRC|-P] [-u] threads URI N
 *   hsm_probe [-m MODULE] [-p PINSRC|-P] [-u] loss-loop URI DATA CTLDIR
 *   hsm_probe [-m MODULE] [-p PINSRC|-P] inventory [TOKEN-URI]
 *
 * loss-loop opens the key once, then for n = 1, 2, ... waits until
 * CTLDIR/go.n exists, signs DATA, writes CTLDIR/sig.n on success and
 * CTLDIR/result.n ("ok" or "error NAME: detail"); CTLDIR/stop ends it.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <sodium.h>

#include "hsm/hsm.h"

#define PROBE_PIN_MAX	256

/* -P: the PIN read from standard input, else NULL (use the source). */
static struct hsm_pin *stdin_pin;

/* pin_stdin reads one line of standard input into a struct hsm_pin. */
static int
pin_stdin(struct hsm_pin **out)
{
	char *buf;
	size_t n = 0;
	ssize_t r;
	char ch;

	*out = NULL;
	if (sodium_init() < 0 ||
	    (buf = sodium_malloc(PROBE_PIN_MAX + 2)) == NULL)
		return ca_error(CA_ERR_NOMEM, "PIN: no secure memory");
	for (;;) {
		r = read(STDIN_FILENO, &ch, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		if (n == PROBE_PIN_MAX + 1)
			break;	/* hsm_pin_take refuses it as too long */
		buf[n++] = ch;
	}
	ch = 0;
	buf[n] = '\0';
	return hsm_pin_take(out, buf);	/* owns buf now */
}

static int
probe_key_open(struct hsm_key **out, struct hsm *h, const char *uri,
    const char *pin)
{
	if (stdin_pin != NULL)
		return hsm_key_open_pin(out, h, uri, stdin_pin);
	return hsm_key_open(out, h, uri, pin);
}

/* -r: refuse a key the wrap probe could export. */
static unsigned int keygen_flags;
static struct hsm_keygen_info keygen_info;

static int
probe_keygen(EVP_PKEY **pub, struct hsm *h, const char *uri,
    const char *pin, enum hsm_key_type t)
{
	struct hsm_pin *p = NULL;
	int rc;

	if (stdin_pin != NULL)
		return hsm_keygen_ex(pub, &keygen_info, h, uri, stdin_pin, t,
		    keygen_flags);
	if (pin == NULL && keygen_flags == 0)
		return hsm_keygen(pub, h, uri, pin, t);
	if (pin != NULL && (rc = hsm_pin_from_source(&p, pin)) != CA_OK)
		return rc;
	rc = hsm_keygen_ex(pub, &keygen_info, h, uri, p, t, keygen_flags);
	hsm_pin_destroy(p);
	return rc;
}

static int
probe_inventory(struct hsm_inventory **out, struct hsm *h, const char *uri,
    const char *pin)
{
	if (stdin_pin != NULL)
		return hsm_inventory_pin(out, h, uri, stdin_pin);
	return hsm_inventory(out, h, uri, pin);
}

struct sign_job {
	const unsigned char *data;
	size_t len;
	unsigned char sig[1024];
	size_t siglen;
};

static int
sign_cb(EVP_PKEY *pkey, void *arg)
{
	struct sign_job *j = arg;
	EVP_MD_CTX *md;
	int ok = 0;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return 0;
	j->siglen = sizeof(j->sig);
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	    EVP_DigestSign(md, j->sig, &j->siglen, j->data, j->len) == 1)
		ok = 1;
	EVP_MD_CTX_free(md);
	return ok;
}

static int
fail(const char *what, int rc)
{
	fprintf(stderr, "hsm_probe: %s: %s: %s\n", what, ca_strerror(rc),
	    ca_error_detail());
	return 1;
}

static int
write_file(const char *path, const void *buf, size_t len)
{
	FILE *f;
	int ok;

	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	ok = fwrite(buf, 1, len, f) == len;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int
write_pub(const char *path, EVP_PKEY *pub)
{
	FILE *f;
	int ok;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	ok = PEM_write_PUBKEY(f, pub);
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	FILE *f;
	unsigned char *buf;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if ((buf = malloc(65536)) != NULL)
		*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static int
cmd_keygen(struct hsm *h, const char *pin, char **av)
{
	enum hsm_key_type t;
	EVP_PKEY *pub = NULL, *pub2 = NULL;
	struct hsm_key *k = NULL;
	struct sign_job j;
	int rc, same;

	if ((rc = hsm_key_type_parse(&t, av[1])) != CA_OK)
		return fail("keygen", rc);
	rc = probe_keygen(&pub, h, av[0], pin, t);
	printf("keygen: %s; hardware %d; dropped \"%s\"; sensitive %d "
	    "extractable %d always_sensitive %d never_extractable %d; "
	    "wrap probe %s: %s\n", keygen_info.token, keygen_info.hardware,
	    keygen_info.dropped, keygen_info.sensitive,
	    keygen_info.extractable, keygen_info.always_sensitive,
	    keygen_info.never_extractable,
	    hsm_wrap_probe_name(keygen_info.probe), keygen_info.probe_detail);
	if (rc != CA_OK)
		return fail("keygen", rc);
	rc = write_pub(av[2], pub);
	if (rc != 0) {
		EVP_PKEY_free(pub);
		return fail("keygen: writing the public key", CA_ERR_IO);
	}
	/* The ceremony signs with the new key in the same process. */
	j.data = (const unsigned char *)"keygen";
	j.len = 6;
	if ((rc = probe_key_open(&k, h, av[0], pin)) != CA_OK ||
	    (rc = hsm_key_sign(k, sign_cb, &j)) != CA_OK ||
	    (rc = hsm_key_public(&pub2, k)) != CA_OK) {
		EVP_PKEY_free(pub);
		hsm_key_free(k);
		return fail("keygen: opening the new key", rc);
	}
	same = EVP_PKEY_eq(pub, pub2) == 1;
	EVP_PKEY_free(pub);
	EVP_PKEY_free(pub2);
	hsm_key_free(k);
	if (!same)
		return fail("keygen: the opened key differs", CA_ERR_VERIFY);
	printf("keygen: %s ok\n", hsm_key_type_name(t));
	return 0;
}

static int
cmd_sign(struct hsm *h, const char *pin, char **av)
{
	struct hsm_key *k = NULL;
	struct sign_job j;
	EVP_PKEY *pub = NULL;
	unsigned char *data;
	int rc, ret = 1;

	if ((data = read_file(av[1], &j.len)) == NULL)
		return fail(av[1], CA_ERR_IO);
	j.data = data;
	if ((rc = probe_key_open(&k, h, av[0], pin)) != CA_OK) {
		fail("open", rc);
		goto out;
	}
	if ((rc = hsm_key_sign(k, sign_cb, &j)) != CA_OK) {
		fail("sign", rc);
		goto out;
	}
	if ((rc = hsm_key_public(&pub, k)) != CA_OK) {
		fail("public", rc);
		goto out;
	}
	if (write_file(av[2], j.sig, j.siglen) != 0 ||
	    write_pub(av[3], pub) != 0) {
		fail("writing outputs", CA_ERR_IO);
		goto out;
	}
	if (hsm_key_unsafe(k) != NULL)
		printf("sign: unsafe key: %s\n", hsm_key_unsafe(k));
	printf("sign: ok (token \"%s\", serial %s)\n", hsm_key_token_label(k),
	    hsm_key_token_serial(k));
	ret = 0;
 out:
	EVP_PKEY_free(pub);
	hsm_key_free(k);
	free(data);
	return ret;
}

struct thr {
	struct hsm_key *k;
	int n, failed;
};

static void *
thr_main(void *arg)
{
	struct thr *t = arg;
	struct sign_job j;
	int i;

	j.data = (const unsigned char *)"threads";
	j.len = 7;
	for (i = 0; i < t->n; i++)
		if (hsm_key_sign(t->k, sign_cb, &j) != CA_OK)
			t->failed++;
	return NULL;
}

static int
cmd_threads(struct hsm *h, const char *pin, char **av)
{
	struct hsm_key *k = NULL;
	pthread_t tid[4];
	struct thr t[4];
	int i, rc, failed = 0;

	if ((rc = probe_key_open(&k, h, av[0], pin)) != CA_OK)
		return fail("open", rc);
	for (i = 0; i < 4; i++) {
		t[i].k = k;
		t[i].n = atoi(av[1]);
		t[i].failed = 0;
		if (pthread_create(&tid[i], NULL, thr_main, &t[i]) != 0)
			abort();
	}
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		failed += t[i].failed;
	}
	hsm_key_free(k);
	printf("threads: 4 x %s signatures, %d failed\n", av[1], failed);
	return failed != 0;
}

static int
cmd_loss_loop(struct hsm *h, const char *pin, char **av)
{
	struct hsm_key *k = NULL;
	struct sign_job j;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	char path[4096], msg[2048];
	unsigned char *data;
	int n, rc, waited;

	if ((data = read_file(av[1], &j.len)) == NULL)
		return fail(av[1], CA_ERR_IO);
	j.data = data;
	if ((rc = probe_key_open(&k, h, av[0], pin)) != CA_OK) {
		free(data);
		return fail("open", rc);
	}
	for (n = 1;; n++) {
		for (waited = 0;; waited++) {
			snprintf(path, sizeof(path), "%s/stop", av[2]);
			if (access(path, F_OK) == 0 || waited > 3000)
				goto done;
			snprintf(path, sizeof(path), "%s/go.%d", av[2], n);
			if (access(path, F_OK) == 0)
				break;
			nanosleep(&ts, NULL);
		}
		rc = hsm_key_sign(k, sign_cb, &j);
		if (rc == CA_OK) {
			snprintf(path, sizeof(path), "%s/sig.%d", av[2], n);
			(void)write_file(path, j.sig, j.siglen);
			snprintf(msg, sizeof(msg), "ok\n");
		} else {
			snprintf(msg, sizeof(msg), "error %s: %s\n",
			    ca_strerror(rc), ca_error_detail());
		}
		snprintf(path, sizeof(path), "%s/result.%d", av[2], n);
		(void)write_file(path, msg, strlen(msg));
	}
 done:
	hsm_key_free(k);
	free(data);
	return 0;
}

static const char *
tri(int v)
{
	return v < 0 ? "?" : v ? "yes" : "no";
}

static int
cmd_inventory(struct hsm *h, const char *pin, char **av, int ac)
{
	struct hsm_inventory *inv;
	struct hsm_inv_token *t;
	struct hsm_inv_key *k;
	size_t i, j;
	int rc;

	if ((rc = probe_inventory(&inv, h, ac > 0 ? av[0] : NULL, pin)) != CA_OK)
		return fail("inventory", rc);
	printf("module: %s (%s)\n", inv->module_description,
	    inv->module_manufacturer);
	for (i = 0; i < inv->ntokens; i++) {
		t = &inv->tokens[i];
		printf("slot %lu: %s\n", t->slot_id, t->slot_description);
		if (!t->token_present || !t->initialized)
			continue;
		printf("  token \"%s\" serial %s manufacturer \"%s\" model "
		    "\"%s\" keys_listed=%d\n", t->label, t->serial,
		    t->manufacturer, t->model, t->keys_listed);
		for (j = 0; j < t->nkeys; j++) {
			k = &t->keys[j];
			printf("    %s key \"%s\" id %s %s", k->is_private ?
			    "private" : "public", k->label, k->id_hex, k->type);
			if (k->is_private)
				printf(" sensitive=%s always_sensitive=%s "
				    "extractable=%s never_extractable=%s "
				    "sign=%s decrypt=%s unwrap=%s derive=%s",
				    tri(k->sensitive), tri(k->always_sensitive),
				    tri(k->extractable),
				    tri(k->never_extractable), tri(k->sign),
				    tri(k->decrypt), tri(k->unwrap),
				    tri(k->derive));
			printf("\n");
		}
	}
	hsm_inventory_free(inv);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: hsm_probe [-i init-args] [-m module] [-p pin-source | -P] [-r] [-u] "
	    "keygen|sign|threads|loss-loop|inventory args...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct hsm_config cfg = { 0 };
	struct hsm *h = NULL;
	const char *pin = NULL, *cmd;
	int c, rc, ret, pin_in = 0;

	cfg.module = getenv("SOFTHSM2_MODULE");
	while ((c = getopt(argc, argv, "i:m:p:Pru")) != -1) {
		switch (c) {
		case 'r':
			keygen_flags |= HSM_KEYGEN_PROBE_REQUIRED;
			break;
		case 'i':
			cfg.init_args = optarg;
			break;
		case 'm':
			cfg.module = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'P':
			pin_in = 1;
			break;
		case 'u':
			cfg.allow_unsafe_keys = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	argc--;
	argv++;
	if (pin_in && (rc = pin_stdin(&stdin_pin)) != CA_OK)
		return fail("PIN from standard input", rc);
	if ((rc = hsm_open(&h, &cfg)) != CA_OK) {
		hsm_pin_destroy(stdin_pin);
		return fail("open module", rc);
	}
	if (strcmp(cmd, "keygen") == 0 && argc == 3)
		ret = cmd_keygen(h, pin, argv);
	else if (strcmp(cmd, "sign") == 0 && argc == 4)
		ret = cmd_sign(h, pin, argv);
	else if (strcmp(cmd, "threads") == 0 && argc == 2)
		ret = cmd_threads(h, pin, argv);
	else if (strcmp(cmd, "loss-loop") == 0 && argc == 3)
		ret = cmd_loss_loop(h, pin, argv);
	else if (strcmp(cmd, "inventory") == 0 && argc <= 1)
		ret = cmd_inventory(h, pin, argv, argc);
	else {
		hsm_free(h);
		hsm_pin_destroy(stdin_pin);
		usage();
		return 2;
	}
	hsm_free(h);
	hsm_pin_destroy(stdin_pin);
	return ret;
}
