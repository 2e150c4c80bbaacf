/* asql: eco-detect's side of the database and the wire, shared by the
 * service (live and warm-up) and `ecoctl detect replay`.
 *
 * - the readings query the rules are run over, in data-time order;
 * - alarm transitions as the JSON batch alarm.apply() takes, and the rows it
 *   returns for the transitions that took effect;
 * - the open alarms a restart starts from;
 * - the alarm event published on eco/v1/alarm/{site}/{param};
 * - readings objects (obs messages and the dead letters of ingest) turned
 *   into engine readings.
 *
 * Everything here is pure: no connection, no loop. Not thread-safe only in
 * that a struct buf is the caller's. */
#ifndef ECO_ASQL_H
#define ECO_ASQL_H

#include "buf.h"
#include "engine.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct dreg;

/* Readings to run the rules over: $1..$4 the start (µs since the epoch) for
 * rt, min, hour and day series, $5 the end (exclusive), $6/$7 the partition
 * (site_id % $6 = $7), $8 site ids ('{}': all). Columns: site_id, param_id,
 * period, ts (µs), value, flag, lat, lon (NaN without a position). Ordered
 * by time, finer periods first. */
extern const char ASQL_READINGS[];
/* Dead letters of ingest received in [$1, $2) (µs): source, payload. */
extern const char ASQL_DEADLETTERS[];
/* SELECT i, alarm_id, action, incident FROM alarm.apply($1) */
extern const char ASQL_APPLY[];
/* Run once on each connection that stores transitions, before its first
 * batch: a raise, update and clear of a made-up alarm (site -1, 1970) applied
 * and rolled back, so that the connection's first real batch (the first
 * storm after a start) does not compile alarm.apply and plan each of its
 * statements (about 150 ms on the 2-core test machine). It uses up one id of
 * each alarm sequence. */
extern const char ASQL_APPLY_WARM[];
/* Open live alarms: site_id, param_id (0), period, rule, severity,
 * opened_at (µs), peak (NaN). $1/$2: the partition as above. */
extern const char ASQL_OPEN[];

/* Appends one transition of the batch (a JSON object; the caller writes the
 * brackets and commas). Returns 0 or -ENOSPC when b is full. */
int asql_event_json(struct buf *b, int i, const struct eng_event *ev, bool replay);

/* Values ingest refused (from its dead letters), in data-time order, to be
 * fed in between the stored readings. */
struct asql_rejects {
    struct eng_reading *r;
    size_t n, cap, next;
};

/* Reads the dead letters of an ASQL_DEADLETTERS result whose values lie in
 * [from, to) and sorts them. Returns 0 or -ENOMEM (at most `max` kept). */
int asql_rejects_load(struct asql_rejects *rj, const struct dreg *reg, const PGresult *res,
                      int64_t from, int64_t to, size_t max);
void asql_rejects_close(struct asql_rejects *rj);

/* Feeds every row of a readings result (ASQL_READINGS) to the engine, and
 * before each the refused values (rj, may be NULL) up to its time. Returns
 * the rows read, or -EBADMSG on a row it cannot read. */
int asql_feed_rows(struct eng *e, const PGresult *res, struct asql_rejects *rj);

/* Notes every open alarm of an ASQL_OPEN result in the engine. Returns how
 * many it could note. */
int asql_note_open(struct eng *e, const PGresult *res);

/* The alarm event for eco/v1/alarm/{site}/{param}: appends the payload to b
 * and writes the topic. action is "raised", "updated" or "cleared". Returns
 * 0, -ENOENT (site no longer in the registry) or -ENOSPC. */
int asql_alarm_msg(const struct dreg *reg, const struct eng_event *ev, long long id,
                   long long incident, const char *action, bool replay, char *topic,
                   size_t topiccap, struct buf *b);

/* Calls fn for every value of a readings object: an object of an obs
 * message ({device, ts, period, values: {code: {v, unit, flag}}, lat,
 * lon}) or of an input message (values may be plain numbers). Values of
 * unknown parameters are skipped. Returns the number of values, or
 * -EBADMSG with *why set when the object itself cannot be read. */
int asql_readings(const struct dreg *reg, const cJSON *obj, int site_id,
                  void (*fn)(void *ud, const struct eng_reading *r), void *ud, const char **why);

/* Period name ("hour") to the obs.reading code ('h'); 0 when unknown. */
char asql_period_code(const char *name);
const char *asql_period_name(char code);

#endif
