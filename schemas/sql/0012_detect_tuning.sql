-- 0012: eco-detect settings added after 0009 (docs/DETECTION.md explains each).
INSERT INTO alarm.setting (rule, name, value, site_kind, note) VALUES
 ('neighbour', 'own_z', 2, NULL, 'and the station departs from its own baseline the same way by this many deviations (0: off): a plume passing next door makes the untouched station look low against its neighbours, not against itself')
ON CONFLICT DO NOTHING;
