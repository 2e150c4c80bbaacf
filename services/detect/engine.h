/* engine: the detection rules over per-series state, in data time.
 *
 * Readings go in one at a time (eng_feed), in the order they were stored;
 * alarm transitions come out through a callback (raise, update, clear),
 * each stamped with the data time of the reading behind it. The engine
 * knows nothing of sockets or SQL, so the live service, the warm-up after a
 * restart, `ecoctl detect replay` and the unit tests drive the same code and
 * get the same alarms.
 *
 * A series is (site, parameter, period). Each rule watches one period of a
 * (site, parameter): the finest one that has data (for `limit`, the finest
 * one that has an applicable limit), so an hourly mean and the 10-minute
 * values it is made of never open two alarms of one rule. `offline` is per
 * site and fires on the data-time watermark (eng_advance), which the live
 * service moves on with the wall clock when nothing arrives.
 *
 * Memory is bounded: at most `max_series` series (about 400 bytes each);
 * readings of series past the bound are counted and not watched.
 *
 * Threading: one engine per thread; nothing shared. */
#ifndef ECO_ENGINE_H
#define ECO_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dreg;

enum eng_rule {
    ENG_LIMIT,
    ENG_FLATLINE,
    ENG_SPIKE,
    ENG_RANGE,
    ENG_FLAG,
    ENG_OFFLINE,
    ENG_BASELINE,
    ENG_NEIGHBOUR,
    ENG_HOTSPOT,
    ENG_NRULES
};

enum eng_action { ENG_RAISE, ENG_UPDATE, ENG_CLEAR };

enum eng_sev { ENG_MINOR, ENG_MAJOR, ENG_CRITICAL };

/* One stored reading. ts is the start of its period, microseconds since the
 * epoch; lat/lon are NAN when the reading has no position. */
struct eng_reading {
    int site_id;
    int param_id;
    char period; /* 'r' rt, 'm' min, 'h' hour, 'd' day (as in obs.reading) */
    char flag;   /* HJ 212 data flag, 'N' when normal */
    int64_t ts;
    double value;
    double lat, lon;
};

/* An alarm transition. param_id is 0 for site-wide rules (offline). value,
 * limit are NAN when the rule has none. opened is the data time the alarm
 * was raised at (equal to ts for a raise). */
struct eng_event {
    int site_id;
    int param_id;
    char period;
    enum eng_rule rule;
    enum eng_action action;
    enum eng_sev severity;
    int64_t ts;
    int64_t opened;
    double value;
    double limit;
    double peak;
    double lat, lon; /* hotspot: where (NAN otherwise) */
};

/* Receives each event; ev is borrowed for the call. */
typedef void (*eng_emit_fn)(void *ud, const struct eng_event *ev);

struct eng;

struct eng_stats {
    uint64_t readings;  /* fed */
    uint64_t repeats;   /* at or before the series' last time: not counted again */
    uint64_t unknown;   /* site or parameter not in the registry */
    uint64_t unwatched; /* series past max_series */
    uint64_t events;
    size_t series;
};

/* Creates an engine over registry `reg` (borrowed; see eng_set_registry).
 * Returns 0, -EINVAL or -ENOMEM. */
int eng_new(const struct dreg *reg, size_t max_series, eng_emit_fn emit, void *ud,
            struct eng **out);
void eng_free(struct eng *e);

/* Points the engine at a newly loaded registry (the old one may be freed
 * after this returns). Series keep their learned state; limits and rule
 * settings are looked up again. Series of sites or parameters no longer in
 * the registry stay as they are until they receive a reading. */
void eng_set_registry(struct eng *e, const struct dreg *reg);

/* Notes that an alarm is open (loaded from the database at start), so that
 * the rules neither raise it again nor forget to clear it. Returns 0,
 * -ENOENT (unknown site/parameter), -ENOSPC (series bound). */
int eng_note_open(struct eng *e, int site_id, int param_id, char period, enum eng_rule rule,
                  int64_t opened, double peak, enum eng_sev sev);

/* Feeds one reading; may emit events before returning. */
void eng_feed(struct eng *e, const struct eng_reading *r);

/* A value ingest refused (its dead letter): raises `range` when it lies
 * outside the parameter's valid range; the series' next accepted reading
 * clears it. Learns nothing from it. */
void eng_feed_rejected(struct eng *e, const struct eng_reading *r);

/* Moves the data-time watermark to `wm` (never backwards) and fires the
 * `offline` alarms that are due. The engine also moves it itself with the
 * end of every reading's period. */
void eng_advance(struct eng *e, int64_t wm);

/* The data-time watermark: the latest end of a period seen (or set). */
int64_t eng_watermark(const struct eng *e);

void eng_stats(const struct eng *e, struct eng_stats *out);

/* Names as in rpt.alarm.rule and the alarm events ("limit", "flatline", ...). */
const char *eng_rule_name(enum eng_rule r);
/* Returns the rule for a name, or -1. */
int eng_rule_parse(const char *name);
const char *eng_sev_name(enum eng_sev s);
int eng_sev_parse(const char *name);
/* Length of a period in microseconds ('r' counts 30 s). */
int64_t eng_period_us(char period);

#endif
