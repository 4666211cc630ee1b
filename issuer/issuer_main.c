/* SPDX-License-Identifier: ISC */
/*
 * carapace-issuer: the online issuing CA daemon (carapace-issuer(8)).
 *
 *   carapace-issuer [-c FILE]            serve in the foreground
 *   carapace-issuer [-c FILE] -n         check the configuration, key,
 *                                        profiles and log, then exit
 *   carapace-issuer [-c FILE] csr -o OUT write the intermediate's CSR
 *
 * Startup: read the configuration, open the HSM key (after any fork; this
 * program never forks), check that its public key matches the
 * intermediate certificate (signer_new_hsm), open the issuance log
 * (migrated if needed; never created: `carapace log init` does that; a log
 * that is gone, or older than its recorded head, stops the start), claim
 * it and resolve the serials a crash left reserved
 * (issuance_log_recover), compile the profiles and policy, bind the
 * listeners, then serve until SIGTERM or SIGINT, which drain the requests
 * in flight, record the chain head and close the log (the head is also
 * recorded every HEAD_SAVE_SECS). Exit 0 on a clean shutdown, 1 on a
 * runtime failure, 2 on a usage or configuration error.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/general_name.h"
#include "log/issuance_log.h"
#include "common/log.h"
#include "common/module_config.h"
#include "common/profile.h"
#include "common/secure.h"
#include "hsm/hsm.h"
#include "issuer/handler.h"
#include "issuer/issuer_config.h"
#include "issuer/leaf_profile.h"
#include "issuer/server.h"
#include "issuer/signer.h"

#define PROG		"carapace-issuer"
#define DEFAULT_CONFIG	SYSCONFDIR "/carapace/issuer.cnf"
/* How often the chain head is recorded in the head state file. */
#define HEAD_SAVE_SECS	10

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c FILE]             serve (foreground)\n"
	    "       " PROG " [-c FILE] -n          check the configuration, "
	    "key, profiles and log\n"
	    "       " PROG " [-c FILE] csr -o OUT  write the intermediate's "
	    "CSR (PEM)\n"
	    "       " PROG " -h | -V\n"
	    "Default FILE: " DEFAULT_CONFIG "\n");
}

/* exit_code: configuration problems are 2, everything else 1. */
static int
exit_code(int rc)
{
	return rc == CA_ERR_CONFIG || rc == CA_ERR_USAGE ? EXIT_USAGE :
	    EXIT_RUNTIME;
}

static int
read_cert(X509 **out, const char *path)
{
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	if ((rc = fileio_read(&buf, &len, path, FILEIO_MAX_SMALL)) != CA_OK)
		return rc;
	rc = profile_cert_read(out, buf, len, path);
	free(buf);
	return rc;
}

struct csr_sign {
	X509_REQ *req;
	const EVP_MD *md;
};

static int
csr_sign_cb(EVP_PKEY *pkey, void *arg)
{
	struct csr_sign *cs = arg;

	return X509_REQ_sign(cs->req, pkey, cs->md) > 0 ? 1 : 0;
}

/*
 * cmd_csr writes a PKCS#10 request for the HSM key, with the subject of
 * the csr_subject section (one RDN per line, in order), signed inside the
 * HSM. It refuses to overwrite out.
 */
