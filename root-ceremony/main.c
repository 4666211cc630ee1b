/* SPDX-License-Identifier: ISC */
/*
 * carapace-ceremony: the offline root key ceremony. main() only parses the
 * command line (docs/ceremony-file.md, carapace-ceremony(8)), turns core
 * dumps off and hands the step to ceremony_run.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ca_error.h"
#include "common/log.h"
#include "common/secure.h"
#include "root-ceremony/ceremony.h"

#define PROGNAME	"carapace-ceremony"

enum {
	OPT_ALLOW_NETWORK = 256,
	OPT_TRANSCRIPT,
	OPT_ROOT,
	OPT_ALLOW_UNSEALED,
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " PROGNAME " [-y] [-c FILE] [-s SECTION] [--allow-network] STEP\n"
"       " PROGNAME " verify [-c FILE] [--transcript PATH] [--root CERT]\n"
"                         [--allow-unsealed]\n"
"       " PROGNAME " -h | -V\n"
"\n"
"Runs one step of a root key ceremony on a PKCS#11 token, as described in\n"
"the ceremony file (carapace-ceremony.cnf(5)). Each step prints what it\n"
"will do and waits for an officer to type \"yes\"; every step is recorded\n"
"in the hash-chained transcript, which the root key seals.\n"
"\n"
"Steps:\n"
"  inventory     list the module's slots, tokens and keys\n"
"  keygen        generate the root key in the token, write its public key\n"
"  root          write the self-signed root certificate\n"
"  intermediate  sign an intermediate CA's CSR under a profile\n"
"  crl           sign the root CRL (the CRL number never goes down)\n"
"  verify        check the transcript's chain, seals and outputs\n"
"\n"
"Options:\n"
"  -c, --config FILE    the ceremony file (default ./ceremony.cnf)\n"
"  -y, --yes            do not wait for \"yes\" (rehearsals and tests only)\n"
"  -s, --section NAME   read the step's settings from section NAME\n"
"      --allow-network  run although a non-loopback interface is up (tests)\n"
"      --transcript PATH  verify: the transcript to check\n"
"      --root CERT      verify: the root certificate that sealed it\n"
"      --allow-unsealed verify: report records after the last seal\n"
"  -h, --help           this text\n"
"  -V, --version        the version\n"
"\n"
"Exit status: 0 done, 1 failed or refused, 2 usage or configuration error,\n"
"3 not confirmed.\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "yes", no_argument, NULL, 'y' },
		{ "section", required_argument, NULL, 's' },
		{ "allow-network", no_argument, NULL, OPT_ALLOW_NETWORK },
		{ "transcript", required_argument, NULL, OPT_TRANSCRIPT },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "allow-unsealed", no_argument, NULL, OPT_ALLOW_UNSEALED },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ceremony c;
	int ch, verify_opts = 0;

	log_init(PROGNAME, LOG_LVL_INFO, 0);
	memset(&c, 0, sizeof(c));
	while ((ch = getopt_long(argc, argv, "c:ys:hV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			c.config_path = optarg;
			break;
		case 'y':
			c.yes = 1;
			break;
		case 's':
			c.section = optarg;
			break;
		case OPT_ALLOW_NETWORK:
			c.allow_network = 1;
			break;
		case OPT_TRANSCRIPT:
			c.verify_transcript = optarg;
			verify_opts = 1;
			break;
		case OPT_ROOT:
			c.verify_root = optarg;
			verify_opts = 1;
			break;
		case OPT_ALLOW_UNSEALED:
			c.allow_unsealed = 1;
			verify_opts = 1;
			break;
		case 'h':
			usage(stdout);
			return CEREMONY_EXIT_OK;
		case 'V':
			printf("%s %s\n", PROGNAME, PACKAGE_VERSION);
			return CEREMONY_EXIT_OK;
		default:
			usage(stderr);
			return CEREMONY_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1) {
		log_err("%s", argc == 0 ? "no step given" :
		    "only one step at a time");
		usage(stderr);
		return CEREMONY_EXIT_USAGE;
	}
	c.step = argv[0];
	if (verify_opts && strcmp(c.step, "verify") != 0) {
		log_err("--transcript, --root and --allow-unsealed go with "
		    "the verify step only");
		return CEREMONY_EXIT_USAGE;
	}
	if (c.section != NULL && (c.section[0] == '\0' ||
	    strcmp(c.step, "verify") == 0)) {
		log_err("-s: %s", c.section[0] == '\0' ? "empty section name" :
		    "verify has no step section");
		return CEREMONY_EXIT_USAGE;
	}
	if (secure_no_core_dumps() != CA_OK) {
		log_err("cannot turn core dumps off: %s", ca_error_detail());
		return CEREMONY_EXIT_FAILED;
	}
	/* Prompts and plans go to stdout; keep them in order with stderr. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return ceremony_run(&c);
}
