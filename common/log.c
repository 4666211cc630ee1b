/* SPDX-License-Identifier: ISC */
/*
 * log: messages to stderr or syslog for the programs. See log.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "common/ca_error.h"
#include "common/log.h"

static const char *log_progname = "carapace";
static enum log_level log_threshold = LOG_LVL_INFO;
static int log_syslog;

void
log_init(const char *progname, enum log_level threshold, int use_syslog)
{
	log_progname = progname;
	log_threshold = threshold;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
	va_list ap;

	if (lvl > log_threshold)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio[lvl], fmt, ap);
	} else {
		flockfile(stderr);
		fprintf(stderr, "%s: %s", log_progname, tag[lvl]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		funlockfile(stderr);
	}
	va_end(ap);
}

int
log_ca_err(int rc, const char *what)
{
	const char *d = ca_error_detail();

	if (d[0] != '\0')
		log_err("%s: %s: %s", what, ca_strerror(rc), d);
	else
		log_err("%s: %s", what, ca_strerror(rc));
	return rc;
}

const char *
log_time_str(char *buf, size_t len, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
	return buf;
}
