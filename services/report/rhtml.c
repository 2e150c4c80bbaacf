#include "rhtml.h"

#include "rsec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The renderer's state: the output and its first error. Every writer is a
 * no-op once an error is set, so that the page's code reads top to bottom
 * and the error is returned once, at the end. */
struct rh {
    struct buf *b;
    int rc;
    const char *kind;
};

#define RH_W 760.0   /* chart width, SVG units */
#define RH_BAR_H 18  /* one bar */
#define RH_LABEL 150 /* room for a bar's label */

static const char *const rh__palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

/* HJ 633-2012 Appendix A colours, for the bands behind the AQI chart (the
 * stations' own colours come from the report, rpt.aqi_category). */
static const struct {
    int lo, hi;
    const char *rgb;
} rh__aqi_band[] = {{0, 50, "rgb(0,228,0)"},      {50, 100, "rgb(255,255,0)"},
                    {100, 150, "rgb(255,126,0)"}, {150, 200, "rgb(255,0,0)"},
                    {200, 300, "rgb(153,0,76)"},  {300, 500, "rgb(126,0,35)"}};

static void rh__s(struct rh *h, const char *s)
{
    if (!h->rc)
        h->rc = buf_addstr(h->b, s);
}

static void rh__p(struct rh *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rh__p(struct rh *h, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;
    if (h->rc)
        return;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        h->rc = -EINVAL; /* a format of ours too long: a bug, not input */
    else
        h->rc = buf_add(h->b, tmp, (size_t)n);
}

int rhtml_esc(struct buf *b, const char *s)
{
    int rc = 0;
    for (const char *p = s; *p && !rc; p++) {
        switch (*p) {
        case '&':
            rc = buf_addstr(b, "&amp;");
            break;
        case '<':
            rc = buf_addstr(b, "&lt;");
            break;
        case '>':
            rc = buf_addstr(b, "&gt;");
            break;
        case '"':
            rc = buf_addstr(b, "&quot;");
            break;
        case '\'':
            rc = buf_addstr(b, "&#39;");
            break;
        default:
            rc = buf_addc(b, *p);
            break;
        }
    }
    return rc;
}

static void rh__e(struct rh *h, const char *s)
{
    if (!h->rc && s)
        h->rc = rhtml_esc(h->b, s);
}

/* A JSON value as escaped text (rsec_cell), "—" for nothing. */
static void rh__cell(struct rh *h, const cJSON *v)
{
    struct buf t;
    if (h->rc)
        return;
    buf_init(&t, 1u << 20);
    if ((h->rc = rsec_cell(&t, v)) == 0)
        rh__e(h, t.len ? t.p : "—");
    buf_close(&t);
}

static const cJSON *rh__get(const cJSON *o, const char *k)
{
    return o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static const char *rh__str(const cJSON *o, const char *k)
{
    const cJSON *v = rh__get(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A number member of o, or o itself when k is NULL (an object's values). */
static bool rh__num(const cJSON *o, const char *k, double *out)
{
    const cJSON *v = k ? rh__get(o, k) : o;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

static const cJSON *rh__rows(const cJSON *report, const char *section)
{
    const cJSON *r = rh__get(rh__get(report, section), "rows");
    return cJSON_IsArray(r) ? r : NULL;
}

/* A colour from the data, used inside an attribute: only #hex and rgb(...)
 * pass, anything else is grey (the database is ours, but a page must not
 * become a vector for whatever a setting holds). */
static const char *rh__colour(const char *c)
{
    if (!c)
        return "#9e9e9e";
    if (c[0] == '#' && strspn(c + 1, "0123456789abcdefABCDEF") == strlen(c + 1) && strlen(c) <= 9)
        return c;
    if (strncmp(c, "rgb(", 4) == 0 && strspn(c + 4, "0123456789,") == strlen(c + 4) - 1 &&
        c[strlen(c) - 1] == ')')
        return c;
    return "#9e9e9e";
}

/* ---- page frame -------------------------------------------------------- */

static const char rh__css[] =
    "body{font:14px/1.45 system-ui,'Noto Sans CJK "
    "SC',sans-serif;margin:0;color:#222;background:#f5f6f8}"
    "header{background:#0b4f6c;color:#fff;padding:16px 24px}header h1{margin:0;font-size:22px}"
    "header p{margin:4px 0 0;opacity:.85}main{max-width:1100px;margin:0 auto;padding:8px 16px 40px}"
    "section{background:#fff;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.12);margin:16px 0;"
    "padding:12px 16px}h2{font-size:17px;margin:4px 0 10px}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;background:none;box-shadow:none;padding:0}"
    ".card{flex:1 1 160px;background:#fff;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.12);"
    "padding:10px 14px}.card b{display:block;font-size:22px}.card span{color:#555}"
    "table{border-collapse:collapse;width:100%;font-size:12.5px}th,td{border-bottom:1px solid "
    "#e3e3e3;"
    "padding:3px 6px;text-align:left;vertical-align:top}th{background:#f0f2f5}"
    ".scroll{overflow-x:auto}.note{color:#666;font-style:italic}"
    "svg{max-width:100%;height:auto;display:block}.legend span{display:inline-block;margin:2px "
    "10px 2px 0}"
    ".legend i{display:inline-block;width:12px;height:12px;border-radius:6px;margin-right:4px;"
    "vertical-align:-1px;border:1px solid #555}.rg-sea_area{fill:#cfe3f3;stroke:#8fb3d1}"
    ".rg-city,.rg-district,.rg-county,.rg-town{fill:#f3efe4;stroke:#8c8c8c}"
    "footer{color:#666;font-size:12px;text-align:center;padding:16px}";

/* Measures what was drawn: the map's sites and each chart's marks with a
 * non-empty box. Written into body[data-drawn] as "map=N chart-aqi=M ...". */
static const char rh__script[] =
    "(function(){var out=[];document.querySelectorAll('svg[data-measure]').forEach(function(s){"
    "var n=0;s.querySelectorAll('[data-mark]').forEach(function(e){var b=e.getBBox();"
    "if(b.width>0||b.height>0)n++;});out.push(s.id+'='+n);});"
    "document.body.setAttribute('data-drawn',out.join(' '));})();";

static void rh__head(struct rh *h, const cJSON *report)
{
    const char *period = rh__str(report, "period");
    bool daily = strcmp(h->kind, "daily") == 0;
    rh__s(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             "<meta name=\"generator\" content=\"ecowatch eco-report\"><title>");
    rh__p(h, "%s eco-environment report ", daily ? "Daily" : "Monthly");
    rh__e(h, period);
    rh__s(h, "</title><style>");
    rh__s(h, rh__css);
    rh__s(h, "</style></head><body><header><h1>");
    rh__p(h, "%s eco-environment report · ", daily ? "Daily" : "Monthly");
    rh__e(h, period);
    rh__s(h, "</h1><p>Natural days at Beijing time (");
    rh__e(h, rh__str(report, "from"));
    rh__s(h, " to ");
    rh__e(h, rh__str(report, "to"));
    rh__s(h, ") · generated ");
    rh__e(h, rh__str(report, "generated_at"));
    rh__s(h, "</p></header><main>");
}

/* ---- summary cards ---------------------------------------------------- */

static void rh__card(struct rh *h, const char *big, const char *small)
{
    rh__s(h, "<div class=\"card\"><b>");
    rh__e(h, big);
    rh__s(h, "</b><span>");
    rh__e(h, small);
    rh__s(h, "</span></div>");
}

static void rh__cards(struct rh *h, const cJSON *report)
{
    const cJSON *rows, *r, *by;
    char big[64], small[160];
    int n = 0, k = 0;
    double v;
    rh__s(h, "<section class=\"cards\" id=\"summary\">");
    /* the top region's air: the first region row (rpt.report orders them first) */
    rows = rh__rows(report, "air");
    r = rows ? cJSON_GetArrayItem(rows, 0) : NULL;
    if (r && cJSON_IsTrue(rh__get(r, "is_region"))) {
        if (strcmp(h->kind, "daily") == 0 && rh__num(r, "aqi", &v)) {
            snprintf(big, sizeof big, "AQI %.0f", v);
            snprintf(small, sizeof small, "%s: %s", rh__str(r, "name") ? rh__str(r, "name") : "",
                     rh__str(r, "category") ? rh__str(r, "category") : "");
            rh__card(h, big, small);
        } else if (rh__num(r, "good_ratio", &v)) {
            snprintf(big, sizeof big, "%.1f %%", v);
            snprintf(small, sizeof small, "%s: good days (AQI ≤ 100)",
                     rh__str(r, "name") ? rh__str(r, "name") : "");
            rh__card(h, big, small);
        }
    } else {
        rh__card(h, "—", "air: no valid daily AQI");
    }
    n = k = 0;
    cJSON_ArrayForEach(r, rh__rows(report, "water"))
    {
        n++;
        k += cJSON_IsTrue(rh__get(r, "meets_target"));
    }
    snprintf(big, sizeof big, "%d / %d", k, n);
    rh__card(h, big, "water and sea stations meeting their target class");
    n = cJSON_GetArraySize(rh__rows(report, "sources"));
    snprintf(big, sizeof big, "%d", n);
    rh__card(h, big, "outlet parameters over their limits");
    n = 0;
    by = rh__get(rh__get(report, "alarms"), "by_rule");
    cJSON_ArrayForEach(r, by) n += cJSON_IsNumber(r) ? (int)r->valuedouble : 0;
    snprintf(big, sizeof big, "%d", n);
    snprintf(small, sizeof small, "alarms raised; %.0f incidents; %.0f open now",
             rh__num(rh__get(report, "alarms"), "incidents", &v) ? v : 0.0,
             rh__num(rh__get(report, "alarms"), "open_now", &v) ? v : 0.0);
    rh__card(h, big, small);
    n = k = 0;
    cJSON_ArrayForEach(r, rh__get(rh__get(report, "work_orders"), "by_state"))
    {
        n += cJSON_IsNumber(r) ? (int)r->valuedouble : 0;
        if (strcmp(r->string, "closed") == 0 && cJSON_IsNumber(r))
            k = (int)r->valuedouble;
    }
    snprintf(big, sizeof big, "%d", n);
    snprintf(small, sizeof small, "work orders opened; %d closed", k);
    rh__card(h, big, small);
    rh__s(h, "</section>");
}

/* ---- map ----------------------------------------------------------------- */

/* The colour a site has in this report: its row in air or water (the
 * period's AQI or class), red when one of its outlets exceeded, else what
 * the map says now. */
static const char *rh__site_colour(const cJSON *report, const cJSON *site)
{
    const char *code = rh__str(site, "code");
    static const char *const secs[] = {"air", "water"};
    const cJSON *r;
    if (!code)
        return "#9e9e9e";
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++)
        cJSON_ArrayForEach(r, rh__rows(report, secs[i]))
        {
            const char *s = rh__str(r, "site");
            if (s && strcmp(s, code) == 0 && rh__str(r, "colour"))
                return rh__colour(rh__str(r, "colour"));
        }
    cJSON_ArrayForEach(r, rh__rows(report, "sources"))
    {
        const char *s = rh__str(r, "outlet");
        if (s && strcmp(s, code) == 0)
            return "#d73027";
    }
    return rh__colour(rh__str(site, "colour"));
}

static void rh__map(struct rh *h, const cJSON *report, const cJSON *map)
{
    const cJSON *ext = rh__get(map, "extent"), *r;
    double e[4], k, padx, pady, rad;
    int i = 0;
    rh__s(h, "<section id=\"map-section\"><h2>Map: sites by this report's air quality, "
             "water class and exceedances</h2>");
    if (!cJSON_IsArray(ext) || cJSON_GetArraySize(ext) != 4) {
        rh__s(h, "<p class=\"note\">No regions or sites are registered: nothing to map.</p>"
                 "</section>");
        return;
    }
    cJSON_ArrayForEach(r, ext) e[i++] = cJSON_IsNumber(r) ? r->valuedouble : 0;
    if (!(e[2] > e[0]) || !(e[3] > e[1])) {
        rh__s(h, "<p class=\"note\">The registry's extent is empty.</p></section>");
        return;
    }
    /* plate carrée squeezed by cos(latitude): shapes look right at the
     * region's latitude without a projection library */
    k = cos((e[1] + e[3]) / 2 * 3.14159265358979 / 180);
    padx = (e[2] - e[0]) * k * 0.03;
    pady = (e[3] - e[1]) * 0.03;
    rad = fmax((e[2] - e[0]) * k, e[3] - e[1]) / 140;
    rh__p(h,
          "<svg id=\"map\" data-measure=\"1\" viewBox=\"%.6f %.6f %.6f %.6f\" "
          "preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-label=\"map of the sites\" "
          "style=\"width:100%%;max-height:640px\">",
          e[0] * k - padx, -e[3] - pady, (e[2] - e[0]) * k + 2 * padx, e[3] - e[1] + 2 * pady);
    rh__p(h, "<rect x=\"%.6f\" y=\"%.6f\" width=\"%.6f\" height=\"%.6f\" fill=\"#e8f1f8\"/>",
          e[0] * k - padx, -e[3] - pady, (e[2] - e[0]) * k + 2 * padx, e[3] - e[1] + 2 * pady);
    rh__p(h, "<g transform=\"scale(%.6f,1)\">", k);
    cJSON_ArrayForEach(r, rh__get(map, "regions"))
    {
        const char *d = rh__str(r, "d");
        if (!d)
            continue;
        rh__s(h, "<path class=\"rg-");
        rh__e(h, rh__str(r, "kind"));
        rh__s(h, "\" vector-effect=\"non-scaling-stroke\" stroke-width=\"1\" d=\"");
        rh__e(h, d);
        rh__s(h, "\"><title>");
        rh__e(h, rh__str(r, "name"));
        rh__s(h, "</title></path>");
    }
    rh__s(h, "</g>");
    cJSON_ArrayForEach(r, rh__get(map, "sites"))
    {
        double x, y, alarms = 0, orders = 0;
        if (!rh__num(r, "x", &x) || !rh__num(r, "y", &y))
            continue;
        rh__num(r, "open_alarms", &alarms);
        rh__num(r, "open_orders", &orders);
        rh__p(h, "<circle data-mark=\"1\" class=\"site\" cx=\"%.6f\" cy=\"%.6f\" r=\"%.6f\" ",
              x * k, -y, rad);
        rh__p(h, "fill=\"%s\" stroke=\"%s\" stroke-width=\"%.6f\"><title>",
              rh__site_colour(report, r), "#333", rad / 4);
        rh__e(h, rh__str(r, "code"));
        rh__s(h, " ");
        rh__e(h, rh__str(r, "name"));
        rh__s(h, " (");
        rh__e(h, rh__str(r, "kind"));
        rh__p(h, "): %s; %.0f open alarms, %.0f open orders</title></circle>",
              rh__str(r, "status") ? rh__str(r, "status") : "", alarms, orders);
        if (alarms > 0)
            rh__p(h,
                  "<circle cx=\"%.6f\" cy=\"%.6f\" r=\"%.6f\" fill=\"none\" stroke=\"#d00\" "
                  "stroke-width=\"%.6f\"/>",
                  x * k, -y, rad * 1.7, rad / 3);
    }
    rh__s(h, "</svg><p class=\"legend\">");
    for (size_t j = 0; j < sizeof rh__aqi_band / sizeof rh__aqi_band[0]; j++)
        rh__p(h, "<span><i style=\"background:%s\"></i>AQI level %zu</span>", rh__aqi_band[j].rgb,
              j + 1);
    rh__s(h, "<span><i style=\"background:#2c7bb6\"></i>water I–II</span>"
             "<span><i style=\"background:#1a9850\"></i>water III / normal</span>"
             "<span><i style=\"background:#fee08b\"></i>IV</span>"
             "<span><i style=\"background:#fdae61\"></i>V / alarm</span>"
             "<span><i style=\"background:#d73027\"></i>worse than V / exceeding</span>"
             "<span><i style=\"background:#9e9e9e\"></i>offline</span>"
             "<span><i style=\"background:none;border:2px solid #d00\"></i>open alarm</span></p>");
    rh__s(h, "</section>");
}

/* ---- charts ------------------------------------------------------------ */

/* AQI over the period per station: hours of a day or days of a month. */
static void rh__aqi_chart(struct rh *h, const cJSON *series)
{
    bool daily = strcmp(h->kind, "daily") == 0;
    const char *xkey = daily ? "hour" : "day";
    double xmax = daily ? 23 : 31, ymax = 100, v;
    const double H = 260, L = 40, B = 24, T = 8, W = RH_W - L - 8;
    const cJSON *r;
    struct buf pts;
    int line = 0, npts = 0;
    cJSON_ArrayForEach(r, series) if (rh__num(r, "aqi", &v) && v > ymax) ymax = v;
    ymax = ceil(ymax / 50) * 50;
    rh__p(h,
          "<svg id=\"chart-aqi\" data-measure=\"1\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
          "aria-label=\"AQI per station\">",
          RH_W, H);
    for (size_t j = 0; j < sizeof rh__aqi_band / sizeof rh__aqi_band[0]; j++) {
        double lo = rh__aqi_band[j].lo, hi = fmin(rh__aqi_band[j].hi, ymax);
        if (lo >= ymax)
            break;
        rh__p(h,
              "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
              "fill-opacity=\"0.18\"/>",
              L, T + (H - B - T) * (1 - hi / ymax), W, (H - B - T) * (hi - lo) / ymax,
              rh__aqi_band[j].rgb);
    }
    for (double y = 0; y <= ymax; y += 50)
        rh__p(h, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.0f</text>",
              L - 4, T + (H - B - T) * (1 - y / ymax) + 3, y);
    for (double x = daily ? 0 : 1; x <= xmax; x += daily ? 3 : 5)
        rh__p(h, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%.0f</text>",
              L + W * x / xmax, H - 8, x);
    /* rows come ordered by station, then time: one polyline per station */
    buf_init(&pts, 1u << 20);
    cJSON_ArrayForEach(r, series)
    {
        const char *site = rh__str(r, "site");
        const cJSON *next = r->next;
        double x;
        if (!site || !rh__num(r, xkey, &x) || !rh__num(r, "aqi", &v))
            continue;
        if (!h->rc)
            h->rc =
                buf_printf(&pts, "%.1f,%.1f ", L + W * x / xmax, T + (H - B - T) * (1 - v / ymax));
        npts++;
        if (next && rh__str(next, "site") && strcmp(rh__str(next, "site"), site) == 0)
            continue;
        rh__p(
            h,
            "<polyline data-mark=\"1\" fill=\"none\" stroke-width=\"1.5\" stroke=\"%s\" points=\"",
            rh__palette[line++ % 10]);
        rh__s(h, pts.p);
        rh__s(h, "\"><title>");
        rh__e(h, site);
        rh__s(h, "</title></polyline>");
        buf_reset(&pts);
    }
    buf_close(&pts);
    rh__s(h, "</svg>");
    if (!npts)
        rh__s(h, "<p class=\"note\">No hourly AQI to chart for this period.</p>");
}

/* One horizontal bar per row: label, value scaled to vmax, colour. */
static void rh__bars(struct rh *h, const char *id, const cJSON *rows, const char *labelkey,
                     const char *valuekey, double vmax, const char *unit, const char *fixed)
{
    const cJSON *r;
    int n = 0;
    double v, y = 4;
    cJSON_ArrayForEach(r, rows) if (rh__num(r, valuekey, &v)) n++;
    if (!n)
        return;
    rh__p(h, "<svg id=\"%s\" data-measure=\"1\" viewBox=\"0 0 %.0f %d\" role=\"img\">", id, RH_W,
          n * RH_BAR_H + 8);
    cJSON_ArrayForEach(r, rows)
    {
        const char *label = labelkey ? rh__str(r, labelkey) : r->string;
        double w;
        if (!rh__num(r, valuekey, &v))
            continue;
        w = (RH_W - RH_LABEL - 60) * fmin(v, vmax) / vmax;
        rh__p(h, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">", RH_LABEL - 6,
              y + 12);
        rh__e(h, label ? label : "");
        rh__p(h,
              "</text><rect data-mark=\"1\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
              "fill=\"%s\"><title>",
              RH_LABEL, y + 2, fmax(w, 1), RH_BAR_H - 4,
              fixed ? fixed : rh__colour(rh__str(r, "colour")));
        rh__e(h, label ? label : "");
        rh__p(h, ": %g%s</title></rect>", v, unit);
        rh__p(h, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%g%s</text>",
              RH_LABEL + fmax(w, 1) + 4, y + 12, v, unit);
        y += RH_BAR_H;
    }
    rh__s(h, "</svg>");
}

/* The water stations' classes as bars, for the reader who wants to see at
 * a glance which ones are worse than their target. */
static void rh__water_chart(struct rh *h, const cJSON *rows)
{
    rh__bars(h, "chart-water", rows, "site", "class", 6, "", NULL);
}

/* ---- tables ------------------------------------------------------------ */

static void rh__table(struct rh *h, const struct rsec *s, const cJSON *rows)
{
    const cJSON *r;
    rh__s(h, "<div class=\"scroll\"><table><thead><tr>");
    for (size_t i = 0; i < RSEC_MAX_COLS && s->cols[i].key; i++) {
        rh__s(h, "<th>");
        rh__e(h, s->cols[i].header);
        rh__s(h, "</th>");
    }
    rh__s(h, "</tr></thead><tbody>");
    cJSON_ArrayForEach(r, rows)
    {
        const char *colour = rh__str(r, "colour");
        rh__s(h, "<tr>");
        for (size_t i = 0; i < RSEC_MAX_COLS && s->cols[i].key; i++) {
            /* the first cell wears the row's colour (AQI level, class, grade) */
            if (i == 0 && colour)
                rh__p(h, "<td style=\"border-left:6px solid %s\">", rh__colour(colour));
            else
                rh__s(h, "<td>");
            rh__cell(h, rh__get(r, s->cols[i].key));
            rh__s(h, "</td>");
        }
        rh__s(h, "</tr>");
    }
    rh__s(h, "</tbody></table></div>");
}

static void rh__section(struct rh *h, const cJSON *report, const struct rsec *s)
{
    const cJSON *sec = rh__get(report, s->name), *rows = rh__rows(report, s->name);
    const char *note = rh__str(sec, "note");
    rh__p(h, "<section id=\"sec-%s\"><h2>", s->name);
    rh__e(h, s->title);
    rh__s(h, "</h2>");
    if (strcmp(s->name, "air") == 0) {
        rh__aqi_chart(h, rh__get(sec, "series"));
        if (strcmp(h->kind, "daily") == 0)
            rh__bars(h, "chart-air", rows, "site", "aqi", 300, "", NULL);
        else
            rh__bars(h, "chart-air", rows, "site", "good_ratio", 100, " %", "#1a9850");
    } else if (strcmp(s->name, "water") == 0) {
        rh__water_chart(h, rows);
    } else if (strcmp(s->name, "alarms") == 0) {
        rh__bars(h, "chart-alarms", rh__get(sec, "by_rule"), NULL, NULL, 0, "", "#e6550d");
    }
    if (note) {
        rh__s(h, "<p class=\"note\">");
        rh__e(h, note);
        rh__s(h, "</p>");
    }
    if (rows && cJSON_GetArraySize(rows) > 0)
        rh__table(h, s, rows);
    rh__s(h, "</section>");
}

int rhtml_render(const cJSON *report, const cJSON *map, struct buf *out)
{
    struct rh h = {.b = out, .rc = 0, .kind = rh__str(report, "kind")};
    const struct rsec *all;
    size_t n;
    if (!h.kind || !rh__str(report, "period") ||
        (strcmp(h.kind, "daily") != 0 && strcmp(h.kind, "monthly") != 0))
        return -EBADMSG;
    rh__head(&h, report);
    rh__cards(&h, report);
    rh__map(&h, report, map);
    all = rsec_all(&n);
    for (size_t i = 0; i < n; i++)
        if (!all[i].kind || strcmp(all[i].kind, h.kind) == 0)
            rh__section(&h, report, &all[i]);
    rh__s(&h, "</main><footer>ecowatch · AQI per HJ 633-2012 and GB 3095-2012; water per "
              "GB 3838-2002 and GB 3097-1997; see docs/REPORTS.md</footer><script>");
    rh__s(&h, rh__script);
    rh__s(&h, "</script></body></html>\n");
    return h.rc;
}
