/* report: the eco-report service. Makes the center's reports on their
 * schedule and on request, from the database's report functions
 * (schemas/sql/0021_report.sql), and publishes them:
 *   the schedule (rpt.report_claim)  -> the daily report of each day closed
 *                                       ECO_REPORT_DELAY_MIN ago, the monthly
 *                                       one of each month; missed ones (up to
 *                                       ECO_REPORT_CATCHUP_DAYS back) on start
 *   eco/v1/rpc/report/run/{caller}   -> the report asked for, made again
 *   eco/v1/rpc/report/series/{caller} -> rpt.series: a site's recent values,
 *                                       on a database connection of its
 *                                       own (never behind a report)
 *   every ECO_REPORT_LAYERS_S        -> the one map's GeoJSON layers
 *   every ECO_REPORT_REFRESH_S       -> rpt.refresh: the stored day-level
 *                                       results of the days whose readings
 *                                       changed
 *   every ECO_REPORT_COMPACT_S       -> obs.compact_partitions: a month closed
 *                                       ECO_REPORT_COMPACT_AFTER_D ago
 *                                       rewritten in site order
 * Each report becomes files in ECO_REPORT_OUT_DIR (rout.h: JSON, HTML, CSV)
 * and the retained message eco/v1/report/{kind}/{period}; each layer a file
 * layers/layer-{name}.geojson and the retained eco/v1/report/layer/{name}.
 * Several instances share the schedule: a report is claimed in the
 * database (rpt.report_run) by one of them.
 *
 * Threading: everything on the loop thread but the rendering and writing of
 * files, which a libuv worker does with data it owns (no handle, no
 * connection, no service state). */
#ifndef ECO_REPORT_H
#define ECO_REPORT_H

#include "cfg.h"

#include <stdint.h>
#include <uv.h>

struct report_conf {
    char mqtt_url[CFG_STR_MAX];
    char mqtt_user[CFG_STR_MAX];
    char mqtt_password[CFG_STR_MAX];
    char mqtt_cafile[CFG_STR_MAX];
    char pg_dsn[CFG_STR_MAX];
    char instance[CFG_STR_MAX];
    char share_group[CFG_STR_MAX];
    char log_level[CFG_STR_MAX];
    char out_dir[CFG_STR_MAX];
    int64_t delay_min;
    int64_t catchup_days;
    int64_t check_s;
    int64_t layers_s;
    int64_t refresh_s;
    int64_t compact_s;
    int64_t compact_after_d;
    int64_t status_s;
    int64_t drain_s;
};

extern const struct cfg_prog report_prog;

struct report;

/* conf is borrowed and must outlive the service. Returns 0 or -ENOMEM. */
int report_new(uv_loop_t *loop, const struct report_conf *conf, struct report **out);
int report_start(struct report *r);
/* Stops taking work, lets the report in hand finish (up to
 * ECO_REPORT_DRAIN_S) and closes; done(arg) runs once every handle is
 * closed. */
void report_stop(struct report *r, void (*done)(void *arg), void *arg);
void report_free(struct report *r);
int report_exit_code(const struct report *r);

#endif
