/* dispatch: the eco-dispatch service. Carries messages between the broker
 * and the work-order functions of the database (schemas/sql/0019_wo.sql),
 * where the closed loop itself lives:
 *   eco/v1/alarm/#                   -> wo.on_alarm (opens, joins, reopens)
 *   eco/v1/complaint/new             -> wo.on_complaint (refused: dead letter)
 *   eco/v1/rpc/dispatch/{m}/{caller} -> wo.rpc, answered on the response topic
 *                                       (wo.export: wo.open311, 0020_open311.sql)
 *   the clock                        -> wo.tick (reminders, overdue, escalation)
 *                                       and a sweep of open alarms without
 *                                       an order (a missed event, a policy
 *                                       whose duration was reached)
 *   wo.outbox                        -> eco/v1/wo/{dept}/{id}, deleted once
 *                                       the broker acknowledged each event
 * Several instances share the work: shared subscriptions split the
 * messages, and the database's row locks split the clock and the outbox.
 *
 * Threading: everything on the loop thread. */
#ifndef ECO_DISPATCH_H
#define ECO_DISPATCH_H

#include "cfg.h"

#include <stdint.h>
#include <uv.h>

struct dispatch_conf {
    char mqtt_url[CFG_STR_MAX];
    char mqtt_user[CFG_STR_MAX];
    char mqtt_password[CFG_STR_MAX];
    char mqtt_cafile[CFG_STR_MAX];
    char pg_dsn[CFG_STR_MAX];
    char instance[CFG_STR_MAX];
    char share_group[CFG_STR_MAX];
    char log_level[CFG_STR_MAX];
    int64_t tick_ms;
    int64_t sweep_s;
    int64_t status_s;
    int64_t max_payload;
    int64_t max_pending;
    int64_t drain_s;
};

extern const struct cfg_prog dispatch_prog;

struct dispatch;

/* conf is borrowed and must outlive the service. Returns 0 or -ENOMEM. */
int dispatch_new(uv_loop_t *loop, const struct dispatch_conf *conf, struct dispatch **out);
int dispatch_start(struct dispatch *d);
/* Stops reading, finishes the requests in hand (up to ECO_DISPATCH_DRAIN_S)
 * and closes; done(arg) runs once every handle is closed. */
void dispatch_stop(struct dispatch *d, void (*done)(void *arg), void *arg);
void dispatch_free(struct dispatch *d);
int dispatch_exit_code(const struct dispatch *d);

#endif
