-- 0023: eco-detect: a flatline run is judged only once its series has been
-- seen for a day (docs/DETECTION.md, "The rules").
INSERT INTO alarm.setting (rule, name, value, site_kind, note) VALUES
 ('flatline', 'warmup_days', 1, NULL, 'and a run that began before the series had been seen for this many days (readings x interval) is not judged: the long healthy runs of a daily cycle (its plateaus) are not known yet')
ON CONFLICT DO NOTHING;
