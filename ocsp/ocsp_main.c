/* SPDX-License-Identifier: ISC */
/*
 * carapace-ocsp: the OCSP responder (RFC 6960, RFC 5019 profile). It reads
 * its configuration (carapace-ocsp.cnf(5)), opens the issuing CAs' signing
 * keys in the HSM, opens the issuance log read-only, and serves OCSP over
 * HTTP until SIGTERM or SIGINT, from a cache of pre-signed responses that
 * a watcher keeps in step with the log. See carapace-ocsp(8) and
 * docs/revocation.md.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ca_error.h"
#include "common/log.h"
#include "common/secure.h"
#include "hsm/hsm.h"
#include "ocsp/ocsp_responder.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/carapace/ocsp.cnf"

static void
usage(FILE *f)
{
	fprintf(f,
"usage: carapace-ocsp [-c FILE] [--check] [--syslog] [--verbose]\n"
"\n"
"Answer OCSP requests (RFC 6960, RFC 5019) over HTTP for the issuers in\n"
"FILE, from the issuance log opened read-only, until SIGTERM or SIGINT.\n"
"\n"
"  -c, --config FILE  the configuration (default " DEFAULT_CONFIG ")\n"
"  -n, --check        check the configuration, keys and log, then exit\n"
"  -s, --syslog       log to syslog instead of standard error\n"
"  -v, -d, --verbose  log debug messages\n"
"  -h, --help         this text\n"
"  -V, --version      the version\n"
"\n"
"Exit status: 0 stopped by a signal (or --check passed), 1 failed,\n"
"2 usage error. See carapace-ocsp(8).\n");
	exit(f == stdout ? 0 : 2);
}

int
main(int argc, char *argv[])
{
	struct ocsp_config cfg;
	struct hsm_config hc;
	struct hsm *hsm = NULL;
	struct ocsp_issuer *issuers[OCSP_MAX_ISSUERS];
	struct ocsp_watch *watch = NULL;
	struct ocsp_cache *cache = NULL;
	struct ocsp_http *http = NULL;
	struct ocsp_responder r;
	const char *cfpath = DEFAULT_CONFIG;
	enum log_level lvl = LOG_LVL_INFO;
	sigset_t set;
	size_t i, nissuers = 0, unusable = 0;
	int ch, sig, check_only = 0, use_syslog = 0, rc, ret = 1;

	memset(&cfg, 0, sizeof(cfg));
	memset(&r, 0, sizeof(r));
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "syslog", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	while ((ch = getopt_long(argc, argv, "c:dhnsvV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			break;
		case 'V':
			printf("carapace-ocsp %s\n", PACKAGE_VERSION);
			return 0;
		case 'c':
			cfpath = optarg;
			break;
		case 'd':
		case 'v':
			lvl = LOG_LVL_DEBUG;
			break;
		case 'n':
			check_only = 1;
			break;
		case 's':
			use_syslog = 1;
			break;
		default:
			usage(stderr);
		}
	}
	if (optind != argc)
		usage(stderr);
	log_init("carapace-ocsp", lvl, use_syslog);
	/* The PIN lives in this process (libp11 keeps it): no core dumps. */
	if ((rc = secure_no_core_dumps()) != CA_OK) {
		log_ca_err(rc, "core dumps");
		return 1;
	}

	/* Every thread we start inherits this mask; main sigwaits. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((rc = ocsp_config_load(&cfg, cfpath)) != CA_OK) {
		log_ca_err(rc, cfpath);
		goto out;
	}
	memset(&hc, 0, sizeof(hc));
	hc.module = cfg.mod.module;
	hc.init_args = cfg.mod.init_args;
	hc.allow_unsafe_keys = cfg.mod.allow_unsafe_keys;
	if ((rc = hsm_open(&hsm, &hc)) != CA_OK) {
		log_ca_err(rc, cfg.mod.module);
		goto out;
	}
	module_config_warn(&cfg.mod, cfpath, NULL);
	for (i = 0; i < cfg.nissuers; i++) {
		if ((rc = ocsp_issuer_load(&issuers[i], hsm, &cfg.issuer[i]))
		    != CA_OK) {
			log_ca_err(rc, cfg.issuer[i].section);
			goto out;
		}
		nissuers++;
		if (hsm_key_unsafe(issuers[i]->key) != NULL)
			module_config_warn(&cfg.mod, cfg.issuer[i].section,
			    hsm_key_unsafe(issuers[i]->key));
		log_info("[%s] key on %s", cfg.issuer[i].section,
		    hsm_key_token_ident(issuers[i]->key));
		log_info("[%s] answering for %s, signed by %s",
		    cfg.issuer[i].section, cfg.issuer[i].cert,
		    issuers[i]->delegated ? cfg.issuer[i].responder_cert :
		    "the CA key");
	}
	if ((rc = ocsp_watch_open(&watch, cfg.log_path, cfg.unissued))
	    != CA_OK) {
		log_ca_err(rc, cfg.log_path);
		goto out;
	}
	/*
	 * The signers' validity: -n fails on one outside it and warns about
	 * one that expires soon; the daemon says the same and runs on
	 * (answering tryLater for an unusable one until it is renewed).
	 */
	for (i = 0; i < nissuers; i++)
		if (ocsp_signer_report(issuers[i], time(NULL),
		    cfg.signer_warn, 1) >= OCSP_SIGNER_EXPIRED)
			unusable++;
	if (check_only) {
		if (unusable > 0) {
			log_err("%s: %zu issuer(s) without a signing "
			    "certificate valid now", cfpath, unusable);
			goto out;
		}
		log_info("%s: configuration, keys and log are usable", cfpath);
		ret = 0;
		goto out;
	}
	if ((rc = ocsp_cache_new(&cache, cfg.max_unknown)) != CA_OK) {
		log_ca_err(rc, "cache");
		goto out;
	}
	r.issuers = issuers;
	r.nissuers = nissuers;
	r.status_fn = ocsp_watch_status;
	r.status_arg = watch;
	r.cache = cache;
	r.validity = cfg.validity;
	r.max_request = cfg.max_request;
	r.max_live = cfg.max_live;
	r.unissued = cfg.unissued;
	atomic_init(&r.live, 0);
	if ((rc = ocsp_http_start(&http, &r, &cfg)) != CA_OK) {
		log_ca_err(rc, cfg.listen);
		goto out;
	}
	ocsp_http_set_max_age(http, cfg.max_age);
	if ((rc = ocsp_watch_start(watch, &r, cfg.poll_ms, cfg.refresh,
	    cfg.presign, cfg.signer_warn)) != CA_OK) {
		log_ca_err(rc, "watcher");
		goto out;
	}
	log_info("listening on %s (POST / %s%s, GET /<base64>)", cfg.listen,
	    cfg.path != NULL ? "and " : "", cfg.path != NULL ? cfg.path : "");
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			/* Certificates only; the rest needs a restart. */
			ocsp_watch_kick(watch);
			continue;
		}
		log_info("signal %d: shutting down", sig);
		break;
	}
	ret = 0;
 out:
	/* The HTTP server first: no request may use what follows. */
	ocsp_http_stop(http);
	ocsp_watch_stop(watch);
	ocsp_watch_free(watch);
	ocsp_cache_free(cache);
	for (i = 0; i < nissuers; i++)
		ocsp_issuer_free(issuers[i]);
	hsm_free(hsm);
	ocsp_config_clear(&cfg);
	return ret;
}
