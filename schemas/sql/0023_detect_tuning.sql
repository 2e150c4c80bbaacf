-- 0023: eco-detect settings after the 7-day and 30-day benches
-- (docs/DETECTION.md, "The rules"; docs/PERFORMANCE.md, "Detection quality").
-- A flatline run is judged only once its series has been seen for a day.
INSERT INTO alarm.setting (rule, name, value, site_kind, note) VALUES
 ('flatline', 'warmup_days', 1, NULL, 'and a run that began before the series had been seen for this many days (readings x interval) is not judged: the long healthy runs of a daily cycle (its plateaus) are not known yet')
ON CONFLICT DO NOTHING;
-- The class limits of surface water (GB 3838) and seawater (GB 3097) are
-- daily (core.limit period 'day'); an hourly value is held to them
-- (limit.coarser) as a proxy for the day. A value brushing its class limit
-- for an hour or two at the top of its daily cycle does not put the day
-- over it: three hourly values over it in a row do.
INSERT INTO alarm.setting (rule, name, value, site_kind, note) VALUES
 ('limit', 'min_minutes', 180, 'water', 'class limits are daily: three hourly values over one in a row'),
 ('limit', 'min_minutes', 180, 'sea', 'class limits are daily: three hourly values over one in a row')
ON CONFLICT DO NOTHING;