static int
cmd_csr(const struct issuer_config *cfg, struct hsm_key *key,
    const char *outpath)
{
	struct csr_sign cs = { NULL, NULL };
	X509_NAME *name = NULL;
	EVP_PKEY *pub = NULL;
	BIO *b = NULL;
	BUF_MEM *mem;
	const char *k, *v;
	size_t i, n;
	int rc = CA_ERR_INTERNAL;

	if (cfg->csr_subject == NULL) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [issuer] csr_subject: "
		    "missing (a section of RDNs, e.g. CN = Example Issuing CA)",
		    config_path(cfg->conf));
		goto out;
	}
	if ((rc = hsm_key_public(&pub, key)) != CA_OK)
		goto out;
	rc = CA_ERR_NOMEM;
	if ((cs.req = X509_REQ_new()) == NULL ||
	    (name = X509_NAME_new()) == NULL)
		goto out;
	n = config_section_count(cfg->conf, cfg->csr_subject);
	for (i = 0; i < n; i++) {
		if (config_section_item(&k, &v, cfg->conf, cfg->csr_subject,
		    i) != 0)
			continue;
		if (X509_NAME_add_entry_by_txt(name, k, MBSTRING_UTF8,
		    (const unsigned char *)v, -1, -1, 0) != 1) {
			rc = ca_error_openssl(CA_ERR_CONFIG, "%s: [%s] %s: not "
			    "a valid attribute", config_path(cfg->conf),
			    cfg->csr_subject, k);
			goto out;
		}
	}
	if (X509_NAME_entry_count(name) == 0) {
		rc = ca_error(CA_ERR_CONFIG, "%s: [%s]: empty subject",
		    config_path(cfg->conf), cfg->csr_subject);
		goto out;
	}
	if (X509_REQ_set_version(cs.req, 0) != 1 ||
	    X509_REQ_set_subject_name(cs.req, name) != 1 ||
	    X509_REQ_set_pubkey(cs.req, pub) != 1)
		goto out;
	cs.md = EVP_PKEY_get_bits(pub) > 256 && EVP_PKEY_is_a(pub, "EC") ?
	    EVP_sha384() : EVP_sha256();
	if ((rc = hsm_key_sign(key, csr_sign_cb, &cs)) != CA_OK)
		goto out;
	if (X509_REQ_verify(cs.req, pub) != 1) {
		rc = ca_error_openssl(CA_ERR_VERIFY, "the CSR signed by the "
		    "HSM does not verify");
		goto out;
	}
	rc = CA_ERR_NOMEM;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(b, cs.req) != 1)
		goto out;
	BIO_get_mem_ptr(b, &mem);
	if ((rc = fileio_create(outpath, mem->data, mem->length, 0644)) !=
	    CA_OK)
		goto out;
	fprintf(stderr, PROG ": wrote %s\n", outpath);
	rc = CA_OK;
 out:
	BIO_free(b);
	X509_NAME_free(name);
	X509_REQ_free(cs.req);
	EVP_PKEY_free(pub);
	return rc;
}

/*
 * log_head says which chain head the log opened at, and warns when there
 * was no head state file to check it against.
 */
static void
log_head(struct issuance_log *log, const char *path)
{
	struct issuance_log_head h;
	char hex[2 * ISSUANCE_LOG_HASH_LEN + 1];

	if (issuance_log_head_save(log, &h) != CA_OK) {
		log_warn("%s: could not record the chain head: %s", path,
		    ca_error_detail());
		return;
	}
	if (issuance_log_head_adopted(log))
		log_warn("%s: there was no %s" ISSUANCE_LOG_HEAD_SUFFIX
		    " (a log from before head state files, or the file was "
		    "removed), so this log could not be checked against the "
		    "head last seen; recording its head, entry %lld, from now "
		    "on", path, path, (long long)h.seq);
	log_info("issuance log %s: head entry %lld (%s), recorded in %s"
	    ISSUANCE_LOG_HEAD_SUFFIX, path, (long long)h.seq,
	    fileio_hex(hex, h.hash, sizeof(h.hash)), path);
}

/* What local_url_warn needs to name the place it warns about. */
struct url_warn {
	const char *profile;
	int count;
};

static int
local_url_warn(const char *uri, void *arg)
{
	struct url_warn *w = arg;

	if (general_name_uri_local(uri)) {
		log_warn("[%s]: %s is reachable only from this host (loopback, "
		    "link-local or file:); relying parties elsewhere cannot "
		    "fetch it: give the profile a public URL in "
		    "authorityInfoAccess and crlDistributionPoints",
		    w->profile, uri);
		w->count++;
	}
	return 0;
}

/*
 * warn_local_urls warns for every OCSP, caIssuers or CRL URL the leaf
 * profiles put in certificates that only this host can reach (issue 19):
 * fine for a demo, an outage for anyone else. Returns how many.
 */
static int
warn_local_urls(const struct handler *h)
{
	struct url_warn w;
	size_t i;
	int j, total = 0;

	for (i = 0; i < h->nprofiles; i++) {
		w.profile = h->profiles[i]->name;
		w.count = 0;
		for (j = 0; j < sk_X509_EXTENSION_num(h->profiles[i]->exts);
		    j++)
			(void)general_name_ext_uris(sk_X509_EXTENSION_value(
			    h->profiles[i]->exts, j), local_url_warn, &w);
		total += w.count;
	}
	return total;
}

