/* SPDX-License-Identifier: ISC */
/*
 * secure: process hygiene for the programs that hold a CA key or a PIN:
 * no core dumps, and (for the offline ceremony) no network.
 *
 * Every function returns CA_OK or a ca_err code with a detail message.
 */
#ifndef SECURE_H
#define SECURE_H

#include <stdio.h>

/*
 * secure_no_core_dumps sets RLIMIT_CORE to 0 and, except in sanitizer
 * builds (CA_SANITIZERS: LeakSanitizer must be able to ptrace the
 * process), marks the process non-dumpable (PR_SET_DUMPABLE 0), which also
 * keeps other processes of the same user from attaching to it.
 */
int secure_no_core_dumps(void) __attribute__((warn_unused_result));

/*
 * secure_network_check fails (CA_ERR_POLICY) when any interface that is up
 * and not a loopback has an IPv4 or IPv6 address, naming the interface and
 * the address: "eth0 (192.0.2.2) is up; ...".
 */
int secure_network_check(void) __attribute__((warn_unused_result));

/*
 * secure_confirm reads one line from in and returns CA_OK when it is
 * exactly "yes" (surrounding blanks ignored), CA_ERR_CANCELLED for
 * anything else, end of file included. The prompt is the caller's.
 */
int secure_confirm(FILE *in) __attribute__((warn_unused_result));

/*
 * secure_env_forget wipes the value of environment variable name in place
 * and removes the variable, so that a secret read from it (a PIN, a join
 * token) is not inherited by a child process or left in the environment
 * for a core dump. Call it once the value has been copied.
 */
void secure_env_forget(const char *name);

#endif /* SECURE_H */
