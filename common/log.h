/* SPDX-License-Identifier: ISC */
/*
 * log: the programs' one way to say things to the operator.
 *
 * Messages go to stderr prefixed with the program name, or to syslog for a
 * daemon. Library code (hsm/, common/ other than this file) does not log; it
 * returns ca_err codes with a detail message that the program logs here.
 * Never pass a PIN, token or key to these functions.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>
#include <time.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* log_init sets the program name, the threshold and the sink. */
void log_init(const char *progname, enum log_level threshold, int use_syslog);

void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/*
 * log_ca_err logs "what: <ca_strerror(rc)>: <ca_error_detail()>" at error
 * level and returns rc.
 */
int log_ca_err(int rc, const char *what);

/*
 * log_time_str writes t as UTC "YYYY-MM-DDThh:mm:ssZ" into buf (32 bytes
 * are enough), or "@SECONDS" when it has no calendar form; returns buf.
 */
const char *log_time_str(char *buf, size_t len, time_t t);

#endif /* LOG_H */