/*
 * check_only is serve's -n: everything serve checks before it binds a
 * listener (key and certificate, profiles, policy, the log read-only with
 * its head state), without writing anything.
 */
static int
check_only(const struct issuer_config *cfg, struct hsm_key *key)
{
	struct signer *signer = NULL;
	struct issuance_log_reader *r = NULL;
	struct handler *h = NULL;
	X509 *inter = NULL;
	size_t i;
	int rc, warnings;

	if ((rc = read_cert(&inter, cfg->certificate)) != CA_OK ||
	    (rc = signer_new_hsm(&signer, inter, key)) != CA_OK)
		goto out;
	for (i = 0; i < cfg->nprofiles; i++)
		if ((rc = signer_add_profile(signer, cfg->conf,
		    cfg->profiles[i])) != CA_OK)
			goto out;
	if ((rc = issuance_log_reader_open(&r, cfg->log)) != CA_OK ||
	    (rc = handler_new(&h, cfg, signer, NULL, inter)) != CA_OK)
		goto out;
	warnings = warn_local_urls(h);
	log_info("%s: configuration, key, profiles and log are usable (%d "
	    "warning%s)", config_path(cfg->conf), warnings,
	    warnings == 1 ? "" : "s");
	rc = CA_OK;
 out:
	if (rc != CA_OK)
		log_ca_err(rc, "check");
	handler_free(h);
	issuance_log_reader_close(r);
	signer_free(signer);
	X509_free(inter);
	return rc;
}

