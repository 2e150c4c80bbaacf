/* ecosim generator tests: determinism, aggregation, realism, every incident
 * kind and its visible effect, labels, and the wire formats (JSON of the
 * contract, HJ 212 frames). Pure: no broker, a throwaway network in /tmp.
 *
 * Needs eco_sim_lib (services/ecosim) linked into t_simgen, which also
 * brings its include directory. Without it this file still builds, so the
 * rest of the tree does, but the test fails and says why. */
#if defined(__has_include) && !__has_include("simgen.h")
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "simgen_test: eco_sim_lib is not linked into t_simgen "
                    "(tests/CMakeLists.txt)\n");
    return 1;
}
#else
#include "csv.h"
#include "simgen.h"
#include "siminc.h"
#include "simmodel.h"
#include "simnet.h"
#include "simout.h"

#include "check.h"
#include "etime.h"
#include "hj212.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#define H (3600LL * ETIME_US_PER_SEC)
#define DAY (24 * H)

/* 2024-06-01T00:00:00+08:00 */
static int64_t t0(void)
{
    int64_t us;
    const char *s = "2024-06-01T00:00:00+08:00";
    CHECK_EQ_INT(etime_parse_rfc3339(s, strlen(s), &us, NULL), 0);
    return us;
}

/* ---- fixture network ---------------------------------------------------- */

static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fputs(text, f) >= 0);
    CHECK(fclose(f) == 0);
}

/* Two air stations 40 km apart, two water stations 4 km apart (a river),
 * a gas and a water outlet with limits, a vehicle. The BOM, CRLF, quoted
 * names and an extra column exercise the CSV reader. */
static char *fixture(char *dir)
{
    CHECK(mkdtemp(dir) != NULL);
    put(dir, "params.csv",
        "\xEF\xBB\xBF"
        "code,hj212_code,hj212_2005_code,name,unit,valid_min,valid_max,comment\r\n"
        "pm25,a34004,,PM2.5,\xC2\xB5g/m\xC2\xB3,0,2000,x\r\n"
        "pm10,a34002,,PM10,\xC2\xB5g/m\xC2\xB3,0,3000,\r\n"
        "so2,a21026,,SO2,\xC2\xB5g/m\xC2\xB3,0,3000,\r\n"
        "no2,a21004,,NO2,\xC2\xB5g/m\xC2\xB3,0,2000,\r\n"
        "o3,a05024,,O3,\xC2\xB5g/m\xC2\xB3,0,1500,\r\n"
        "co,a21005,,CO,mg/m\xC2\xB3,0,150,\r\n"
        "nh3n,w21003,060,\"NH3-N, ammonia\",mg/L,0,500,\r\n"
        "codmn,w01019,,CODMn,mg/L,0,100,\r\n"
        "do,w01009,,DO,mg/L,0,25,\r\n"
        "water_temp,w01010,,T,\xC2\xB0"
        "C,-2,45,\r\n"
        "ph,w01001,001,pH,dimensionless,0,14,\r\n"
        "so2_stack,,02,\"SO2 \"\"flue\"\"\",mg/m\xC2\xB3,0,10000,\r\n"
        "nox_stack,,03,NOx,mg/m\xC2\xB3,0,10000,\r\n"
        "o2_stack,a19001,S01,O2,%,0,25,\r\n"
        "flow_stack,a00000,B02,flow,m\xC2\xB3/s,0,5000,\r\n"
        "cod,w01018,011,COD,mg/L,0,5000,\r\n"
        "flow,w00000,B01,flow,L/s,0,100000,\r\n");
    put(dir, "sites.csv",
        "code,name,kind,region,enterprise,target_class,lon,lat\n"
        "air-near,\"Near, station\",air,R,,,122.1000,30.0200\n"
        "air-far,Far,air,R,,,122.4000,30.3000\n"
        "water-a,Upstream,water,R,,2,122.0600,30.0550\n"
        "water-b,Downstream,water,R,,3,122.1000,30.0450\n"
        "gas-1,Stack,gas_outlet,R,ent-1,,122.2000,30.0000\n"
        "ww-1,Outfall,water_outlet,R,ent-1,,122.2010,30.0010\n"
        "mob-1,Vehicle,mobile,R,,,,\n"
        "\n"
        "odd-1,Unknown kind,volcano,R,,,122,30\n");
    put(dir, "devices.csv",
        "code,site,protocol,password,hj212_st\n"
        "dev-near,air-near,mqtt,,22\n"
        "dev-far,air-far,mqtt,,22\n"
        "dev-wa,water-a,mqtt,,21\n"
        "dev-wb,water-b,mqtt,,21\n"
        "33092100A100000000000001,gas-1,hj212,123456,31\n"
        "33092100B100000000000001,ww-1,hj212,654321,32\n"
        "dev-mob,mob-1,mqtt,,\n"
        "dev-odd,odd-1,mqtt,,\n");
    put(dir, "limits.csv",
        "site,site_kind,param,period,class,lower,upper,standard\n"
        "gas-1,,so2_stack,hour,,,100,GB\n"
        "gas-1,,nox_stack,hour,,,150,GB\n"
        "ww-1,,cod,day,,,60,GB\n"
        ",water,nh3n,day,3,,1.0,GB 3838\n");
    put(dir, "hj212_map.csv", "st,hj212_code,param\n31,a21026,so2_stack\n31,a21002,nox_stack\n");
    return dir;
}

static struct simnet *load(const char *dir)
{
    struct simnet *net = NULL;
    char err[256];
    int rc = simnet_load(dir, &net, err, sizeof(err));
    if (rc)
        fprintf(stderr, "simnet_load: %s\n", err);
    CHECK_EQ_INT(rc, 0);
    return net;
}

static int site_of(const struct simnet *net, const char *code)
{
    for (size_t i = 0; i < net->nsites; i++)
        if (!strcmp(net->sites[i].code, code))
            return (int)i;
    return -1;
}

static int dev_of_site(const struct simnet *net, int site)
{
    for (size_t i = 0; i < net->ndevices; i++)
        if (net->devices[i].site == site)
            return (int)i;
    return -1;
}

/* ---- running the generator --------------------------------------------- */

struct rec {
    int device, period, param;
    int64_t ts;
    double v;
    char flag;
    double lon, lat;
};

struct recs {
    struct rec *r;
    size_t n, cap;
    uint64_t hash; /* over the rendered JSON lines */
    size_t msgs;
    size_t *slot; /* open-addressing index: record index + 1 */
    size_t nslot;
};

static uint64_t key_hash(int dev, int per, int param, int64_t ts)
{
    uint64_t h = (uint64_t)ts * 0x9e3779b97f4a7c15ULL;
    h ^= ((uint64_t)dev << 32 | (uint64_t)per << 24 | (uint64_t)param) * 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 29);
}

