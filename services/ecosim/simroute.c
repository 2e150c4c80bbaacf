#include "simroute.h"

#include "etime.h"
#include "simnet.h"
#include "simrng.h"

#include <math.h>

struct simroute__wp {
    double lon, lat;
};

/* Closed polylines: the last point connects back to the first. The
 * southern corridor is written out and back so both routes are laps. */
static const struct simroute__wp simroute__south[] = {
    {122.106, 30.018},                                       /* Dinghai old town */
    {122.130, 30.012}, {122.158, 30.004}, {122.200, 29.990}, /* Lincheng new town */
    {122.232, 29.982}, {122.270, 29.967},                    /* Donggang */
    {122.300, 29.955},                                       /* Shenjiamen */
    {122.325, 29.940}, {122.370, 29.915},                    /* Zhujiajian */
    {122.325, 29.940}, {122.300, 29.955}, {122.270, 29.967}, {122.232, 29.982},
    {122.200, 29.990}, {122.158, 30.004}, {122.130, 30.012},
};
static const struct simroute__wp simroute__north[] = {
    {122.106, 30.018}, /* Dinghai old town */
    {122.080, 30.030}, /* Yancang */
    {122.055, 30.045}, /* Shuangqiao */
    {122.010, 30.065}, /* Cengang bridge approach */
    {122.020, 30.085}, /* Cengang */
    {122.095, 30.080}, /* Ganlan */
    {122.145, 30.105}, /* Majiao */
    {122.190, 30.070}, /* Baiquan */
    {122.200, 30.010}, /* Lincheng north */
    {122.150, 30.010},
};

static const struct simroute__wp *simroute__get(int route, int *n)
{
    if (((route % SIMROUTE_COUNT) + SIMROUTE_COUNT) % SIMROUTE_COUNT == 0) {
        *n = (int)(sizeof(simroute__south) / sizeof(simroute__south[0]));
        return simroute__south;
    }
    *n = (int)(sizeof(simroute__north) / sizeof(simroute__north[0]));
    return simroute__north;
}

static double simroute__seg_m(const struct simroute__wp *w, int n, int i)
{
    const struct simroute__wp *a = &w[i], *b = &w[(i + 1) % n];
    return simnet_dist_m(a->lon, a->lat, b->lon, b->lat);
}

double simroute_length_m(int route)
{
    int n;
    const struct simroute__wp *w = simroute__get(route, &n);
    double len = 0;
    for (int i = 0; i < n; i++)
        len += simroute__seg_m(w, n, i);
    return len;
}

void simroute_point(int route, double f, double *lon, double *lat)
{
    int n;
    const struct simroute__wp *w = simroute__get(route, &n);
    double left = fmin(fmax(f, 0.0), 1.0) * simroute_length_m(route);

    for (int i = 0; i < n; i++) {
        double seg = simroute__seg_m(w, n, i);
        if (left <= seg || i == n - 1) {
            const struct simroute__wp *a = &w[i], *b = &w[(i + 1) % n];
            double u = seg > 0 ? fmin(left / seg, 1.0) : 0;
            *lon = a->lon + (b->lon - a->lon) * u;
            *lat = a->lat + (b->lat - a->lat) * u;
            return;
        }
        left -= seg;
    }
}

/* Speed on segment i of this vehicle: 30-50 km/h, the same on every lap. */
static double simroute__speed_ms(uint64_t key, int i)
{
    double kmh = 30.0 + 20.0 * simrng_hash_unit(simrng_mix2(key, (uint64_t)i + 0x51));
    return kmh / 3.6;
}

void simroute_plan(int route, uint64_t key, struct simroute_plan *plan)
{
    int n;
    const struct simroute__wp *w = simroute__get(route, &n);

    plan->route = route;
    plan->n = n < SIMROUTE_WP_MAX ? n : SIMROUTE_WP_MAX;
    plan->lap_s = 0;
    for (int i = 0; i < plan->n; i++) {
        plan->speed[i] = simroute__speed_ms(key, i);
        plan->seg_s[i] = simroute__seg_m(w, n, i) / plan->speed[i];
        plan->lap_s += plan->seg_s[i];
    }
}

void simroute_pos(const struct simroute_plan *plan, int64_t t_us, struct simroute_pos *out)
{
    const int64_t day_s = 86400, duty_from = 7 * 3600 + 1800, duty_to = 18 * 3600 + 1800;
    int n;
    const struct simroute__wp *w = simroute__get(plan->route, &n);
    int64_t local_s = t_us / ETIME_US_PER_SEC + ETIME_BEIJING_OFFSET;
    int64_t sod = ((local_s % day_s) + day_s) % day_s;
    double tau;

    out->lon = w[0].lon;
    out->lat = w[0].lat;
    out->driving = false;
    out->speed_kmh = 0;
    if (sod < duty_from || sod >= duty_to || plan->lap_s <= 0)
        return;
    tau = fmod((double)(sod - duty_from) + (double)(t_us % ETIME_US_PER_SEC) / 1e6, plan->lap_s);
    for (int i = 0; i < plan->n; i++) {
        double dt = plan->seg_s[i];
        if (tau <= dt || i == plan->n - 1) {
            const struct simroute__wp *a = &w[i], *b = &w[(i + 1) % n];
            double u = dt > 0 ? fmin(tau / dt, 1.0) : 0;
            out->lon = a->lon + (b->lon - a->lon) * u;
            out->lat = a->lat + (b->lat - a->lat) * u;
            out->driving = true;
            out->speed_kmh = plan->speed[i] * 3.6;
            return;
        }
        tau -= dt;
    }
}
