/* SPDX-License-Identifier: ISC */
/*
 * secure: keep secrets out of core dumps and the ceremony off the network.
 * A root key ceremony runs on an air-gapped machine; an interface that is
 * up with an address means the machine is not air-gapped, so the ceremony
 * refuses to run (tests say --allow-network). The confirmation helper
 * accepts only an explicit "yes", so a stray Enter never signs anything.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <sodium.h>

#include "common/ca_error.h"
#include "common/secure.h"

/* The longest line secure_confirm reads; longer answers are "no". */
#define SECURE_CONFIRM_MAX	64

int
secure_no_core_dumps(void)
{
	struct rlimit rl;

	rl.rlim_cur = 0;
	rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		return ca_error(CA_ERR_INTERNAL, "setrlimit(RLIMIT_CORE, 0): %s",
		    strerror(errno));
#ifndef CA_SANITIZERS
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return ca_error(CA_ERR_INTERNAL, "prctl(PR_SET_DUMPABLE, 0): %s",
		    strerror(errno));
#endif
	return CA_OK;
}

int
secure_network_check(void)
{
	struct ifaddrs *ifa = NULL, *i;
	char addr[INET6_ADDRSTRLEN];
	const void *a;
	int rc = CA_ERR_INTERNAL;

	if (getifaddrs(&ifa) == -1) {
		rc = ca_error(CA_ERR_INTERNAL, "getifaddrs: %s",
		    strerror(errno));
		goto out;
	}
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_UP) == 0 ||
		    (i->ifa_flags & IFF_LOOPBACK) != 0)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			a = &((const struct sockaddr_in *)(const void *)
			    i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6)
			a = &((const struct sockaddr_in6 *)(const void *)
			    i->ifa_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(i->ifa_addr->sa_family, a, addr,
		    sizeof(addr)) == NULL)
			strcpy(addr, "?");
		rc = ca_error(CA_ERR_POLICY, "network interface %s (%s) is up; "
		    "a key ceremony runs on an air-gapped machine (take the "
		    "interface down, or pass --allow-network for a test)",
		    i->ifa_name, addr);
		goto out;
	}
	rc = CA_OK;
 out:
	if (ifa != NULL)
		freeifaddrs(ifa);
	return rc;
}

int
secure_confirm(FILE *in)
{
	char line[SECURE_CONFIRM_MAX];
	size_t n;
	char *s;
	int c;

	if (fgets(line, sizeof(line), in) == NULL)
		return ca_error(CA_ERR_CANCELLED, "no confirmation (end of "
		    "input)");
	n = strlen(line);
	if (n > 0 && line[n - 1] != '\n' && !feof(in)) {
		/* Swallow the rest of an over-long line: it is not "yes". */
		while ((c = fgetc(in)) != EOF && c != '\n')
			;
		return ca_error(CA_ERR_CANCELLED, "the officer did not type "
		    "\"yes\"");
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
	    line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	if (strcmp(s, "yes") != 0)
		return ca_error(CA_ERR_CANCELLED, "the officer did not type "
		    "\"yes\"");
	return CA_OK;
}

void
secure_env_forget(const char *name)
{
	char *v;

	if (name == NULL || *name == '\0')
		return;
	if ((v = getenv(name)) != NULL)
		sodium_memzero(v, strlen(v));
	(void)unsetenv(name);
}
