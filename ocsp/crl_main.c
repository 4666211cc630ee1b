/* SPDX-License-Identifier: ISC */
/*
 * carapace-crl: the CRL publisher. main() parses the command line
 * (carapace-crl(8)), loads the configuration (carapace-crl.cnf(5)), opens
 * the HSM key and the issuance log, and either publishes one CRL (--once)
 * or runs the daemon loop until SIGTERM or SIGINT.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ca_error.h"
#include "common/log.h"
#include "common/secure.h"
#include "ocsp/crl.h"

#define PROGNAME	"carapace-crl"

enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,	/* could not publish */
	EXIT_USAGE = 2,		/* command line or configuration */
	EXIT_REFUSED = 3,	/* refused: the CRL number would not grow */
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " PROGNAME " [-c FILE] [--once] [--syslog] [-v]\n"
"       " PROGNAME " -h | -V\n"
"\n"
"Publishes RFC 5280 v2 CRLs of the online CA from the issuance log,\n"
"signed in the HSM, as DER and PEM files replaced atomically. Without\n"
"--once it keeps running: it republishes every rebuild_interval and within\n"
"about poll_ms of a revocation, until SIGTERM or SIGINT.\n"
"\n"
"Options:\n"
"  -c, --config FILE  the configuration (default " SYSCONFDIR
    "/carapace/carapace-crl.cnf)\n"
"      --once         publish one CRL and exit\n"
"      --syslog       log to syslog (daemon facility) instead of stderr\n"
"  -v, --verbose      also log debug messages\n"
"  -h, --help         this text\n"
"  -V, --version      the version\n"
"\n"
"Exit status: 0 published (or stopped by a signal), 1 failed, 2 usage or\n"
"configuration error, 3 refused because the CRL number would not increase\n"
"or the state file does not match the published CRL.\n");
}

static int
exit_code(int rc)
{
	switch (rc) {
	case CA_OK:
		return EXIT_OK;
	case CA_ERR_CONFIG:
	case CA_ERR_USAGE:
		return EXIT_USAGE;
	case CA_ERR_POLICY:
		return EXIT_REFUSED;
	default:
		return EXIT_FAILED;
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "syslog", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = SYSCONFDIR "/carapace/carapace-crl.cnf";
	struct crl_config *cfg = NULL;
	struct crl_publisher *pub = NULL;
	struct crl_result r;
	struct sigaction sa;
	int ch, once = 0, use_syslog = 0, verbose = 0, rc;

	log_init(PROGNAME, LOG_LVL_INFO, 0);
	while ((ch = getopt_long(argc, argv, "c:vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			once = 1;
			break;
		case 's':
			use_syslog = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("%s %s\n", PROGNAME, PACKAGE_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		log_err("unexpected argument \"%s\"", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	log_init(PROGNAME, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO,
	    use_syslog);
	if (secure_no_core_dumps() != CA_OK) {
		log_err("cannot turn core dumps off: %s", ca_error_detail());
		return EXIT_FAILED;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if ((rc = crl_config_load(&cfg, path)) != CA_OK) {
		log_ca_err(rc, "configuration");
		rc = EXIT_USAGE;
		goto out;
	}
	if ((rc = crl_publisher_open(&pub, cfg)) != CA_OK) {
		log_ca_err(rc, "start");
		rc = exit_code(rc);
		goto out;
	}
	if (once) {
		if ((rc = crl_publish_once(pub, (int64_t)time(NULL), &r)) !=
		    CA_OK) {
			log_ca_err(rc, "publish");
			rc = exit_code(rc);
			goto out;
		}
		log_info("published CRL number %lld: %zu entries, %zu bytes "
		    "to %s%s%s (build %.2fs, check %.2fs, write %.2fs)",
		    (long long)r.number, r.entries, r.der_len, cfg->der_path,
		    cfg->pem_path != NULL ? " and " : "",
		    cfg->pem_path != NULL ? cfg->pem_path : "", r.build_s,
		    r.check_s, r.write_s);
		rc = EXIT_OK;
		goto out;
	}
	log_info("running: %s, every %lds and on revocation", cfg->der_path,
	    cfg->rebuild_interval);
	rc = exit_code(crl_publish_run(pub, &stop));
	log_info("stopping");
 out:
	crl_publisher_free(pub);
	crl_config_free(cfg);
	return rc;
}
