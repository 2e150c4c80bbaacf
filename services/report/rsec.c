#include "rsec.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

/* Daily and monthly reports share every section but air and credit, whose
 * rows differ (a day's AQI against a month's statistics; credit only
 * monthly). */
static const struct rsec rsec__all[] = {
    {"air",
     "Air quality (HJ 633-2012 daily AQI)",
     "daily",
     {{"site", "Station / region"},
      {"name", "Name"},
      {"aqi", "AQI"},
      {"level", "Level"},
      {"category", "Category"},
      {"primary", "Primary pollutant"}}},
    {"air",
     "Air quality (HJ 663-2013 monthly statistics)",
     "monthly",
     {{"site", "Station / region"},
      {"name", "Name"},
      {"days", "Valid days"},
      {"good_days", "Good days"},
      {"good_ratio", "Good-day ratio %"},
      {"level_days", "Days per level 1..6"},
      {"pm25", "PM2.5 µg/m³"},
      {"pm10", "PM10 µg/m³"},
      {"so2", "SO2 µg/m³"},
      {"no2", "NO2 µg/m³"},
      {"co_p95", "CO P95 mg/m³"},
      {"o3_8h_p90", "O3-8h P90 µg/m³"},
      {"insufficient", "Too few days"}}},
    {"water",
     "Water quality (GB 3838-2002 / GB 3097-1997, single factor)",
     NULL,
     {{"site", "Station"},
      {"name", "Name"},
      {"kind", "Kind"},
      {"class_name", "Class"},
      {"category", "Category"},
      {"target_class_name", "Target"},
      {"meets_target", "Meets target"},
      {"deciding", "Deciding items"},
      {"exceeding", "Over target"}}},
    {"sources",
     "Pollution sources over their limits",
     NULL,
     {{"enterprise", "Enterprise"},
      {"enterprise_name", "Name"},
      {"outlet", "Outlet"},
      {"param", "Parameter"},
      {"unit", "Unit"},
      {"limit", "Limit"},
      {"limit_period", "Limit period"},
      {"hours_over", "Hours over"},
      {"days_over", "Days over"},
      {"max_value", "Max"},
      {"max_multiple", "Max multiple"},
      {"excess_kg", "Excess kg"}}},
    {"alarms",
     "Alarms raised",
     NULL,
     {{"id", "Alarm"},
      {"site", "Site"},
      {"param", "Parameter"},
      {"rule", "Rule"},
      {"severity", "Severity"},
      {"state", "State"},
      {"opened_at", "Opened"},
      {"cleared_at", "Cleared"},
      {"incident", "Incident"},
      {"peak", "Peak"},
      {"unit", "Unit"}}},
    {"work_orders",
     "Work orders opened",
     NULL,
     {{"id", "Order"},
      {"title", "Title"},
      {"category", "Category"},
      {"priority", "Priority"},
      {"state", "State"},
      {"dept", "Department"},
      {"site", "Site"},
      {"created_at", "Created"},
      {"due_at", "Due"},
      {"closed_at", "Closed"},
      {"overdue", "Overdue"}}},
    {"credit",
     "Enterprise environmental credit (12 months to the period's end)",
     "monthly",
     {{"enterprise", "Enterprise"},
      {"name", "Name"},
      {"industry", "Industry"},
      {"exceedance_days", "Exceedance days"},
      {"severe_days", "Severe days"},
      {"quality_alarms", "Data-quality alarms"},
      {"work_orders", "Work orders"},
      {"reopened", "Reopened"},
      {"score", "Score"},
      {"grade", "Grade"},
      {"grade_name", "Grade name"}}},
    {"gep",
     "Gross Ecosystem Product",
     NULL,
     {{"region", "Region"},
      {"year", "Year"},
      {"category", "Category"},
      {"service", "Service"},
      {"value_yuan", "Value (yuan)"}}},
};

const struct rsec *rsec_all(size_t *n)
{
    *n = sizeof rsec__all / sizeof rsec__all[0];
    return rsec__all;
}

const struct rsec *rsec_find(const char *name, const char *kind)
{
    for (size_t i = 0; i < sizeof rsec__all / sizeof rsec__all[0]; i++) {
        const struct rsec *s = &rsec__all[i];
        if (strcmp(s->name, name) == 0 && (!s->kind || (kind && strcmp(s->kind, kind) == 0)))
            return s;
    }
    return NULL;
}

static int rsec__number(struct buf *b, double v)
{
    if (!isfinite(v))
        return buf_addstr(b, "");
    if (v == floor(v) && fabs(v) < 1e15)
        return buf_printf(b, "%.0f", v);
    return buf_printf(b, "%.10g", v);
}

int rsec_cell(struct buf *b, const cJSON *item)
{
    int rc = 0;
    if (!item || cJSON_IsNull(item))
        return 0;
    if (cJSON_IsString(item))
        return buf_addstr(b, item->valuestring);
    if (cJSON_IsNumber(item))
        return rsec__number(b, item->valuedouble);
    if (cJSON_IsBool(item))
        return buf_addstr(b, cJSON_IsTrue(item) ? "yes" : "no");
    if (cJSON_IsArray(item)) {
        const cJSON *e;
        bool first = true;
        cJSON_ArrayForEach(e, item)
        {
            if ((!first && (rc = buf_addstr(b, ", "))) || (rc = rsec_cell(b, e)))
                return rc;
            first = false;
        }
        return 0;
    }
    {
        char *s = cJSON_PrintUnformatted(item);
        if (!s)
            return -ENOMEM;
        rc = buf_addstr(b, s);
        cJSON_free(s);
    }
    return rc;
}

static int rsec__field(struct buf *out, const cJSON *v, struct buf *t)
{
    int rc;
    bool quote;
    buf_reset(t);
    if (cJSON_IsString(v) && v->valuestring[0] && strchr("=+-@\t\r", v->valuestring[0]) &&
        (rc = buf_addc(t, '\'')))
        return rc;
    if ((rc = rsec_cell(t, v)))
        return rc;
    quote = strpbrk(t->p, ",\"\r\n") != NULL;
    if (quote && (rc = buf_addc(out, '"')))
        return rc;
    for (size_t i = 0; i < t->len; i++)
        if ((t->p[i] == '"' && (rc = buf_addc(out, '"'))) || (rc = buf_addc(out, t->p[i])))
            return rc;
    return quote ? buf_addc(out, '"') : 0;
}

int rsec_csv(const struct rsec *s, const cJSON *rows, struct buf *out)
{
    struct buf t;
    const cJSON *r;
    int rc = 0;
    buf_init(&t, 1u << 20);
    /* the headings are ours: no comma, quote or line break to escape */
    for (size_t i = 0; i < RSEC_MAX_COLS && s->cols[i].key && !rc; i++)
        rc = buf_printf(out, "%s%s", i ? "," : "", s->cols[i].header);
    if (!rc)
        rc = buf_addstr(out, "\r\n");
    cJSON_ArrayForEach(r, rows)
    {
        for (size_t i = 0; i < RSEC_MAX_COLS && s->cols[i].key && !rc; i++) {
            if (i)
                rc = buf_addc(out, ',');
            if (!rc)
                rc = rsec__field(out, cJSON_GetObjectItemCaseSensitive(r, s->cols[i].key), &t);
        }
        if (!rc)
            rc = buf_addstr(out, "\r\n");
        if (rc)
            break;
    }
    buf_close(&t);
    return rc;
}
