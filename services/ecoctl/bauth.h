/* bauth: the broker's accounts, rendered from the database.
 *
 * mosquitto reads a password file and an ACL file; ecoctl writes both into
 * ECO_BROKER_AUTH_DIR and sends the broker SIGHUP (its pid from
 * ECO_BROKER_PID_FILE), which makes it re-read them, refuse removed or
 * changed credentials from then on and disconnect clients whose account is
 * gone (docs/SECURITY.md, measured in bench/broker_accounts.sh).
 *
 * The directory holds, besides the two generated files `passwd` and `acl`:
 *   services.passwd  the service accounts' hashes (deploy/stack.sh, or the
 *                    operator with mosquitto_passwd), copied first;
 *   services.acl     the services' rights (deploy/mosquitto/acl), copied
 *                    first; the generated part follows it.
 * Generated: one password line per active MQTT device that has a broker
 * hash (core.device.broker_hash) and per active person (core.account), a
 * `pattern write eco/v1/in/%u` line for the devices and one ACL block per
 * person after their role. A device or person named like a service account
 * gets no account (warned): the service's line wins.
 *
 * Blocking libpq: ecoctl is a command line, not a loop service. Library
 * code: errors come back as a negative errno plus a reason in why. */
#ifndef ECO_BAUTH_H
#define ECO_BAUTH_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct bauth_stats {
    long services, devices, people, skipped;
    bool rendered, reloaded; /* false when the setting was not given */
    double secs;             /* render + reload, wall clock */
};

/* The person roles, NULL-terminated. */
extern const char *const bauth_roles[];

/* True when s is a valid broker user name (the core.account.username and
 * device code syntax: 1-64 of A-Z a-z 0-9 _ . -). */
bool bauth_valid_name(const char *s);

/* Renders dir/passwd and dir/acl from the database through c (a role that
 * may read the hashes: eco_ctl or the owner). Each file is written to a
 * temporary file in dir and renamed over the old one, keeping the old
 * one's mode and group (0600 for a new file). Returns 0, -ENOENT (a
 * services.* file is missing), -EIO (database or file error). */
int bauth_render(PGconn *c, const char *dir, struct bauth_stats *st, char *why, size_t cap);

/* Sends SIGHUP to the mosquitto whose pid is in pidfile. Returns 0,
 * -ESRCH (no such process, or it is not mosquitto), -EIO. */
int bauth_reload(const char *pidfile, char *why, size_t cap);

/* Render into auth_dir and reload through pid_file, each skipped when its
 * argument is NULL or empty (st->rendered / st->reloaded tell). Serialised
 * across ecoctl processes by an advisory lock on c. */
int bauth_sync(PGconn *c, const char *auth_dir, const char *pid_file, struct bauth_stats *st,
               char *why, size_t cap);

/* For `ecoctl registry load`, inside its transaction after the devices are
 * upserted: gives every MQTT device of the staging table rg_device (code,
 * protocol, password) a broker hash of its password, unless the stored one
 * already matches it. *hashed counts the hashes written. Returns 0 or -EIO. */
int bauth_stage_devices(PGconn *c, long *hashed, char *why, size_t cap);

/* For `ecoctl registry load` after its commit: bauth_sync, with one line
 * on stderr saying what it did or why it failed (stdout may carry --json).
 * Returns 0 or the negative errno of bauth_sync. */
int bauth_registry_loaded(PGconn *c, const char *auth_dir, const char *pid_file);

#endif