static int
serve(const struct issuer_config *cfg, struct hsm_key *key,
    const sigset_t *sigs)
{
	struct signer *signer = NULL;
	struct issuance_log *log = NULL;
	struct handler *h = NULL;
	struct server *srv = NULL;
	struct issuance_log_head head;
	struct timespec ts;
	X509 *inter = NULL;
	int64_t abandoned = 0;
	size_t i;
	int sig, rc;

	if ((rc = read_cert(&inter, cfg->certificate)) != CA_OK)
		goto out;
	if ((rc = signer_new_hsm(&signer, inter, key)) != CA_OK)
		goto out;
	for (i = 0; i < cfg->nprofiles; i++)
		if ((rc = signer_add_profile(signer, cfg->conf,
		    cfg->profiles[i])) != CA_OK)
			goto out;
	if ((rc = issuance_log_open(&log, cfg->log)) != CA_OK ||
	    (rc = issuance_log_recover(log, &abandoned)) != CA_OK)
		goto out;
	log_head(log, cfg->log);
	if (abandoned > 0)
		log_info("%s: %" PRId64 " serials were left reserved by an "
		    "earlier run that stopped before recording them; marked "
		    "abandoned (never issued)", cfg->log, abandoned);
	if ((rc = handler_new(&h, cfg, signer, log, inter)) != CA_OK)
		goto out;
	(void)warn_local_urls(h);
	if ((rc = server_new(&srv, cfg, h)) != CA_OK ||
	    (rc = server_start(srv)) != CA_OK)
		goto out;
	log_info("serving with %ld workers; key %s on token %s", cfg->workers,
	    cfg->mod.key_uri, hsm_key_token_label(key));
	/* Record the chain head every HEAD_SAVE_SECS until a signal. */
	ts.tv_sec = HEAD_SAVE_SECS;
	ts.tv_nsec = 0;
	while ((sig = sigtimedwait(sigs, NULL, &ts)) < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			sig = 0;
			break;
		}
		if (errno == EAGAIN &&
		    issuance_log_head_save(log, NULL) != CA_OK)
			log_warn("%s: could not record the chain head: %s",
			    cfg->log, ca_error_detail());
	}
	log_info("%s: draining requests in flight, then closing the log",
	    sig == SIGINT ? "SIGINT" : "SIGTERM");
	server_stop(srv);
	if ((rc = issuance_log_head_save(log, &head)) != CA_OK) {
		log_ca_err(rc, "recording the chain head at shutdown");
		goto out;
	}
	log_info("%s: chain head at shutdown: entry %lld, recorded in "
	    "%s" ISSUANCE_LOG_HEAD_SUFFIX, cfg->log, (long long)head.seq,
	    cfg->log);
	rc = CA_OK;
 out:
	if (rc != CA_OK)
		log_ca_err(rc, "startup");
	server_free(srv);
	handler_free(h);
	issuance_log_close(log);
	signer_free(signer);
	X509_free(inter);
	if (rc == CA_OK)
		log_info("stopped cleanly");
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "out", required_argument, NULL, 'o' },
		{ "check", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct issuer_config *cfg = NULL;
	struct hsm_config hc;
	struct hsm *hsm = NULL;
	struct hsm_key *key = NULL;
	const char *path = DEFAULT_CONFIG, *outpath = NULL, *cmd = NULL;
	sigset_t sigs;
	int ch, rc, check = 0, ret = EXIT_RUNTIME;

	/* Block the signals in every thread; main waits for them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	while ((ch = getopt_long(argc, argv, "+c:hVo:n", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf(PROG " %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		case 'o':
			outpath = optarg;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cmd = argv[optind++];
		if (strcmp(cmd, "csr") != 0) {
			fprintf(stderr, PROG ": %s: unknown command\n", cmd);
			usage(stderr);
			return EXIT_USAGE;
		}
		while ((ch = getopt_long(argc, argv, "o:", longopts, NULL)) !=
		    -1) {
			if (ch != 'o') {
				usage(stderr);
				return EXIT_USAGE;
			}
			outpath = optarg;
		}
		if (optind != argc || outpath == NULL) {
			fprintf(stderr, PROG ": csr needs -o OUT and nothing "
			    "else\n");
			return EXIT_USAGE;
		}
	} else if (outpath != NULL) {
		fprintf(stderr, PROG ": -o is for the csr command\n");
		return EXIT_USAGE;
	}
	if (check && cmd != NULL) {
		fprintf(stderr, PROG ": -n checks the daemon's setup; it takes "
		    "no command\n");
		return EXIT_USAGE;
	}

	log_init(PROG, LOG_LVL_INFO, 0);
	/* The HSM PIN lives in this process (libp11 keeps it): no cores. */
	if ((rc = secure_no_core_dumps()) != CA_OK) {
		log_ca_err(rc, "core dumps");
		return EXIT_RUNTIME;
	}
	if (sodium_init() < 0) {
		log_err("libsodium cannot be initialised");
		return EXIT_RUNTIME;
	}
	if ((rc = issuer_config_load(&cfg, path)) != CA_OK) {
		log_ca_err(rc, "configuration");
		ret = exit_code(rc) == EXIT_USAGE || rc == CA_ERR_NOT_FOUND ?
		    EXIT_USAGE : EXIT_RUNTIME;
		goto out;
	}
	log_init(PROG, (enum log_level)cfg->log_level, 0);
	if (cmd == NULL && fileio_exists(cfg->certificate) != 1) {
		log_err("%s: the intermediate certificate is missing; run "
		    "`" PROG " csr -o FILE` and take the CSR to the ceremony",
		    cfg->certificate);
		ret = EXIT_USAGE;
		goto out;
	}
	memset(&hc, 0, sizeof(hc));
	hc.module = cfg->mod.module;
	hc.init_args = cfg->mod.init_args;
	hc.allow_unsafe_keys = cfg->mod.allow_unsafe_keys;
	if ((rc = hsm_open(&hsm, &hc)) != CA_OK ||
	    (rc = hsm_key_open(&key, hsm, cfg->mod.key_uri,
	    cfg->mod.pin_source)) != CA_OK) {
		log_ca_err(rc, "HSM");
		ret = exit_code(rc);
		goto out;
	}
	module_config_warn(&cfg->mod, path, hsm_key_unsafe(key));
	log_info("key %s on %s", cfg->mod.key_uri, hsm_key_token_ident(key));
	if (cmd != NULL)
		rc = cmd_csr(cfg, key, outpath);
	else if (check)
		rc = check_only(cfg, key);
	else
		rc = serve(cfg, key, &sigs);
	if (rc != CA_OK) {
		if (cmd != NULL)
			log_ca_err(rc, "csr");
		ret = exit_code(rc);
		goto out;
	}
	ret = EXIT_OK;
 out:
	hsm_key_free(key);
	hsm_free(hsm);
	issuer_config_free(cfg);
	nng_fini();
	return ret;
}