static void index_recs(struct recs *rs)
{
    rs->nslot = 1;
    while (rs->nslot < rs->n * 2 + 16)
        rs->nslot <<= 1;
    rs->slot = calloc(rs->nslot, sizeof(*rs->slot));
    CHECK(rs->slot != NULL);
    for (size_t i = 0; i < rs->n; i++) {
        const struct rec *r = &rs->r[i];
        size_t k = key_hash(r->device, r->period, r->param, r->ts) & (rs->nslot - 1);
        while (rs->slot[k])
            k = (k + 1) & (rs->nslot - 1);
        rs->slot[k] = i + 1;
    }
}

static void opts_default(struct simgen_opts *o, uint64_t seed, int days)
{
    memset(o, 0, sizeof(*o));
    o->seed = seed;
    o->from_us = t0();
    o->to_us = t0() + days * DAY;
    o->rt_s = 30;
    o->min_m = 10;
    for (int k = 0; k < SIMNET_NKINDS; k++)
        o->periods[k] = (1u << SIMNET_HOUR) | (1u << SIMNET_DAY);
    o->periods[SIMNET_GAS_OUTLET] = o->periods[SIMNET_WATER_OUTLET] =
        (1u << SIMNET_MIN) | (1u << SIMNET_HOUR) | (1u << SIMNET_DAY);
    o->periods[SIMNET_MOBILE] = 1u << SIMNET_RT;
}

/* Runs the generator over o's range into out; with `render`, also hashes
 * the JSON of every message (determinism is judged on the wire form). */
static void run_ex(const struct simnet *net, const struct simgen_opts *o, struct recs *out,
                   bool render)
{
    struct simgen *g = NULL;
    const struct simgen_msg *m;
    const char *why = NULL;
    char buf[SIMOUT_PAYLOAD_MAX];
    int rc;

    memset(out, 0, sizeof(*out));
    out->hash = 0xcbf29ce484222325ULL;
    CHECK_EQ_INT(simgen_new(net, o, &g, &why), 0);
    while ((rc = simgen_next(g, INT64_MAX, &m)) == 1) {
        size_t len;
        if (render) {
            CHECK_EQ_INT(simout_json(net, m, buf, sizeof(buf), &len), 0);
            for (size_t i = 0; i < len; i++)
                out->hash = (out->hash ^ (unsigned char)buf[i]) * 0x100000001b3ULL;
        }
        out->hash = (out->hash ^ (uint64_t)m->device) * 0x100000001b3ULL;
        out->msgs++;
        for (int i = 0; i < m->nvals; i++) {
            struct rec *r;
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 4096;
                out->r = realloc(out->r, out->cap * sizeof(*out->r));
                CHECK(out->r != NULL);
            }
            r = &out->r[out->n++];
            r->device = m->device;
            r->period = m->period;
            r->param = m->vals[i].param;
            r->ts = m->ts_us;
            r->v = m->vals[i].v;
            r->flag = m->vals[i].flag;
            r->lon = m->has_pos ? m->lon : NAN;
            r->lat = m->has_pos ? m->lat : NAN;
        }
    }
    CHECK_EQ_INT(rc, 0);
    CHECK(simgen_done(g));
    simgen_free(g);
    index_recs(out);
}

static void run(const struct simnet *net, const struct simgen_opts *o, struct recs *out)
{
    run_ex(net, o, out, false);
}

/* The value of (device, period, param) at ts, NAN when absent. */
static double find(const struct recs *rs, int dev, int per, int param, int64_t ts, char *flag)
{
    size_t k = key_hash(dev, per, param, ts) & (rs->nslot - 1);
    for (; rs->slot[k]; k = (k + 1) & (rs->nslot - 1)) {
        const struct rec *r = &rs->r[rs->slot[k] - 1];
        if (r->device == dev && r->period == per && r->param == param && r->ts == ts) {
            if (flag)
                *flag = r->flag;
            return r->v;
        }
    }
    return NAN;
}

/* ---- labels -------------------------------------------------------------- */

struct label {
    char kind[32], site[80], param[40], flag[4];
    int64_t start, end;
    double factor, limit, amplitude, lon, lat;
    int id, parent;
};

static size_t read_labels(FILE *f, const struct simnet *net, struct label *out, size_t cap)
{
    char line[4096];
    size_t n = 0;

    rewind(f);
    while (fgets(line, sizeof(line), f)) {
        cJSON *o = NULL, *p;
        struct label *l = &out[n];
        const char *s;
        int off;
        double x;
        int64_t id;

        CHECK(n < cap);
        memset(l, 0, sizeof(*l));
        CHECK(line[strlen(line) - 1] == '\n');
        CHECK_EQ_INT(json_parse(line, strlen(line), &o, NULL, 0), 0);
        CHECK_EQ_INT(json_get_str(o, "kind", l->kind, sizeof(l->kind), NULL), 0);
        CHECK_EQ_INT(json_get_str(o, "site", l->site, sizeof(l->site), NULL), 0);
        CHECK(site_of(net, l->site) >= 0);
        p = cJSON_GetObjectItemCaseSensitive(o, "param");
        CHECK(p && (cJSON_IsNull(p) || cJSON_IsString(p)));
        if (cJSON_IsString(p)) {
            CHECK_EQ_INT(json_get_str(o, "param", l->param, sizeof(l->param), NULL), 0);
            CHECK(simnet_param_find(net, l->param) >= 0);
        }
        CHECK_EQ_INT(json_get_strp(o, "start", &s), 0);
        CHECK_EQ_INT(etime_parse_rfc3339(s, strlen(s), &l->start, &off), 0);
        CHECK_EQ_INT(off, ETIME_BEIJING_OFFSET);
        CHECK_EQ_INT(json_get_strp(o, "end", &s), 0);
        CHECK_EQ_INT(etime_parse_rfc3339(s, strlen(s), &l->end, &off), 0);
        CHECK(l->start < l->end);
        CHECK_EQ_INT(json_get_i64(o, "id", 1, INT32_MAX, &id), 0);
        l->id = (int)id;
        if (!json_get_f64(o, "factor", &x))
            l->factor = x;
        if (!json_get_f64(o, "limit", &x))
            l->limit = x;
        if (!json_get_f64(o, "amplitude_pm25", &x))
            l->amplitude = x;
        if (!json_get_f64(o, "source_lon", &x))
            l->lon = x;
        if (!json_get_f64(o, "source_lat", &x))
            l->lat = x;
        if (!json_get_i64(o, "parent", 1, INT32_MAX, &id))
            l->parent = (int)id;
        json_get_str(o, "flag", l->flag, sizeof(l->flag), NULL);
        cJSON_Delete(o);
        n++;
    }
    return n;
}

/* Runs days with only `kind` incidents (and a clean baseline with the same
 * seed: incidents only overlay the model), returns the labels. */
static size_t incident_run(const struct simnet *net, enum siminc_kind kind, int days, double rate,
                           struct recs *with, struct recs *base, struct label *labels, size_t cap)
{
    struct simgen_opts o;
    FILE *f = tmpfile();
    size_t n;

