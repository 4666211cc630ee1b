/* SPDX-License-Identifier: ISC */
/*
 * carapace: the client and operator command line of the issuer
 * (carapace(1)). main() only finds the subcommand, parses its options and
 * hands them to client_request.c (request, renew) or client_ops.c (the
 * operator commands). A join token is never taken from the command line.
 * `request` takes exactly one attestation: a join token or a signed
 * identity document.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "protocol/protocol.h"
#include "common/secure.h"
#include "client/client.h"

#define PROGNAME	"carapace"

enum {
	OPT_CA = 256, OPT_TIMEOUT, OPT_TOKEN_FILE, OPT_TOKEN_ENV, OPT_CN,
	OPT_PROFILE, OPT_LIFETIME, OPT_KEY, OPT_KEY_TYPE, OPT_KEY_OUT,
	OPT_CERT_OUT, OPT_CHAIN_OUT, OPT_CERT, OPT_CHAIN, OPT_NEW_KEY,
	OPT_IDENTITY, OPT_TTL, OPT_REASON, OPT_STATUS, OPT_LOG, OPT_IDDOC,
	OPT_IDDOC_SIG, OPT_IDDOC_KEY_ID, OPT_GROUP, OPT_MODULE, OPT_PIN_SOURCE,
	OPT_SELECTOR, OPT_TPM,
};

/* Which options a subcommand takes (bits). */
#define O_SERVER	0x00000001u
#define O_SOCKET	0x00000002u
#define O_CA		0x00000004u
#define O_TIMEOUT	0x00000008u
#define O_TOKEN		0x00000010u
#define O_NAME		0x00000020u
#define O_CN		0x00000040u
#define O_PROFILE	0x00000080u
#define O_LIFETIME	0x00000100u
#define O_KEY		0x00000200u
#define O_KEY_TYPE	0x00000400u
#define O_KEY_OUT	0x00000800u
#define O_CERT_OUT	0x00001000u
#define O_CHAIN_OUT	0x00002000u
#define O_CERT		0x00004000u
#define O_CHAIN		0x00008000u
#define O_NEW_KEY	0x00010000u
#define O_IDENTITY	0x00020000u
#define O_TTL		0x00040000u
#define O_OUT		0x00080000u
#define O_REASON	0x00100000u
#define O_STATUS	0x00200000u
#define O_LOG		0x00400000u
#define O_IDDOC		0x00800000u
#define O_GROUP		0x01000000u
#define O_HSM		0x02000000u
#define O_SELECTOR	0x04000000u
#define O_TPM		0x08000000u

#define O_CLIENT	(O_SERVER | O_CA | O_TIMEOUT)
#define O_OPERATOR	(O_SOCKET | O_TIMEOUT)

static const struct option longopts[] = {
	{ "server", required_argument, NULL, 's' },
	{ "socket", required_argument, NULL, 'S' },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	{ "token-env", required_argument, NULL, OPT_TOKEN_ENV },
	{ "name", required_argument, NULL, 'n' },
	{ "cn", required_argument, NULL, OPT_CN },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "lifetime", required_argument, NULL, OPT_LIFETIME },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "key-type", required_argument, NULL, OPT_KEY_TYPE },
	{ "key-out", required_argument, NULL, OPT_KEY_OUT },
	{ "cert-out", required_argument, NULL, OPT_CERT_OUT },
	{ "chain-out", required_argument, NULL, OPT_CHAIN_OUT },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "chain", required_argument, NULL, OPT_CHAIN },
	{ "new-key", no_argument, NULL, OPT_NEW_KEY },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "out", required_argument, NULL, 'o' },
	{ "reason", required_argument, NULL, OPT_REASON },
	{ "status", required_argument, NULL, OPT_STATUS },
	{ "selector", required_argument, NULL, OPT_SELECTOR },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "iddoc", required_argument, NULL, OPT_IDDOC },
	{ "iddoc-sig", required_argument, NULL, OPT_IDDOC_SIG },
	{ "iddoc-key-id", required_argument, NULL, OPT_IDDOC_KEY_ID },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "module", required_argument, NULL, OPT_MODULE },
	{ "pin-source", required_argument, NULL, OPT_PIN_SOURCE },
	{ "tpm", required_argument, NULL, OPT_TPM },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

