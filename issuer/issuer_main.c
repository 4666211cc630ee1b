/* SPDX-License-Identifier: ISC */
/*
 * carapace-issuer: the online issuing CA daemon (carapace-issuer(8)).
 *
 *   carapace-issuer [-c FILE]            serve in the foreground
 *   carapace-issuer [-c FILE] csr -o OUT write the intermediate's CSR
 *
 * Startup: read the configuration, open the HSM key (after any fork; this
 * program never forks), check that its public key matches the
 * intermediate certificate (signer_new_hsm), open the issuance log
 * (created and migrated if needed), compile the profiles and policy, bind
 * the listeners, then serve until SIGTERM or SIGINT, which drain the
 * requests in flight and close the log. Exit 0 on a clean shutdown, 1 on a
 * runtime failure, 2 on a usage or configuration error.
 */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "common/ca_error.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/module_config.h"
#include "common/profile.h"
#include "common/secure.h"
#include "hsm/hsm.h"
#include "issuer/handler.h"
#include "issuer/issuer_config.h"
#include "issuer/server.h"
#include "issuer/signer.h"

#define PROG		"carapace-issuer"
#define DEFAULT_CONFIG	SYSCONFDIR "/carapace/issuer.cnf"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c FILE]             serve (foreground)\n"
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

static int
serve(const struct issuer_config *cfg, struct hsm_key *key,
    const sigset_t *sigs)
{
	struct signer *signer = NULL;
	struct issuance_log *log = NULL;
	struct handler *h = NULL;
	struct server *srv = NULL;
	X509 *inter = NULL;
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
	if ((rc = issuance_log_open(&log, cfg->log)) != CA_OK)
		goto out;
	if ((rc = handler_new(&h, cfg, signer, log, inter)) != CA_OK)
		goto out;
	if ((rc = server_new(&srv, cfg, h)) != CA_OK ||
	    (rc = server_start(srv)) != CA_OK)
		goto out;
	log_info("serving with %ld workers; key %s on token %s", cfg->workers,
	    cfg->mod.key_uri, hsm_key_token_label(key));
	if (sigwait(sigs, &sig) != 0)
		sig = 0;
	log_info("%s: draining requests in flight, then closing the log",
	    sig == SIGINT ? "SIGINT" : "SIGTERM");
	server_stop(srv);
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
		{ NULL, 0, NULL, 0 }
	};
	struct issuer_config *cfg = NULL;
	struct hsm_config hc;
	struct hsm *hsm = NULL;
	struct hsm_key *key = NULL;
	const char *path = DEFAULT_CONFIG, *outpath = NULL, *cmd = NULL;
	sigset_t sigs;
	int ch, rc, ret = EXIT_RUNTIME;

	/* Block the signals in every thread; main waits for them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	while ((ch = getopt_long(argc, argv, "+c:hVo:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			path = optarg;
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