    CHECK(f != NULL);
    opts_default(&o, 42, days);
    run(net, &o, base);
    o.incidents_per_day = rate;
    o.incident_kinds = 1u << kind;
    o.labels = f;
    run(net, &o, with);
    n = read_labels(f, net, labels, cap);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        CHECK_EQ_STR(labels[i].kind, siminc_kind_name(kind));
    if (n == 0)
        fprintf(stderr, "no label of kind %s\n", siminc_kind_name(kind));
    CHECK(n > 0);
    return n;
}

static int finest(const struct simnet *net, int site)
{
    enum simnet_kind k = net->sites[site].kind;
    return k == SIMNET_MOBILE ? SIMNET_RT : simnet_kind_is_outlet(k) ? SIMNET_MIN : SIMNET_HOUR;
}

static void free_recs(struct recs *r)
{
    free(r->r);
    free(r->slot);
    memset(r, 0, sizeof(*r));
}

/* ---- tests ----------------------------------------------------------------- */

static void test_csv(const char *dir)
{
    struct csv c;
    char path[512];

    snprintf(path, sizeof(path), "%s/params.csv", dir);
    CHECK_EQ_INT(csv_open(&c, path), 0);
    CHECK_EQ_INT(csv_col(&c, "code"), 0); /* the BOM is not part of the name */
    CHECK_EQ_INT(csv_col(&c, "comment"), 7);
    CHECK_EQ_INT(csv_col(&c, "nope"), -1);
    CHECK_EQ_INT(csv_next(&c), 1);
    CHECK_EQ_STR(csv_get(&c, 0), "pm25");
    CHECK_EQ_STR(csv_get(&c, 7), "x");
    CHECK_EQ_STR(csv_get(&c, 99), "");
    while (strcmp(csv_get(&c, 0), "nh3n") != 0)
        CHECK_EQ_INT(csv_next(&c), 1);
    CHECK_EQ_STR(csv_get(&c, 3), "NH3-N, ammonia");
    while (strcmp(csv_get(&c, 0), "so2_stack") != 0)
        CHECK_EQ_INT(csv_next(&c), 1);
    CHECK_EQ_STR(csv_get(&c, 3), "SO2 \"flue\"");
    csv_close(&c);

    /* a stray quote and an over-long record are errors, never cuts */
    put(dir, "bad.csv", "a,b\n\"x\"y,1\n");
    snprintf(path, sizeof(path), "%s/bad.csv", dir);
    CHECK_EQ_INT(csv_open(&c, path), 0);
    CHECK_EQ_INT(csv_next(&c), -EBADMSG);
    csv_close(&c);
    {
        static char big[CSV_REC_MAX + 64];
        memset(big, 'x', sizeof(big) - 1);
        big[0] = 'a';
        big[1] = '\n';
        big[sizeof(big) - 1] = '\0';
        put(dir, "bad.csv", big);
    }
    CHECK_EQ_INT(csv_open(&c, path), 0);
    CHECK_EQ_INT(csv_next(&c), -E2BIG);
    csv_close(&c);
}

static void test_network(const struct simnet *net)
{
    double lim;
    int gas = site_of(net, "gas-1"), so2s = simnet_param_find(net, "so2_stack");

    CHECK_EQ_INT(net->nsites, 7); /* the unknown kind is skipped... */
    CHECK_EQ_INT(net->skipped_sites, 1);
    CHECK_EQ_INT(net->ndevices, 7); /* ...with its device */
    CHECK_EQ_INT(net->skipped_devices, 1);
    CHECK(!net->sites[site_of(net, "mob-1")].has_pos);
    CHECK_EQ_INT(net->sites[site_of(net, "water-b")].target_class, 3);
    CHECK_EQ_INT(simnet_limit_upper(net, gas, so2s, SIMNET_HOUR, &lim), 0);
    CHECK(lim == 100);
    /* a day limit serves when no hour limit exists */
    CHECK_EQ_INT(simnet_limit_upper(net, site_of(net, "ww-1"), simnet_param_find(net, "cod"),
                                    SIMNET_HOUR, &lim),
                 0);
    CHECK(lim == 60);
    CHECK_EQ_STR(simnet_hj212_code(net, "31", so2s), "a21026");
    CHECK_EQ_STR(simnet_hj212_code(net, "22", simnet_param_find(net, "pm25")), "a34004");
    CHECK(fabs(simnet_dist_m(122.1, 30.02, 122.4, 30.3) - 41700) < 1500);
}

static void test_determinism(const struct simnet *net)
{
    struct simgen_opts o;
    struct recs a, b, c;

    opts_default(&o, 7, 2);
    o.incidents_per_day = 5;
    run_ex(net, &o, &a, true);
    run_ex(net, &o, &b, true);
    CHECK(a.msgs > 100);
    CHECK_EQ_INT(a.msgs, b.msgs);
    CHECK(a.hash == b.hash);
    o.seed = 8;
    run_ex(net, &o, &c, true);
    CHECK(a.hash != c.hash);
    /* a run in two halves gives the same values as one run (the model is a
     * function of time, not of what ran before) */
    {
        struct recs h1, h2;
        int64_t mid = t0() + DAY;
        int dev = dev_of_site(net, site_of(net, "air-near"));
        int pm = simnet_param_find(net, "pm25");
        opts_default(&o, 7, 2);
        free_recs(&a);
        run(net, &o, &a);
        o.to_us = mid;
        run(net, &o, &h1);
        o.from_us = mid;
        o.to_us = t0() + 2 * DAY;
        run(net, &o, &h2);
        for (int h = 0; h < 48; h++) {
            int64_t ts = t0() + h * H;
            double x = find(&a, dev, SIMNET_HOUR, pm, ts, NULL);
            double y = find(h < 24 ? &h1 : &h2, dev, SIMNET_HOUR, pm, ts, NULL);
            CHECK(!isnan(x) && x == y);
        }
        free_recs(&h1);
        free_recs(&h2);
    }
    free_recs(&a);
    free_recs(&b);
    free_recs(&c);
}

/* Hourly values are the mean of the real-time values of the hour, daily
 * values the mean of the hourly ones, both rounded as reported. */
static void test_aggregation(const struct simnet *net)
{
    struct simgen_opts o;
    struct recs rs;
    struct simmodel *m;
    int checked = 0;

    opts_default(&o, 3, 2);
    for (int k = 0; k < SIMNET_NKINDS; k++)
        o.periods[k] =
            (1u << SIMNET_RT) | (1u << SIMNET_MIN) | (1u << SIMNET_HOUR) | (1u << SIMNET_DAY);
    run(net, &o, &rs);
    CHECK_EQ_INT(simmodel_new(net, 3, &m), 0);
    for (size_t i = 0; i < rs.n; i++) {
        const struct rec *h = &rs.r[i];
        int site = net->devices[h->device].site;
        const struct simmodel_chan *ch;
        double sum = 0;
        int n = 0, want = h->period == SIMNET_DAY ? SIMNET_HOUR : SIMNET_RT;
        int64_t len = h->period == SIMNET_DAY    ? DAY
                      : h->period == SIMNET_HOUR ? H
                                                 : 600LL * 1000000;

        if (h->period == SIMNET_RT)
            continue;
        ch = &simmodel_site(m, site)->chans[simmodel_chan_of_param(m, site, h->param)];
        for (int64_t ts = h->ts; ts < h->ts + len; ts += want == SIMNET_HOUR ? H : 30000000LL) {
            double v = find(&rs, h->device, want, h->param, ts, NULL);
            if (!isnan(v)) {
                sum += v;
                n++;
            }
        }
        if (net->sites[site].kind == SIMNET_MOBILE)
            continue; /* parked hours have no real-time values */
        CHECK_EQ_INT(n, h->period == SIMNET_DAY ? 24 : h->period == SIMNET_HOUR ? 120 : 20);
        CHECK(simmodel_round(ch, sum / n) == h->v);
        checked++;
    }
    CHECK(checked > 500);
    simmodel_free(m);
    free_recs(&rs);
}

