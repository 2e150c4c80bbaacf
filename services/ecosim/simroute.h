/* simroute: where the mobile monitoring vehicles are. Two fixed routes on
 * Zhoushan Island's main roads (waypoints approximated by hand, not
 * surveyed): the southern corridor Dinghai - Lincheng - Shenjiamen -
 * Zhujiajian and back, and a loop Dinghai - Cengang (the bridge towards
 * Ningbo) - Majiao - Baiquan - Lincheng - Dinghai.
 *
 * Vehicles drive 07:30-18:30 Beijing time at 30-50 km/h (a speed per road
 * segment, fixed by the vehicle's key) and are parked (not measuring) the
 * rest of the time. Positions are a pure function of (route, key, time):
 * any instant can be asked for in any order. Thread-safe. */
#ifndef ECO_SIMROUTE_H
#define ECO_SIMROUTE_H

#include <stdbool.h>
#include <stdint.h>

#define SIMROUTE_COUNT 2

/* Longest route, in waypoints. */
#define SIMROUTE_WP_MAX 32

/* A vehicle's timetable on its route, computed once (simroute_plan). */
struct simroute_plan {
    int route, n;
    double seg_s[SIMROUTE_WP_MAX]; /* driving time of each segment */
    double speed[SIMROUTE_WP_MAX]; /* m/s */
    double lap_s;
};

struct simroute_pos {
    double lon, lat;
    bool driving;     /* false: parked at the depot, off duty */
    double speed_kmh; /* on the current segment; 0 when parked */
};

/* Plans the vehicle with this key on route (taken modulo SIMROUTE_COUNT):
 * its speed on each segment. */
void simroute_plan(int route, uint64_t key, struct simroute_plan *plan);

/* Position at t_us (microseconds since the epoch) of a planned vehicle. */
void simroute_pos(const struct simroute_plan *plan, int64_t t_us, struct simroute_pos *out);

/* The point at fraction f (0..1) of the route's length. */
void simroute_point(int route, double f, double *lon, double *lat);

/* Route length in metres (a full lap). */
double simroute_length_m(int route);

#endif
