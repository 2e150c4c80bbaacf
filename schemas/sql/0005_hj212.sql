-- 0005: the HJ 212 gateway of eco-ingest (docs/HJ212.md).
--
-- core.hj212_map says which parameter a logger's pollutant code means. The
-- same code is not the same quantity everywhere: a21026 is ambient SO2 in
-- µg/m³ from an air station (ST 22) and flue-gas SO2 in mg/m³ from a stack
-- (ST 31), so the key is (ST, code), never the code alone.
--
-- A code may carry a value suffix (`w00000-Cou`, `a21026-ZsAvg`) to map a
-- secondary value of the same pollutant to a parameter of its own; without a
-- suffix the row maps the primary value (-Rtd in real-time data, -Avg in
-- minute, hour and day data).
CREATE TABLE core.hj212_map (
    st         text NOT NULL CHECK (st ~ '^[0-9A-Za-z]{1,4}$'),
    hj212_code text NOT NULL
        CHECK (hj212_code ~ '^[A-Za-z0-9]{1,16}(-(Min|Max|Cou|ZsRtd|ZsAvg|ZsMin|ZsMax|ZsCou|Data|DayData|NightData))?$'),
    param      text NOT NULL REFERENCES core.param (code),
    PRIMARY KEY (st, hj212_code)
);

-- What loggers report besides readings: restarts (CN 2081), equipment run
-- state and run time (2021, 2041), device information and logs (3020),
-- instrument serials (3019), clock and interval uploads (1011, 1061, 1063),
-- and their answers to the platform's requests (9011, 9012, 9013, 9014).
-- Written by eco-ingest in the same transaction as the spool position, so
-- exactly once; a logger resending a frame (same QN) adds no second row.
CREATE TABLE obs.device_event (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    device      text NOT NULL,          -- the logger's MN (core.device.code)
    site        text NOT NULL,          -- core.site.code at the time of the event
    cn          text NOT NULL,          -- HJ 212 command code
    qn          text,                   -- request id; null when the frame had none
    kind        text NOT NULL,          -- restart, equipment_state, device_info, ... (docs/HJ212.md)
    ts          timestamptz,            -- DataTime (or RestartTime, SystemTime) when given
    payload     jsonb NOT NULL          -- the decoded frame: fields and every CP item as text
);
CREATE UNIQUE INDEX device_event_qn_key ON obs.device_event
    (device, cn, qn, (coalesce(payload ->> 'pno', '')))
    WHERE qn IS NOT NULL AND qn <> '';
CREATE INDEX device_event_site_idx ON obs.device_event (site, received_at);
CREATE INDEX device_event_time_idx ON obs.device_event (received_at);

CREATE VIEW rpt.device_event AS
SELECT id, received_at, device, site, cn, kind, qn, ts, payload FROM obs.device_event;

GRANT SELECT ON core.hj212_map TO eco_ingest, eco_detect, eco_dispatch, eco_gep, eco_report,
    eco_ctl, eco_analyst;
GRANT SELECT, INSERT ON obs.device_event TO eco_ingest;
GRANT USAGE ON SEQUENCE obs.device_event_id_seq TO eco_ingest;
GRANT SELECT ON obs.device_event, rpt.device_event TO eco_detect, eco_dispatch, eco_gep,
    eco_report, eco_ctl, eco_analyst;