/* Plausible values: inside each param's valid range, PM2.5/PM10 0.5-0.7,
 * O3 peaks in the afternoon and NO2 with the morning traffic. */
static void test_realism(const struct simnet *net)
{
    struct simgen_opts o;
    struct recs rs;
    int pm25 = simnet_param_find(net, "pm25"), pm10 = simnet_param_find(net, "pm10");
    int o3 = simnet_param_find(net, "o3"), no2 = simnet_param_find(net, "no2");
    double o3_15 = 0, o3_06 = 0, no2_08 = 0, no2_03 = 0;
    int n15 = 0, n06 = 0, n08 = 0, n03 = 0, ratios = 0;

    opts_default(&o, 11, 30);
    o.from_us = t0() - 100 * DAY; /* late winter into spring */
    o.to_us = o.from_us + 30 * DAY;
    run(net, &o, &rs);
    for (size_t i = 0; i < rs.n; i++) {
        const struct rec *r = &rs.r[i];
        const struct simnet_param *p = &net->params[r->param];
        int hour = (int)(((r->ts / ETIME_US_PER_SEC + ETIME_BEIJING_OFFSET) % 86400) / 3600);
        CHECK(r->v >= p->vmin && r->v <= p->vmax);
        CHECK(r->flag == 0);
        if (r->period != SIMNET_HOUR)
            continue;
        if (r->param == o3 && hour == 15)
            o3_15 += r->v, n15++;
        if (r->param == o3 && hour == 6)
            o3_06 += r->v, n06++;
        if (r->param == no2 && hour == 8)
            no2_08 += r->v, n08++;
        if (r->param == no2 && hour == 3)
            no2_03 += r->v, n03++;
        if (r->param == pm25) {
            double p10 = find(&rs, r->device, SIMNET_HOUR, pm10, r->ts, NULL);
            CHECK(!isnan(p10));
            /* 0.5-0.7 before rounding and instrument jitter */
            CHECK(r->v >= 0.47 * p10 && r->v <= 0.73 * p10);
            ratios++;
        }
    }
    CHECK(n15 > 30 && n06 > 30 && n08 > 30 && n03 > 30 && ratios > 100);
    CHECK(o3_15 / n15 > 1.3 * (o3_06 / n06));
    CHECK(no2_08 / n08 > 1.2 * (no2_03 / n03));
    free_recs(&rs);
}

/* The sample network, clean: every value in its range, every kind heard. */
static void test_sample_network(void)
{
    char dir[512];
    struct simnet *net = NULL;
    struct simgen_opts o;
    struct recs rs;
    char err[256];
    bool kinds[SIMNET_NKINDS] = {false};

    snprintf(dir, sizeof(dir), "%s/deploy/sample", ECO_SOURCE_DIR);
    if (access(dir, R_OK) != 0 || simnet_load(dir, &net, err, sizeof(err)) != 0) {
        fprintf(stderr, "sample network not loadable, skipped\n");
        return;
    }
    opts_default(&o, 1, 1);
    run(net, &o, &rs);
    for (size_t i = 0; i < rs.n; i++) {
        const struct simnet_param *p = &net->params[rs.r[i].param];
        CHECK(rs.r[i].v >= p->vmin && rs.r[i].v <= p->vmax);
        kinds[net->sites[net->devices[rs.r[i].device].site].kind] = true;
    }
    for (int k = 0; k < SIMNET_NKINDS; k++)
        if (!kinds[k])
            fprintf(stderr, "sample network: no readings for kind %s\n",
                    simnet_kind_name((enum simnet_kind)k));
    for (int k = 0; k < SIMNET_NKINDS; k++)
        CHECK(kinds[k]);
    free_recs(&rs);
    simnet_free(net);
}

static bool k_station(enum simnet_kind k)
{
    return k == SIMNET_AIR || k == SIMNET_NOI || k == SIMNET_WATER || k == SIMNET_SEA;
}

static void test_flatline(const struct simnet *net)
{
    struct recs w, b;
    struct label l[64];
    size_t n = incident_run(net, SIMINC_FLATLINE, 10, 4, &w, &b, l, 64);

    for (size_t i = 0; i < n; i++) {
        int site = site_of(net, l[i].site), dev = dev_of_site(net, site);
        int per = finest(net, site), param = simnet_param_find(net, l[i].param), same = 0;
        double first = NAN;
        for (size_t j = 0; j < w.n; j++) {
            const struct rec *r = &w.r[j];
            if (r->device != dev || r->param != param || r->period != per || r->ts < l[i].start ||
                r->ts >= l[i].end)
                continue;
            if (isnan(first))
                first = r->v;
            CHECK(r->v == first); /* exactly repeated */
            same++;
        }
        CHECK(same >= 2 || net->sites[site].kind == SIMNET_MOBILE);
        /* a station's stuck sensor holds for six hours at least: three
         * equal hourly values are what a healthy series does by itself */
        if (k_station(net->sites[site].kind))
            CHECK(l[i].end - l[i].start >= 6 * H && same >= 6);
    }
    free_recs(&w);
    free_recs(&b);
}

/* A station's hourly wind direction meanders (its hour-to-hour change is
 * some degrees): it repeats the last hour's whole degree rarely, so that a
 * stuck vane stands out. */
static void test_vane(void)
{
    char dir[512], err[256];
    struct simnet *net = NULL;
    struct simgen_opts o;
    struct recs rs;
    int wd, n = 0, same = 0;

    snprintf(dir, sizeof(dir), "%s/deploy/sample", ECO_SOURCE_DIR);
    CHECK_EQ_INT(simnet_load(dir, &net, err, sizeof(err)), 0);
    wd = simnet_param_find(net, "wind_dir");
    CHECK(wd >= 0);
    opts_default(&o, 3, 7);
    run(net, &o, &rs);
    for (size_t i = 0; i < rs.n; i++) {
        const struct rec *r = &rs.r[i];
        double prev;
        if (r->param != wd || r->period != SIMNET_HOUR)
            continue;
        prev = find(&rs, r->device, SIMNET_HOUR, wd, r->ts - H, NULL);
        if (isnan(prev))
            continue;
        n++;
        same += r->v == prev;
    }
    CHECK(n > 500);
    CHECK(same * 10 < n);
    free_recs(&rs);
    simnet_free(net);
}

