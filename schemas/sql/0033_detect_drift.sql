-- 0033: eco-detect's baseline rule also sums slow departures (CUSUM) against
-- the residuals' scale of two weeks (docs/DETECTION.md, "The rules" and
-- "Real-world series"): a failure that drifts over a day or two widens the
-- rule's short scale as it grows and was never raised. Each hour of
-- residuals beyond drift_k of those scales adds its excess (a reading of a
-- finer period adds its share of the hour); a sum past drift_h raises.
-- drift_h 0 turns it off. Chosen on NAB's labelled real-world series and on
-- the simulator's 7- and 30-day benches (docs/DETECTION.md).
INSERT INTO alarm.setting (rule, name, value, site_kind, note) VALUES
 ('baseline', 'drift_k', 2, NULL, 'slow departures: residuals beyond this many long-term scales count'),
 ('baseline', 'drift_h', 40, NULL, 'and raise once their excess summed over time (scale-hours) passes this; 0: off')
ON CONFLICT DO NOTHING;
