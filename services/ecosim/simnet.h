/* simnet: the monitoring network the simulator plays, read from the sample
 * registry CSV files in one directory (deploy/sample by default):
 *
 *   sites.csv    code,name,kind,region,enterprise,target_class,lon,lat
 *   devices.csv  code,site,protocol,password,hj212_st
 *   params.csv   code,hj212_code,hj212_2005_code,name,unit,valid_min,valid_max
 *   limits.csv   (optional) site,site_kind,param,period,class,lower,upper,...
 *   hj212_map.csv (optional) st,hj212_code,param: the HJ 212 code of a param
 *                for loggers of one ST (flue-gas SO2 is a21026 like ambient SO2)
 *
 * Columns are found by name; extra columns are ignored. Reading the files
 * directly keeps the simulator independent of the database.
 *
 * A loaded struct simnet owns all its arrays; it is read-only afterwards
 * and may be shared by the other sim modules (they borrow it). */
#ifndef ECO_SIMNET_H
#define ECO_SIMNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIMNET_CODE_MAX 64
#define SIMNET_PCODE_MAX 32
#define SIMNET_SITES_MAX 4096
#define SIMNET_DEVICES_MAX 8192
#define SIMNET_PARAMS_MAX 256
#define SIMNET_LIMITS_MAX 8192
#define SIMNET_HJMAP_MAX 1024

enum simnet_kind {
    SIMNET_AIR,
    SIMNET_NOI, /* negative (air) oxygen ions */
    SIMNET_WATER,
    SIMNET_SEA,
    SIMNET_GAS_OUTLET,
    SIMNET_WATER_OUTLET,
    SIMNET_MOBILE,
    SIMNET_NKINDS
};

/* Reporting periods of the contract (HJ 212 CN 2011, 2051, 2061, 2031). */
enum simnet_period { SIMNET_RT, SIMNET_MIN, SIMNET_HOUR, SIMNET_DAY, SIMNET_NPERIODS };

struct simnet_param {
    char code[SIMNET_PCODE_MAX + 1]; /* "pm25": [a-z0-9_] */
    char hj212[25];                  /* "a34004", may be "" */
    char hj2005[25];
    char name[96];
    char unit[24];
    double vmin, vmax; /* plausible range; the simulator stays inside */
};

struct simnet_site {
    char code[SIMNET_CODE_MAX + 1];
    char name[128];
    enum simnet_kind kind;
    char region[SIMNET_CODE_MAX + 1];
    char enterprise[SIMNET_CODE_MAX + 1];
    int target_class; /* GB 3838 1..5 / GB 3097 1..4; 0 when not given */
    bool has_pos;     /* false for mobiles (and sites without lon/lat) */
    double lon, lat;
    uint64_t key; /* hash of the code: keys the site's random streams */
};

struct simnet_device {
    char code[SIMNET_CODE_MAX + 1]; /* MQTT id / HJ 212 MN */
    int site;                       /* index into sites */
    bool hj212;                     /* protocol hj212 (else mqtt) */
    char password[33];              /* HJ 212 PW */
    char st[8];                     /* HJ 212 ST, "" if not given */
};

/* An upper/lower limit from limits.csv, for one site or a site kind. */
struct simnet_limit {
    int site;   /* index, or -1 for a kind-wide limit */
    int kind;   /* enum simnet_kind, or -1 when site >= 0 */
    int param;  /* index into params */
    int period; /* enum simnet_period, or -1 for any */
    bool has_lower, has_upper;
    double lower, upper;
};

/* One row of hj212_map.csv. */
struct simnet_hjmap {
    char st[8];
    char code[25];
    int param;
};

struct simnet {
    struct simnet_param *params;
    size_t nparams;
    struct simnet_site *sites;
    size_t nsites;
    struct simnet_device *devices;
    size_t ndevices;
    struct simnet_limit *limits;
    size_t nlimits;
    struct simnet_hjmap *hjmap;
    size_t nhjmap;
    /* Rows skipped as not applicable (unknown kind, inactive, a limit for a
     * param or site the network lacks), for the caller to log. */
    size_t skipped_sites, skipped_devices, skipped_limits;
};

/* Loads the CSV files of dir. On success *out is owned by the caller (free
 * with simnet_free). Returns 0, -ENOENT (a required file is missing),
 * -EBADMSG (bad content), -E2BIG (beyond a SIMNET_*_MAX) or -ENOMEM, with a
 * one-line reason naming the file and line in err. */
int simnet_load(const char *dir, struct simnet **out, char *err, size_t errcap);

void simnet_free(struct simnet *net);

/* "air" ... "mobile" <-> enum. parse returns 0 or -EINVAL. */
int simnet_kind_parse(const char *s, enum simnet_kind *out);
const char *simnet_kind_name(enum simnet_kind k);

/* "rt", "min", "hour", "day" <-> enum. parse returns 0 or -EINVAL. */
int simnet_period_parse(const char *s, enum simnet_period *out);
const char *simnet_period_name(enum simnet_period p);

/* True for the two outlet kinds (pollution sources). */
bool simnet_kind_is_outlet(enum simnet_kind k);

/* Index of the param with this code, or -1. */
int simnet_param_find(const struct simnet *net, const char *code);

/* The upper limit that applies to param at site, preferring a site's own
 * limit to a kind-wide one, then one for this period, then one for any
 * period, then one for another period. Returns 0 with *upper, or -ENOENT. */
int simnet_limit_upper(const struct simnet *net, int site, int param, enum simnet_period period,
                       double *upper);

/* The HJ 212 code of param for a logger of system st: hj212_map.csv first,
 * then the param's own hj212_code. "" when there is none (static or
 * borrowed storage). */
const char *simnet_hj212_code(const struct simnet *net, const char *st, int param);

/* Great-circle distance in metres between two lon/lat points. */
double simnet_dist_m(double lon1, double lat1, double lon2, double lat2);

#endif