/* A working analyser's readings do not sit on one value for as long as a
 * stuck one: over a week of the sample network without incidents, no
 * station's hourly series holds one value for nine hours (a stuck station
 * sensor holds for six to twelve; a river's water temperature or the sea's
 * pH does hold for six at 0.1 and 0.01) and no outlet's ten-minute series
 * for longer than two hours (a stuck outlet analyser holds two to six),
 * unless the value is within 60 steps of the series' resolution (4 mg/L
 * of suspended solids read in whole mg/L sits for days, as a real one
 * does). Without the
 * analyser's own error a river's CODMn held one value for twelve hours,
 * a plant's pH for two and the region's air pressure for thirteen. */
static void test_analyser_noise(void)
{
    char dir[512], err[256];
    struct simnet *net = NULL;
    struct simgen_opts o;
    struct recs rs;
    double *res;
    int longest[SIMNET_NKINDS] = {0};

    snprintf(dir, sizeof(dir), "%s/deploy/sample", ECO_SOURCE_DIR);
    CHECK_EQ_INT(simnet_load(dir, &net, err, sizeof(err)), 0);
    opts_default(&o, 5, 7);
    run(net, &o, &rs);
    /* each series' resolution: its smallest step */
    res = calloc(net->ndevices * net->nparams, sizeof(*res));
    CHECK(res != NULL);
    for (size_t i = 0; i < rs.n; i++) {
        const struct rec *r = &rs.r[i];
        int per = finest(net, net->devices[r->device].site);
        double prev, d, *q = &res[(size_t)r->device * net->nparams + (size_t)r->param];
        if (r->period != per || isnan(prev = find(&rs, r->device, per, r->param,
                                                  r->ts - (per == SIMNET_MIN ? H / 6 : H), NULL)))
            continue;
        d = fabs(r->v - prev);
        if (d > 0 && (*q == 0 || d < *q))
            *q = d;
    }
    for (size_t i = 0; i < rs.n; i++) {
        const struct rec *r = &rs.r[i];
        int site = net->devices[r->device].site, per = finest(net, site), len = 1;
        int64_t step = per == SIMNET_MIN ? H / 6 : H;
        enum simnet_kind k = net->sites[site].kind;
        if (r->period != per || k == SIMNET_MOBILE ||
            fabs(r->v) < 60 * res[(size_t)r->device * net->nparams + (size_t)r->param])
            continue;
        /* the run that ends here: the same value at each step before */
        for (int64_t t = r->ts - step;; t -= step) {
            double v = find(&rs, r->device, per, r->param, t, NULL);
            if (isnan(v) || v != r->v)
                break;
            len++;
        }
        if (len > longest[k])
            longest[k] = len;
    }
    for (int k = 0; k < SIMNET_NKINDS; k++) {
        if (k == SIMNET_MOBILE)
            continue;
        fprintf(stderr, "# longest healthy run, %s: %d\n", simnet_kind_name((enum simnet_kind)k),
                longest[k]);
        CHECK(longest[k] > 0);
        CHECK(longest[k] <= (simnet_kind_is_outlet((enum simnet_kind)k) ? 12 : 8));
    }
    free(res);
    free_recs(&rs);
    simnet_free(net);
}

static void test_exceedance(const struct simnet *net)
{
    struct recs w, b;
    struct label l[64];
    size_t n = incident_run(net, SIMINC_EXCEEDANCE, 10, 4, &w, &b, l, 64);

    for (size_t i = 0; i < n; i++) {
        int site = site_of(net, l[i].site), dev = dev_of_site(net, site);
        int param = simnet_param_find(net, l[i].param), seen = 0;
        CHECK(simnet_kind_is_outlet(net->sites[site].kind));
        CHECK(l[i].limit > 0 && l[i].factor >= 1.5 && l[i].factor <= 3);
        for (int64_t ts = l[i].start; ts < l[i].end; ts += 600LL * 1000000) {
            double v = find(&w, dev, SIMNET_MIN, param, ts, NULL);
            double v0 = find(&b, dev, SIMNET_MIN, param, ts, NULL);
            if (isnan(v))
                continue;           /* beyond the run's end */
            CHECK(v > l[i].limit);  /* above the limit */
            CHECK(v0 < l[i].limit); /* and it was not before */
            seen++;
        }
        CHECK(seen >= 1);
    }
    free_recs(&w);
    free_recs(&b);
}

static void test_spike_negative_flag_offline(const struct simnet *net)
{
    static const enum siminc_kind kinds[] = {SIMINC_SPIKE, SIMINC_NEGATIVE, SIMINC_FLAG,
                                             SIMINC_OFFLINE};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        struct recs w, b;
        struct label l[64];
        size_t n = incident_run(net, kinds[k], 10, 4, &w, &b, l, 64);

        for (size_t i = 0; i < n; i++) {
            int site = site_of(net, l[i].site), dev = dev_of_site(net, site);
            int per = finest(net, site),
                param = l[i].param[0] ? simnet_param_find(net, l[i].param) : -1;
            char flag = 0;
            double v, v0;

            switch (kinds[k]) {
            case SIMINC_SPIKE: /* one window, several times the true value */
                v = find(&w, dev, per, param, l[i].start, NULL);
                v0 = find(&b, dev, per, param, l[i].start, NULL);
                CHECK(!isnan(v) && !isnan(v0));
                CHECK(v > 3 * v0 && v > 0);
                break;
            case SIMINC_NEGATIVE:
                v = find(&w, dev, per, param, l[i].start, NULL);
                CHECK(!isnan(v) && v < 0);
                break;
            case SIMINC_FLAG:
                CHECK(strchr("DMC", l[i].flag[0]) != NULL && l[i].flag[0]);
                v = find(&w, dev, per, param, l[i].start, &flag);
                CHECK(!isnan(v) && flag == l[i].flag[0]);
                break;
            case SIMINC_OFFLINE: { /* nothing while offline; the baseline had data */
                int before = 0;
                for (size_t j = 0; j < w.n; j++)
                    CHECK(!(w.r[j].device == dev && w.r[j].period == per &&
                            w.r[j].ts >= l[i].start && w.r[j].ts < l[i].end));
                for (size_t j = 0; j < b.n; j++)
                    before += b.r[j].device == dev && b.r[j].period == per &&
                              b.r[j].ts >= l[i].start && b.r[j].ts < l[i].end;
                CHECK(before > 0 || net->sites[site].kind == SIMNET_MOBILE ||
                      l[i].start >= t0() + 10 * DAY - H);
                break;
            }
            default:
                break;
            }
        }
        free_recs(&w);
        free_recs(&b);
    }
}

/* Sum over the plume of the PM2.5 added at a station (hourly values). */
static double added(const struct recs *w, const struct recs *b, int dev, int param, int64_t from,
                    int64_t to)
{
    double sum = 0;
    for (int64_t ts = from - from % H; ts < to + H; ts += H) {
        double v = find(w, dev, SIMNET_HOUR, param, ts, NULL);
        double v0 = find(b, dev, SIMNET_HOUR, param, ts, NULL);
        if (!isnan(v) && !isnan(v0))
            sum += v - v0;
    }
    return sum;
}