enum cmd_id {
	CMD_REQUEST, CMD_RENEW, CMD_TOKEN_CREATE, CMD_TOKEN_LIST,
	CMD_TOKEN_REVOKE, CMD_REVOKE, CMD_LIST, CMD_SHOW, CMD_LOG_VERIFY,
	CMD_LOG_INIT,
};

struct cmd {
	enum cmd_id id;
	const char *word1, *word2;
	unsigned opts;
	int nargs;		/* positional arguments: 0 or 1 */
	const char *usage;
};

static const char common_client[] =
"  -s, --server URL     the issuer: tls+tcp://HOST:PORT, tcp:// (tests)\n"
"                       (default: $CARAPACE_SERVER)\n"
"      --ca FILE        tls+tcp://: the CA certificate the server's chains to\n"
"      --timeout SECS   wait this long for an answer (default 30)\n";
static const char common_operator[] =
"  -S, --socket URL     the operator socket (default: $CARAPACE_SOCKET, or\n"
"                       " CLIENT_DEFAULT_SOCKET ")\n"
"      --timeout SECS   wait this long for an answer (default 30)\n";

static const struct cmd cmds[] = {
	{ CMD_REQUEST, "request", NULL, O_CLIENT | O_TOKEN | O_IDDOC | O_NAME |
	    O_CN | O_LIFETIME | O_KEY | O_KEY_TYPE | O_KEY_OUT | O_CERT_OUT |
	    O_CHAIN_OUT | O_HSM | O_TPM, 0,
"usage: carapace request -s URL (--token-file FILE | --token-env NAME |\n"
"           --iddoc FILE [--iddoc-sig FILE --iddoc-key-id ID] |\n"
"           --tpm TCTI)\n"
"           --name DNS [--name DNS ...] [--cn CN] [--lifetime 24h]\n"
"           [--key KEY.pem | --key-type TYPE --key-out KEY.pem |\n"
"            --key pkcs11:URI --module MODULE.so [--pin-source SRC]\n"
"            [--key-type TYPE]]\n"
"           --cert-out CERT.pem [--chain-out CHAIN.pem]\n"
"\n"
"Gets a certificate with a join token, with an identity document that\n"
"the platform signed, or with this machine's TPM 2.0 (give exactly one).\n"
"The key pair is generated here (with --tpm: inside the TPM, which it never\n"
"leaves) and never leaves this machine; only the CSR is sent. Nothing is\n"
"written unless the certificate is issued; no output file may exist\n"
"beforehand.\n"
"\n"
"  --token-file FILE    the join token (cpt1...) the operator gave you\n"
"  --token-env NAME     ... or the environment variable that holds it\n"
"  --iddoc FILE         the platform's identity document: a DER IdentityDoc\n"
"                       (document, key id and signature together), or with\n"
"                       the next two options the DER PlatformDocument alone;\n"
"                       DER or base64\n"
"  --iddoc-sig FILE     its Ed25519 signature: 64 bytes, base64 or hex\n"
"  --iddoc-key-id ID    the id of the platform key that signed it\n"
"  --tpm TCTI           attest with the TPM (its EK, an AK, credential\n"
"                       activation, TPM2_Certify): device:/dev/tpmrm0,\n"
"                       swtpm:host=127.0.0.1,port=2321; the key (ECC P-256)\n"
"                       is made in the TPM and --key-out gets it as a TSS2\n"
"                       PRIVATE KEY PEM for OpenSSL's tpm2 provider\n"
"  -n, --name DNS       a DNS name for the certificate (repeatable)\n"
"  --cn CN              the subject common name (default: the first name)\n"
"  --lifetime DUR       ask for a shorter lifetime: 90s, 30m, 24h, 7d\n"
"  --key KEY.pem        use this existing private key instead\n"
"  --key pkcs11:URI     ... or this key in an HSM (RFC 7512 URI with\n"
"                       object= or id=), generated there with --key-type\n"
"                       when the token does not hold it yet\n"
"  --module FILE        the PKCS#11 module of a pkcs11: key\n"
"  --pin-source SRC     its PIN: file:PATH or env:NAME (never the PIN)\n"
"  --key-type TYPE      ec-p256 (default), ec-p384, rsa-2048, rsa-3072\n"
"  --key-out KEY.pem    where to write the new key (mode 0600)\n"
"  --cert-out CERT.pem  where to write the certificate\n"
"  --chain-out FILE     where to write the chain (issuer first, no root)\n" },
	{ CMD_RENEW, "renew", NULL, O_CLIENT | O_NAME | O_CN | O_PROFILE |
	    O_LIFETIME |
	    O_KEY | O_KEY_TYPE | O_KEY_OUT | O_CERT_OUT | O_CHAIN_OUT |
	    O_CERT | O_CHAIN | O_NEW_KEY | O_HSM, 0,
"usage: carapace renew -s URL --cert CERT.pem --key KEY.pem\n"
"           [--module MODULE.so [--pin-source SRC]]  (a pkcs11: --key)\n"
"           [--chain CHAIN.pem] [--new-key [--key-type TYPE] --key-out NEW.pem]\n"
"           [--name DNS ...] [--cn CN] [--lifetime DUR]\n"
"           --cert-out NEWCERT.pem [--chain-out CHAIN.pem]\n"
"\n"
"Renews a certificate by proving possession of its key (x509pop): asks the\n"
"server for a nonce and signs it, with the hash of the new CSR, with the\n"
"current key. The new certificate carries the same names unless --name\n"
"is given.\n"
"\n"
"  --cert CERT.pem      the current certificate (more certificates after it\n"
"                       in the file are sent as its chain)\n"
"  --key KEY.pem        its private key, or a pkcs11: URI of the key in an\n"
"                       HSM (with --module and --pin-source, as for request)\n"
"  --chain FILE         more of its chain, issuer first\n"
"  -n, --name DNS       the names to ask for (default: the current ones)\n"
"  --cn CN              the subject CN (default: the current CN when it is\n"
"                       one of the names, else the first name)\n"
"  --lifetime DUR       ask for a shorter lifetime: 90s, 30m, 24h, 7d\n"
"  --new-key            make a new key pair (written to --key-out)\n"
"  --key-type TYPE      with --new-key: ec-p256 (default), ec-p384, rsa-2048,\n"
"                       rsa-3072\n"
"  --cert-out FILE      where to write the new certificate\n"
"  --chain-out FILE     where to write the chain\n" },
	{ CMD_TOKEN_CREATE, "token", "create", O_OPERATOR | O_IDENTITY |
	    O_NAME | O_PROFILE | O_TTL | O_OUT, 0,
"usage: carapace token create [-S URL] --identity NAME --name GRANT\n"
"           [--name GRANT ...] [--profile P] [--ttl 1h] --out FILE\n"
"\n"
"Creates a one-time join token. The token is written to FILE (mode 0600,\n"
"refusing to overwrite) and never printed, unless FILE is \"-\" (stdout).\n"
"\n"
"  --identity NAME      who the token is for\n"
"  -n, --name GRANT     a name it grants: host.example, *.node.example\n"
"                       (one more label) or =*.node.example (the wildcard)\n"
"  --profile P          the certificate profile (default: server)\n"
"  --ttl DUR            how long it can be used: 90s, 30m, 1h (default), 7d\n"
"  -o, --out FILE       where to write it\n" },
	{ CMD_TOKEN_LIST, "token", "list", O_OPERATOR, 0,
"usage: carapace token list [-S URL]\n"
"\n"
"Lists join tokens: ID IDENTITY EXPIRES STATE NAMES.\n" },
	{ CMD_TOKEN_REVOKE, "token", "revoke", O_OPERATOR, 1,
"usage: carapace token revoke [-S URL] ID\n"
"\n"
"Revokes an unused join token.\n" },
	{ CMD_REVOKE, "revoke", NULL, O_OPERATOR | O_REASON | O_SELECTOR, 1,
"usage: carapace revoke [-S URL] SERIAL --reason REASON\n"
"       carapace revoke [-S URL] --selector SELECTOR --reason REASON\n"
"\n"
"Revokes a certificate. SERIAL is in hex; REASON is an RFC 5280 5.3.1\n"
"name: unspecified, keyCompromise, cACompromise, affiliationChanged,\n"
"superseded, cessationOfOperation, privilegeWithdrawn, aACompromise.\n"
"Revocation is final: certificateHold and removeFromCRL are refused.\n"
"\n"
"  --selector S         instead of one SERIAL: every issued certificate\n"
"                       attested with S (kind:fact:value, such as\n"
"                       token:id:t-8f3a19c2), renewals included, in one\n"
"                       transaction; prints each serial and the count\n" },
	{ CMD_LIST, "list", NULL, O_OPERATOR | O_STATUS | O_SELECTOR, 0,
"usage: carapace list [-S URL] [--status issued|revoked|reserved|abandoned]\n"
"           [--selector SELECTOR]\n"
"\n"
"Lists certificates: SERIAL STATUS NOTAFTER SUBJECT NAMES.\n"
"\n"
"  --selector S         only those attested with S (kind:fact:value),\n"
"                       renewals included\n" },
	{ CMD_SHOW, "show", NULL, O_OPERATOR, 1,
"usage: carapace show [-S URL] SERIAL\n"
"\n"
"Shows one certificate's log record (key: value lines), then its PEM.\n" },
	{ CMD_LOG_VERIFY, "log", "verify", O_OPERATOR | O_LOG, 0,
"usage: carapace log verify [-S URL] | carapace log verify --log FILE\n"
"\n"
"Checks the issuance log's hash chain, through the issuer or by opening\n"
"the log FILE read-only here. Prints \"log verify: OK: N entries, head\n"
"HASH\" or \"log verify: FAILED at entry N: ...\" (exit 1).\n" },
	{ CMD_LOG_INIT, "log", "init", O_LOG | O_GROUP, 0,
"usage: carapace log init --log FILE [--group GROUP]\n"
"\n"
"Creates a new, empty issuance log FILE here (not through the issuer; run it\n"
"as the user the issuer runs as), with mode 0600, or 0640 and group GROUP\n"
"for the OCSP responder and CRL publisher, whatever the umask, and the head\n"
"state file FILE.head. It refuses to overwrite a log, or to start one where\n"
"FILE-wal, FILE-shm or FILE.head of an earlier log are. The daemons never\n"
"create a log: this is the one way to make one.\n"
"\n"
"  --log FILE           the log to create (the issuer's log setting)\n"
"  --group GROUP        the readers' group: mode 0640 instead of 0600\n" },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void
usage(FILE *f)
{
	fprintf(f,
"usage: carapace request|renew ...           get or renew a certificate\n"
"       carapace token create|list|revoke ... join tokens (operator)\n"
"       carapace revoke|list|show ...        certificates (operator)\n"
"       carapace log init|verify ...         create or check the issuance log\n"
"       carapace COMMAND --help | -h | -V\n"
"\n"
"Exit status: 0 ok, 1 refused or failed, 2 usage error, 3 server\n"
"unreachable or unavailable (retry later).\n");
}

static void
cmd_usage(FILE *f, const struct cmd *c)
{
	fputs(c->usage, f);
	fputs("\nOptions:\n", f);
	if (c->opts & O_SERVER)
		fputs(common_client, f);
	else if (c->opts & O_SOCKET)
		fputs(common_operator, f);
	fputs("  -h, --help           this text\n", f);
}

static unsigned
opt_bit(int ch)
{
	switch (ch) {
	case 's': return O_SERVER;
	case 'S': return O_SOCKET;
	case OPT_CA: return O_CA;
	case OPT_TIMEOUT: return O_TIMEOUT;
	case OPT_TOKEN_FILE: case OPT_TOKEN_ENV: return O_TOKEN;
	case 'n': return O_NAME;
	case OPT_CN: return O_CN;
	case OPT_PROFILE: return O_PROFILE;
	case OPT_LIFETIME: return O_LIFETIME;
	case OPT_KEY: return O_KEY;
	case OPT_KEY_TYPE: return O_KEY_TYPE;
	case OPT_KEY_OUT: return O_KEY_OUT;
	case OPT_CERT_OUT: return O_CERT_OUT;
	case OPT_CHAIN_OUT: return O_CHAIN_OUT;
	case OPT_CERT: return O_CERT;
	case OPT_CHAIN: return O_CHAIN;
	case OPT_NEW_KEY: return O_NEW_KEY;
	case OPT_IDENTITY: return O_IDENTITY;
	case OPT_TTL: return O_TTL;
	case 'o': return O_OUT;
	case OPT_REASON: return O_REASON;
	case OPT_STATUS: return O_STATUS;
	case OPT_SELECTOR: return O_SELECTOR;
	case OPT_LOG: return O_LOG;
	case OPT_GROUP: return O_GROUP;
	case OPT_MODULE: case OPT_PIN_SOURCE: return O_HSM;
	case OPT_TPM: return O_TPM;
	case OPT_IDDOC: case OPT_IDDOC_SIG: case OPT_IDDOC_KEY_ID:
		return O_IDDOC;
	default: return 0;
	}
}

/* Print "carapace: CMD: what" and the subcommand's usage; exit 2. */
static int
usage_err(const struct cmd *c, const char *what, const char *arg)
{
	fprintf(stderr, PROGNAME ": %s%s%s: %s%s%s\n", c->word1,
	    c->word2 != NULL ? " " : "", c->word2 != NULL ? c->word2 : "",
	    what, arg != NULL ? " " : "", arg != NULL ? arg : "");
	fprintf(stderr, "run '" PROGNAME " %s%s%s --help' for its usage\n",
	    c->word1, c->word2 != NULL ? " " : "",
	    c->word2 != NULL ? c->word2 : "");
	return CLIENT_EXIT_USAGE;
}

static int
timeout_parse(int *out, const char *s)
{
	long long v;

	if (client_duration_parse(&v, s) != 0 || v > 86400)
		return -1;
	*out = (int)v;
	return 0;
}

/*
 * `request` takes exactly one attestation: a join token (--token-file or
 * --token-env) or an identity document (--iddoc, and --iddoc-sig with
 * --iddoc-key-id unless the file holds all three).
 */
static int
request_attestation_check(const struct cmd *c,
    const struct client_request_opts *rq)
{
	int token = rq->token_file != NULL || rq->token_env != NULL;

	if (rq->tpm != NULL) {
		if (token || rq->iddoc != NULL || rq->iddoc_sig != NULL ||
		    rq->iddoc_key_id != NULL)
			return usage_err(c, "give one attestation: --tpm does "
			    "not go with a join token or an identity document",
			    NULL);
		if (rq->key != NULL || rq->key_type != NULL)
			return usage_err(c, "--tpm makes the key in the TPM "
			    "(ECC P-256): --key and --key-type do not go with "
			    "it", NULL);
		return CLIENT_EXIT_OK;
	}
	if (rq->iddoc == NULL && (rq->iddoc_sig != NULL ||
	    rq->iddoc_key_id != NULL))
		return usage_err(c, "--iddoc-sig and --iddoc-key-id go with "
		    "--iddoc FILE, the identity document", NULL);
	if (token && rq->iddoc != NULL)
		return usage_err(c, "give one attestation: a join token "
		    "(--token-file, --token-env) or an identity document "
		    "(--iddoc), not both", NULL);
	if (rq->iddoc != NULL) {
		if ((rq->iddoc_sig == NULL) != (rq->iddoc_key_id == NULL))
			return usage_err(c, "--iddoc-sig FILE and "
			    "--iddoc-key-id ID go together (leave both out "
			    "when --iddoc is an IdentityDoc holding them)",
			    NULL);
		return CLIENT_EXIT_OK;
	}
	if (!token)
		return usage_err(c, "give an attestation: the join token with "
		    "--token-file FILE or --token-env NAME (never on the "
		    "command line), an identity document with --iddoc "
		    "FILE, or the TPM with --tpm TCTI", NULL);
	if (rq->token_file != NULL && rq->token_env != NULL)
		return usage_err(c, "give the join token with either "
		    "--token-file FILE or --token-env NAME, not both", NULL);
	return CLIENT_EXIT_OK;
}

static int
run(const struct cmd *c, int argc, char *argv[])
{
	struct client_request_opts rq;
	struct client_ops_opts op;
	struct client_conf conf;
	const char *names[PROTOCOL_MAX_NAMES], *arg = NULL;
	size_t nnames = 0;
	unsigned bit;
	int ch, li, ret, hsm_key;
	char optname[32];

	memset(&rq, 0, sizeof(rq));
	memset(&op, 0, sizeof(op));
	memset(&conf, 0, sizeof(conf));
	conf.timeout = CLIENT_DEFAULT_TIMEOUT;
	if (c->opts & O_SERVER)
		conf.url = getenv("CARAPACE_SERVER");
	else if ((conf.url = getenv("CARAPACE_SOCKET")) == NULL)
		conf.url = CLIENT_DEFAULT_SOCKET;
	optind = 1;
	for (;;) {
		li = -1;
		if ((ch = getopt_long(argc, argv, "s:S:n:o:h", longopts,
		    &li)) == -1)
			break;
		if (ch == 'h') {
			cmd_usage(stdout, c);
			return CLIENT_EXIT_OK;
		}
		if (ch == '?' || ch == ':')
			return usage_err(c, "bad option", NULL);
		bit = opt_bit(ch);
		if ((c->opts & bit) == 0) {
			if (li >= 0)
				snprintf(optname, sizeof(optname), "--%s",
				    longopts[li].name);
			else
				snprintf(optname, sizeof(optname), "-%c", ch);
			return usage_err(c, "this option does not go with "
			    "this command:", optname);
		}
		switch (ch) {
		case 's':
		case 'S':
			conf.url = optarg;
			break;
		case OPT_CA:
			conf.ca_file = optarg;
			break;
		case OPT_TIMEOUT:
			if (timeout_parse(&conf.timeout, optarg) != 0)
				return usage_err(c, "--timeout: 1 to 86400 "
				    "seconds (or 30s, 5m, 1h), not", optarg);
			break;
		case OPT_TOKEN_FILE:
			rq.token_file = optarg;
			break;
		case OPT_TOKEN_ENV:
			rq.token_env = optarg;
			break;
		case OPT_IDDOC:
			rq.iddoc = optarg;
			break;
		case OPT_IDDOC_SIG:
			rq.iddoc_sig = optarg;
			break;
		case OPT_IDDOC_KEY_ID:
			rq.iddoc_key_id = optarg;
			break;
		case OPT_TPM:
			rq.tpm = optarg;
			break;
		case 'n':
			if (nnames >= PROTOCOL_MAX_NAMES)
				return usage_err(c, "too many --name options",
				    NULL);
			names[nnames++] = optarg;
			break;
		case OPT_CN:
			rq.cn = optarg;
			break;
		case OPT_PROFILE:
			op.profile = optarg;
			break;
		case OPT_LIFETIME:
			if (client_duration_parse(&rq.lifetime, optarg) != 0)
				return usage_err(c, "--lifetime: a duration "
				    "such as 90s, 30m, 24h or 7d, not", optarg);
			break;
		case OPT_TTL:
			if (client_duration_parse(&op.ttl, optarg) != 0)
				return usage_err(c, "--ttl: a duration such as "
				    "90s, 30m, 1h or 7d, not", optarg);
			break;
		case OPT_KEY:
			rq.key = optarg;
			break;
		case OPT_MODULE:
			rq.module = optarg;
			break;
		case OPT_PIN_SOURCE:
			rq.pin_source = optarg;
			break;
		case OPT_KEY_TYPE:
			rq.key_type = optarg;
			break;
		case OPT_KEY_OUT:
			rq.key_out = optarg;
			break;
		case OPT_CERT_OUT:
			rq.cert_out = optarg;
			break;
		case OPT_CHAIN_OUT:
			rq.chain_out = optarg;
			break;
		case OPT_CERT:
			rq.cert = optarg;
			break;
		case OPT_CHAIN:
			rq.chain = optarg;
			break;
		case OPT_NEW_KEY:
			rq.new_key = 1;
			break;
		case OPT_IDENTITY:
			op.identity = optarg;
			break;
		case 'o':
			op.out = optarg;
			break;
		case OPT_REASON:
			op.reason = optarg;
			break;
		case OPT_STATUS:
			op.status = optarg;
			break;
		case OPT_SELECTOR:
			op.selector = optarg;
			break;
		case OPT_LOG:
			op.log = optarg;
			break;
		case OPT_GROUP:
			op.group = optarg;
			break;
		default:
			return usage_err(c, "bad option", NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (c->id == CMD_REVOKE && op.selector != NULL) {
		/* Revoke by selector: no SERIAL. */
		if (argc > 0)
			return usage_err(c, "--selector and SERIAL do not go "
			    "together; give one of them:", argv[0]);
		argc = c->nargs;
		arg = NULL;
	} else if (argc > c->nargs)
		return usage_err(c, "unexpected argument", argv[c->nargs]);
	if (argc < c->nargs)
		return usage_err(c, "missing argument", NULL);
	if (c->nargs == 1 && op.selector == NULL)
		arg = argv[0];
	if (c->opts & O_SERVER) {
		if (conf.url == NULL)
			return usage_err(c, "no server: give -s URL or set "
			    "CARAPACE_SERVER", NULL);
	}

	switch (c->id) {
	case CMD_REQUEST:
	case CMD_RENEW:
		rq.conf = conf;
		memcpy(rq.names, names, nnames * sizeof(names[0]));
		rq.nnames = nnames;
		if (rq.cert_out == NULL)
			return usage_err(c, "--cert-out FILE is required",
			    NULL);
		hsm_key = rq.key != NULL &&
		    strncmp(rq.key, "pkcs11:", 7) == 0;
		if (hsm_key && rq.module == NULL)
			return usage_err(c, "--key pkcs11:... needs --module, "
			    "the HSM's PKCS#11 module", NULL);
		if (!hsm_key && (rq.module != NULL || rq.pin_source != NULL))
			return usage_err(c, "--module and --pin-source go with "
			    "--key pkcs11:URI", NULL);
		if (c->id == CMD_REQUEST) {
			if ((ret = request_attestation_check(c, &rq)) !=
			    CLIENT_EXIT_OK)
				return ret;
			if (nnames == 0)
				return usage_err(c, "give at least one --name",
				    NULL);
			if (rq.key != NULL && (rq.key_out != NULL ||
			    (rq.key_type != NULL && !hsm_key)))
				return usage_err(c, "--key uses an existing "
				    "key; --key-out and --key-type go with a "
				    "new one (--key-type also with a pkcs11: "
				    "key the token does not hold yet)", NULL);
			if (rq.key == NULL && rq.key_out == NULL)
				return usage_err(c, "--key-out FILE is "
				    "required for the new key (or give --key)",
				    NULL);
			ret = client_request_run(&rq);
		} else {
			if (rq.cert == NULL || rq.key == NULL)
				return usage_err(c, "--cert and --key (the "
				    "current certificate and key) are "
				    "required", NULL);
			if (rq.new_key != (rq.key_out != NULL))
				return usage_err(c, "--new-key and --key-out go "
				    "together", NULL);
			if (!rq.new_key && rq.key_type != NULL)
				return usage_err(c, "--key-type goes with "
				    "--new-key", NULL);
			ret = client_renew_run(&rq);
		}
		break;
	default:
		op.conf = conf;
		memcpy(op.names, names, nnames * sizeof(names[0]));
		op.nnames = nnames;
		op.arg = arg;
		switch (c->id) {
		case CMD_TOKEN_CREATE:
			ret = client_token_create(&op);
			break;
		case CMD_TOKEN_LIST:
			ret = client_token_list(&op);
			break;
		case CMD_TOKEN_REVOKE:
			ret = client_token_revoke(&op);
			break;
		case CMD_REVOKE:
			ret = client_revoke(&op);
			break;
		case CMD_LIST:
			ret = client_list(&op);
			break;
		case CMD_SHOW:
			ret = client_show(&op);
			break;
		case CMD_LOG_VERIFY:
			ret = client_log_verify(&op);
			break;
		case CMD_LOG_INIT:
			if (op.log == NULL)
				return usage_err(c, "--log FILE is required",
				    NULL);
			ret = client_log_init(&op);
			break;
		default:
			ret = CLIENT_EXIT_USAGE;
			break;
		}
		break;
	}
	return ret;
}

int
main(int argc, char *argv[])
{
	const struct cmd *c = NULL;
	size_t i;
	int skip, ret;

	if (argc < 2) {
		usage(stderr);
		return CLIENT_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLIENT_EXIT_OK;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("%s %s\n", PROGNAME, PACKAGE_VERSION);
		return CLIENT_EXIT_OK;
	}
	for (i = 0; i < NCMDS; i++) {
		if (strcmp(argv[1], cmds[i].word1) != 0)
			continue;
		if (cmds[i].word2 == NULL || (argc > 2 &&
		    strcmp(argv[2], cmds[i].word2) == 0)) {
			c = &cmds[i];
			break;
		}
	}
	if (c == NULL) {
		if (strcmp(argv[1], "token") == 0 || strcmp(argv[1], "log") ==
		    0)
			fprintf(stderr, PROGNAME ": %s: unknown or missing "
			    "subcommand%s%s\n", argv[1], argc > 2 ? " " : "",
			    argc > 2 ? argv[2] : "");
		else
			fprintf(stderr, PROGNAME ": %s: unknown command\n",
			    argv[1]);
		usage(stderr);
		return CLIENT_EXIT_USAGE;
	}
	/* Token secrets and new private keys pass through here: no cores. */
	if (secure_no_core_dumps() != CA_OK) {
		fprintf(stderr, PROGNAME ": cannot disable core dumps: %s\n",
		    ca_error_detail());
		return CLIENT_EXIT_FAILED;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, PROGNAME ": cannot initialise libsodium\n");
		return CLIENT_EXIT_FAILED;
	}
	skip = c->word2 != NULL ? 2 : 1;
	ret = run(c, argc - skip, argv + skip);
	return ret;
}
