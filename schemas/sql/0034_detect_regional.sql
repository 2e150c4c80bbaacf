-- 0034: eco-detect's flatline rule looks for the weather (a value held at
-- every station around at once, air pressure in a calm spell) among the
-- nearest same-kind stations within regional_km, no longer only within the
-- neighbour rule's radius_km (30): stations on outlying islands (Shengsi's,
-- 35-40 km apart) had fewer than two within 30 km, and raised a flatline
-- whenever the region's pressure held still (docs/DETECTION.md, "The rules").
INSERT INTO alarm.setting (rule, name, value, site_kind, note) VALUES
 ('flatline', 'regional_km', 100, NULL, 'a run that half of the nearest same-kind stations within this distance share is the weather, not a stuck sensor')
ON CONFLICT DO NOTHING;