static void test_plume(const struct simnet *net)
{
    struct recs w, b;
    struct label l[64];
    size_t n = incident_run(net, SIMINC_PLUME, 30, 1, &w, &b, l, 64);
    int near = site_of(net, "air-near"), far = site_of(net, "air-far");
    int pm = simnet_param_find(net, "pm25"), clear = 0;

    for (size_t i = 0; i < n; i++) {
        const struct simnet_site *a = &net->sites[near], *z = &net->sites[far];
        double da = simnet_dist_m(a->lon, a->lat, l[i].lon, l[i].lat);
        double dz = simnet_dist_m(z->lon, z->lat, l[i].lon, l[i].lat);
        int s1 = da < dz ? near : far, s2 = da < dz ? far : near;
        double g1, g2;
        bool alone = true;

        for (size_t j = 0; j < n; j++) /* plumes may overlap: judge lone ones */
            if (j != i && l[j].start < l[i].end + H && l[i].start < l[j].end + H)
                alone = false;
        if (!alone)
            continue;
        g1 = added(&w, &b, dev_of_site(net, s1), pm, l[i].start, l[i].end);
        g2 = added(&w, &b, dev_of_site(net, s2), pm, l[i].start, l[i].end);
        CHECK(l[i].amplitude >= 80 && !l[i].param[0]);
        CHECK(g1 >= 0 && g2 >= 0); /* a plume only adds */
        if (g1 < g2)
            fprintf(stderr, "plume %d: d=%.0f/%.0f m added %.1f/%.1f\n", l[i].id, fmin(da, dz),
                    fmax(da, dz), g1, g2);
        CHECK(g1 >= g2); /* the station nearer the source gets more */
        clear += g1 > 10 && g1 > 2 * g2;
    }
    CHECK(clear >= 1);
    free_recs(&w);
    free_recs(&b);
}

/* A plume's label lists every air station its readings show it reached,
 * with the largest weight it had there over the plume's life, and names the
 * station hit hardest. The wind veers while the plume lasts, so a station
 * off the first instant's axis can be hit later: the readings are the truth.
 * A vehicle that drives through the plume is listed too (its readings
 * every two minutes). On the sample network (many air stations, two vehicles),
 * 10-minute values, lone plumes (an overlapping one would add to the same
 * readings). */
static void test_plume_labels(void)
{
    char dir[512], line[16384];
    struct simnet *net = NULL;
    struct simgen_opts o;
    struct recs w, b;
    struct label l[256];
    FILE *f = tmpfile();
    char err[256];
    size_t n, nl = 0;
    int pm, judged = 0, off_axis = 0, vehicles = 0;

    snprintf(dir, sizeof(dir), "%s/deploy/sample", ECO_SOURCE_DIR);
    if (access(dir, R_OK) != 0 || simnet_load(dir, &net, err, sizeof(err)) != 0) {
        fprintf(stderr, "sample network not loadable, skipped\n");
        fclose(f);
        return;
    }
    CHECK(f != NULL);
    opts_default(&o, 7, 10);
    o.rt_s = 120;
    for (int k = 0; k < SIMNET_NKINDS; k++)
        o.periods[k] = 0;
    o.periods[SIMNET_AIR] = 1u << SIMNET_MIN;
    o.periods[SIMNET_MOBILE] = 1u << SIMNET_RT;
    run(net, &o, &b);
    o.incidents_per_day = 2.5;
    o.incident_kinds = 1u << SIMINC_PLUME;
    o.labels = f;
    run(net, &o, &w);
    n = read_labels(f, net, l, 256);
    CHECK(n > 10);
    pm = simnet_param_find(net, "pm25");
    rewind(f);
    while (fgets(line, sizeof(line), f)) {
        const struct label *li = &l[nl++];
        cJSON *o2 = NULL, *aff, *a;
        bool alone = true;
        double best_w = -1, peak_max = 0, peak_site = 0;
        const char *best = NULL;

        CHECK_EQ_INT(json_parse(line, strlen(line), &o2, NULL, 0), 0);
        aff = cJSON_GetObjectItemCaseSensitive(o2, "affected");
        CHECK(cJSON_IsArray(aff));
        for (size_t j = 0; j < n; j++)
            if (l[j].id != li->id && l[j].start < li->end + H && li->start < l[j].end + H)
                alone = false;
        /* the labelled site is the affected air station with the largest weight */
        cJSON_ArrayForEach(a, aff)
        {
            double x = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a, "weight"));
            const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "site"));
            int si = site_of(net, code);
            CHECK(si >= 0 && x >= 0.05 && x <= 1);
            if (net->sites[si].kind == SIMNET_AIR && x > best_w) {
                best_w = x;
                best = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "site"));
            }
        }
        if (best) /* a plume that reaches no station well still names the nearest */
            CHECK_EQ_STR(best, li->site);
        if (!alone || li->end > o.to_us - H) {
            cJSON_Delete(o2);
            continue;
        }
        judged++;
        for (size_t s = 0; s < net->nsites; s++) {
            bool mobile = net->sites[s].kind == SIMNET_MOBILE;
            int dev, per = mobile ? SIMNET_RT : SIMNET_MIN;
            int64_t step = (mobile ? 120LL : 600LL) * 1000000;
            double peak = 0, wl = 0;
            /* stations, and vehicles driving through the plume */
            if (!(mobile || (net->sites[s].kind == SIMNET_AIR && net->sites[s].has_pos)) ||
                (dev = dev_of_site(net, (int)s)) < 0)
                continue;
            for (int64_t ts = li->start - li->start % step - step; ts <= li->end; ts += step) {
                double v = find(&w, dev, per, pm, ts, NULL);
                double v0 = find(&b, dev, per, pm, ts, NULL);
                if (!isnan(v) && !isnan(v0) && v - v0 > peak)
                    peak = v - v0;
            }
            cJSON_ArrayForEach(a, aff)
            {
                if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "site")),
                            net->sites[s].code))
                    wl = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a, "weight"));
            }
            /* 10-minute means of values rounded to 1 ug/m3: 2 ug/m3 of slack */
            if (peak > 0.05 * li->amplitude + 2 && wl == 0) {
                fprintf(stderr, "plume %d: %s got %.1f ug/m3 (weight %.3f) and is not labelled\n",
                        li->id, net->sites[s].code, peak, peak / li->amplitude);
                off_axis++;
            }
            /* under 0.05 a station is not listed */
            CHECK(fmax(wl, 0.05) * li->amplitude + 2 + 0.002 * li->amplitude >= peak);
            if (mobile) {
                vehicles += wl > 0;
                continue;
            }
            if (peak > peak_max)
                peak_max = peak;
            if (!strcmp(net->sites[s].code, li->site))
                peak_site = peak;
        }
        /* the labelled station is (about) the hardest hit */
        if (peak_site < peak_max - fmax(2, 0.15 * peak_max))
            fprintf(stderr, "plume %d: %s labelled with %.1f ug/m3, another station got %.1f\n",
                    li->id, li->site, peak_site, peak_max);
        CHECK(peak_site >= peak_max - fmax(2, 0.15 * peak_max));
        cJSON_Delete(o2);
    }
    CHECK_EQ_INT(off_axis, 0);
    CHECK(judged >= 4);
    CHECK(vehicles >= 1); /* the case exercises the vehicles */
    fclose(f);
    free_recs(&w);
    free_recs(&b);
    simnet_free(net);
}

static void test_river(const struct simnet *net)
{
    struct recs w, b;
    struct label l[64];
    size_t n = incident_run(net, SIMINC_RIVER, 12, 4, &w, &b, l, 64);
    int nh3n = simnet_param_find(net, "nh3n"), downstream = 0;

    for (size_t i = 0; i < n; i++) {
        int dev = dev_of_site(net, site_of(net, l[i].site));
        double peak = 0;
        CHECK_EQ_STR(l[i].param, "nh3n");
        for (int64_t ts = l[i].start - l[i].start % H; ts < l[i].end; ts += H) {
            double v = find(&w, dev, SIMNET_HOUR, nh3n, ts, NULL);
            double v0 = find(&b, dev, SIMNET_HOUR, nh3n, ts, NULL);
            if (!isnan(v) && !isnan(v0) && v0 > 0 && v / v0 > peak)
                peak = v / v0;
        }
        if (l[i].start < t0() + 12 * DAY - 2 * H)
            CHECK(peak > (l[i].parent ? 1.3 : 2.0));
        if (l[i].parent) {
            /* downstream: after its origin, at the other station */
            CHECK(l[i].parent < l[i].id);
            CHECK_EQ_STR(l[i].site, "water-b");
            downstream++;
        }
    }
    CHECK(downstream >= 1);
    free_recs(&w);
    free_recs(&b);
}

static void test_mobile_source(const struct simnet *net)
{
    struct recs w, b;
    struct label l[64];
    size_t n = incident_run(net, SIMINC_MOBILE_SOURCE, 10, 4, &w, &b, l, 64);
    int pm = simnet_param_find(net, "pm25"), dev = dev_of_site(net, site_of(net, "mob-1"));

    for (size_t i = 0; i < n; i++) {
        double best = 0, far_max = 0;
        CHECK_EQ_STR(l[i].site, "mob-1");
        for (size_t j = 0; j < w.n; j++) {
            const struct rec *r = &w.r[j];
            double v0, d;
            if (r->device != dev || r->param != pm || r->ts < l[i].start || r->ts >= l[i].end)
                continue;
            CHECK(!isnan(r->lon) && !isnan(r->lat)); /* mobiles carry their position */
            v0 = find(&b, dev, SIMNET_RT, pm, r->ts, NULL);
            d = simnet_dist_m(r->lon, r->lat, l[i].lon, l[i].lat);
            if (d < 300 && r->v - v0 > best)
                best = r->v - v0;
            if (d > 3000 && r->v - v0 > far_max)
                far_max = r->v - v0;
        }
        if (l[i].start < t0() + 10 * DAY - 6 * H) {
            CHECK(best > 0.3 * l[i].amplitude); /* readings rise near the source */
            CHECK(far_max < 1.0);               /* and only there */
        }
    }
    free_recs(&w);
    free_recs(&b);
}

static void test_json_and_hj212(const struct simnet *net)
{
    struct simgen_opts o;
    struct simgen *g = NULL;
    const struct simgen_msg *m;
    const char *why;
    char buf[SIMOUT_PAYLOAD_MAX], topic[128];
    int seen_gas = 0, seen_mob = 0, rc;

    opts_default(&o, 5, 1);
    o.incidents_per_day = 20;
    o.incident_kinds = 1u << SIMINC_FLAG;
    CHECK_EQ_INT(simgen_new(net, &o, &g, &why), 0);
    while ((rc = simgen_next(g, INT64_MAX, &m)) == 1) {
        const struct simnet_device *d = &net->devices[m->device];
        cJSON *j = NULL, *vals, *it;
        const char *s;
        int64_t ts;
        size_t len;

        CHECK_EQ_INT(simout_topic(net, m, topic, sizeof(topic)), 0);
        CHECK(strncmp(topic, "eco/v1/in/", 10) == 0 && !strcmp(topic + 10, d->code));
        CHECK_EQ_INT(simout_json(net, m, buf, sizeof(buf), &len), 0);
        CHECK_EQ_INT(json_parse(buf, len, &j, NULL, 0), 0);
        CHECK_EQ_INT(json_get_strp(j, "ts", &s), 0);
        CHECK_EQ_INT(etime_parse_rfc3339(s, strlen(s), &ts, NULL), 0);
        CHECK(ts == m->ts_us && strstr(s, "+08:00"));
        CHECK_EQ_INT(json_get_strp(j, "period", &s), 0);
        CHECK_EQ_STR(s, simnet_period_name(m->period));
        vals = cJSON_GetObjectItemCaseSensitive(j, "values");
        CHECK(cJSON_IsObject(vals) && cJSON_GetArraySize(vals) == m->nvals);
        cJSON_ArrayForEach(it, vals)
        {
            CHECK(simnet_param_find(net, it->string) >= 0);
            if (cJSON_IsObject(it)) {
                double v;
                CHECK_EQ_INT(json_get_f64(it, "v", &v), 0);
                CHECK_EQ_INT(json_get_strp(it, "flag", &s), 0);
                CHECK(strlen(s) == 1 && strchr("DMC", s[0]));
            } else {
                CHECK(cJSON_IsNumber(it));
            }
        }
        if (net->sites[d->site].kind == SIMNET_MOBILE) {
            double lat, lon;
            CHECK_EQ_INT(json_get_f64(j, "lat", &lat), 0);
            CHECK_EQ_INT(json_get_f64(j, "lon", &lon), 0);
            CHECK(lat > 29.8 && lat < 30.2 && lon > 121.9 && lon < 122.5);
            seen_mob++;
        }
        cJSON_Delete(j);

        if (d->hj212 && net->sites[d->site].kind == SIMNET_GAS_OUTLET) {
            struct hj212_frame f;
            struct hj212_cp *cp = malloc(sizeof(*cp));
            struct hj212_pollutant p;
            int64_t last;
            size_t pos = 0;
            int nf = simout_hj212(net, m, 5, m->at_us, buf, sizeof(buf), &len, &last);
            CHECK(cp != NULL);
            CHECK_EQ_INT(nf, 1);
            CHECK(len > 4 && buf[len - 2] == '\r' && buf[len - 1] == '\n');
            CHECK_EQ_INT(hj212_parse_frame(buf, len, &f, NULL), 0);
            CHECK_EQ_STR(f.mn, d->code);
            CHECK_EQ_STR(f.pw, "123456");
            CHECK_EQ_STR(f.st, "31");
            CHECK_EQ_STR(f.cn, m->period == SIMNET_MIN    ? "2051"
                               : m->period == SIMNET_HOUR ? "2061"
                                                          : "2031");
            CHECK_EQ_INT(f.flag, 5);
            CHECK_EQ_INT(hj212_cp_parse(f.cp, f.cp_len, cp, NULL), 0);
            CHECK(cp->has_datatime && cp->datatime_us == m->ts_us);
            /* flue-gas SO2 goes out under a21026, mapped by hj212_map.csv */
            while (hj212_cp_pollutant(cp, &pos, &p) == 0)
                if (!strcmp(p.code, "a21026")) {
                    CHECK(p.has & (1u << HJ212_AVG));
                    CHECK(p.flag == 'N' || strchr("DMC", p.flag));
                    seen_gas++;
                }
            free(cp);
        }
    }
    CHECK_EQ_INT(rc, 0);
    CHECK(seen_gas > 100 && seen_mob > 100);
    simgen_free(g);

    /* a message too big for one frame is split: Flag D, PNUM/PNO, each part
     * a valid frame with the same DataTime */
    {
        struct simgen_msg big;
        struct hj212_frame f;
        int64_t last;
        size_t len, off = 0;
        int nf;
        memset(&big, 0, sizeof(big));
        big.device = dev_of_site(net, site_of(net, "gas-1"));
        big.period = SIMNET_HOUR;
        big.ts_us = big.at_us = t0();
        for (int i = 0; i < SIMMODEL_CHANS_MAX; i++) {
            big.vals[i].param = simnet_param_find(net, i % 2 ? "o2_stack" : "flow_stack");
            big.vals[i].v = 1234.5678 + i;
            big.vals[i].vmin = 1000.125;
            big.vals[i].vmax = 2000.75;
        }
        big.nvals = SIMMODEL_CHANS_MAX;
        nf = simout_hj212(net, &big, 5, t0(), buf, sizeof(buf), &len, &last);
        CHECK(nf >= 2);
        CHECK(last == t0() + (nf - 1) * 1000);
        for (int k = 0; k < nf; k++) {
            char *e = strstr(buf + off, "\r\n");
            size_t fl = (size_t)(e - (buf + off)) + 2;
            CHECK_EQ_INT(hj212_parse_frame(buf + off, fl, &f, NULL), 0);
            CHECK(f.split && f.pnum == nf && f.pno == k + 1 && f.flag == 7);
            CHECK(f.seg_len <= HJ212_SEG_STD_MAX);
            off += fl;
        }
        CHECK_EQ_INT(off, len);
    }
}

/* Every kind on the fixture: labels are valid JSON lines, ids ascend. */
static void test_labels(const struct simnet *net)
{
    struct simgen_opts o;
    struct recs rs;
    struct label *l = calloc(4096, sizeof(*l));
    FILE *f = tmpfile();
    size_t n;
    int count[SIMINC_NKINDS] = {0};

    CHECK(f != NULL && l != NULL);
    opts_default(&o, 99, 20);
    o.incidents_per_day = 15;
    o.labels = f;
    run(net, &o, &rs);
    n = read_labels(f, net, l, 4096);
    CHECK(n > 150);
    for (size_t i = 0; i < n; i++) {
        enum siminc_kind k;
        CHECK_EQ_INT(siminc_kind_parse(l[i].kind, &k), 0);
        count[k]++;
        CHECK_EQ_INT(l[i].id, (int)i + 1);
        if (i)
            CHECK(l[i].start >= l[i - 1].start);
    }
    for (int k = 0; k < SIMINC_NKINDS; k++) {
        if (!count[k])
            fprintf(stderr, "no %s label in 20 days\n", siminc_kind_name((enum siminc_kind)k));
        CHECK(count[k] > 0);
    }
    fclose(f);
    free(l);
    free_recs(&rs);
}

/* limits.csv and hj212_map.csv are optional; a bad row in one names its
 * file and line. Rewrites the fixture's copies: run last. */
static void test_optional_files(const char *dir)
{
    struct simnet *net = NULL;
    char err[256], path[512];

    put(dir, "limits.csv", "site,param,upper\ngas-1,so2_stack,100\ngas-1,\"x\"y,1\n");
    CHECK_EQ_INT(simnet_load(dir, &net, err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "limits.csv:3: bad CSV") != NULL);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, i ? "hj212_map.csv" : "limits.csv");
        CHECK_EQ_INT(unlink(path), 0);
    }
    CHECK_EQ_INT(simnet_load(dir, &net, err, sizeof(err)), 0);
    CHECK_EQ_INT(net->nlimits, 0);
    CHECK_EQ_INT(net->nhjmap, 0);
    simnet_free(net);
}

/* Every case gets the fixture directory and the network main loads (a
 * copy, in its own process: check.h). */
static const char *fixture_dir;
static struct simnet *fixture_net;
#define ON_NET(fn)                                                                                 \
    static void fn##_case(void)                                                                    \
    {                                                                                              \
        fn(fixture_net);                                                                           \
    }
ON_NET(test_network)
ON_NET(test_determinism)
ON_NET(test_aggregation)
ON_NET(test_realism)
ON_NET(test_flatline)
ON_NET(test_exceedance)
ON_NET(test_spike_negative_flag_offline)
ON_NET(test_plume)
ON_NET(test_river)
ON_NET(test_mobile_source)
ON_NET(test_json_and_hj212)
ON_NET(test_labels)

static void test_csv_case(void)
{
    test_csv(fixture_dir);
}

static void test_optional_files_case(void)
{
    test_optional_files(fixture_dir);
}

static const struct check_case cases[] = {
    {"test_csv", test_csv_case},
    {"test_network", test_network_case},
    {"test_determinism", test_determinism_case},
    {"test_aggregation", test_aggregation_case},
    {"test_realism", test_realism_case},
    CHECK_CASE(test_sample_network),
    {"test_flatline", test_flatline_case},
    {"test_vane", test_vane},
    {"test_analyser_noise", test_analyser_noise},
    {"test_exceedance", test_exceedance_case},
    {"test_spike_negative_flag_offline", test_spike_negative_flag_offline_case},
    {"test_plume", test_plume_case},
    CHECK_CASE(test_plume_labels),
    {"test_river", test_river_case},
    {"test_mobile_source", test_mobile_source_case},
    {"test_json_and_hj212", test_json_and_hj212_case},
    {"test_labels", test_labels_case},
    {"test_optional_files", test_optional_files_case},
};

int main(int argc, char **argv)
{
    char tmpl[] = "/tmp/simgen_test.XXXXXX";
    char *dir = fixture(tmpl);
    int rc;

    fixture_dir = dir;
    fixture_net = load(dir);
    rc = CHECK_MAIN(argc, argv, cases);
    simnet_free(fixture_net);
    {
        static const char *const files[] = {"params.csv", "sites.csv",     "devices.csv",
                                            "limits.csv", "hj212_map.csv", "bad.csv"};
        char path[512];
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
            unlink(path);
        }
        rmdir(dir);
    }
    return rc;
}
#endif
