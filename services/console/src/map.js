// The one map: the region and sea polygons as the base (no internet tiles),
// sites coloured by their state, open alarms grouped by incident, work
// orders, mobile tracks and the pollution grid. Layers come retained from
// eco-report (eco/v1/report/layer/...), alarms and orders also live from
// eco-detect and eco-dispatch; what this user may see is the broker's ACL.
'use strict';
window.eco = window.eco || {};

eco.map = (function () {
    const KEEP_LIVE_MS = 180e3; // a live change outlives a layer computed before it
    const SEVERITY = { minor: 1, major: 2, critical: 3 };
    let map = null;
    let groups = {};
    const sites = new Map(); // code -> {props, latlng, marker}
    const alarms = new Map(); // id -> alarm (event or layer properties) with latlng
    const live = new Map(); // alarm id -> {at, cleared} of live events
    const orders = new Map(); // id -> {props, latlng, marker}
    let sitesFrom = null; // 'sites' (with state) or 'stations' (registry only)
    let selected = null;
    let onOrder = () => {};
    let fitted = false;

    const $ = (id) => document.getElementById(id);
    const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g,
        (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
    const when = (t) => eco.time(t);

    function latlngOf(f) {
        const g = f.geometry;
        if (!g || g.type !== 'Point') return null;
        return L.latLng(g.coordinates[1], g.coordinates[0]);
    }

    function init(el, opts) {
        onOrder = opts.onOrder || onOrder;
        map = L.map(el, { zoomControl: true, attributionControl: false, preferCanvas: false,
                          zoomSnap: 0.25 }).setView([30.0, 122.2], 9);
        // one pane per kind, bottom to top: a refreshed layer stays at its level
        [['regions', 350], ['grid', 360], ['tracks', 370], ['sites', 410], ['alarms', 420]]
            .forEach(([name, z]) => { map.createPane(name).style.zIndex = String(z); });
        groups = {
            regions: L.layerGroup([], { pane: 'regions' }).addTo(map),
            grid: L.layerGroup([], { pane: 'grid' }).addTo(map),
            tracks: L.layerGroup([], { pane: 'tracks' }).addTo(map),
            sites: L.layerGroup([], { pane: 'sites' }).addTo(map),
            orders: L.layerGroup().addTo(map), // markers: the marker pane, above the rest
            alarms: L.layerGroup([], { pane: 'alarms' }).addTo(map),
        };
        L.control.layers(null, {
            'Regions and sea': groups.regions,
            'Pollution grid (24 h)': groups.grid,
            'Mobile tracks (24 h)': groups.tracks,
            'Sites': groups.sites,
            'Work orders': groups.orders,
            'Open alarms': groups.alarms,
        }, { collapsed: true }).addTo(map);
        L.control.scale({ imperial: false }).addTo(map);

        // the compressed copies: the broker's websockets are slow for large
        // messages (docs/CONSOLE.md, "Speed")
        for (const name of ['regions', 'stations', 'sites', 'alarms', 'orders', 'tracks', 'grid'])
            eco.mq.subscribeDeflated(`eco/v1/report/layerz/${name}`, (t, fc) => layer(name, fc));
        eco.mq.subscribe('eco/v1/alarm/#', (t, ev) => alarmEvent(ev));
        eco.mq.subscribe('eco/v1/wo/#', (t, ev) => orderEvent(ev));
    }

    function resize() {
        if (map) map.invalidateSize();
    }

    function layer(name, fc) {
        if (!fc || !Array.isArray(fc.features)) return;
        switch (name) {
        case 'regions': return drawRegions(fc);
        case 'stations': if (sitesFrom !== 'sites') drawSites(fc, 'stations'); return;
        case 'sites': return drawSites(fc, 'sites');
        case 'alarms': return loadAlarms(fc);
        case 'orders': return loadOrders(fc);
        case 'tracks': return drawTracks(fc);
        case 'grid': return drawGrid(fc);
        }
    }

    function drawRegions(fc) {
        groups.regions.clearLayers();
        const gj = L.geoJSON(fc, {
            style: (f) => (f.properties.kind === 'sea_area'
                ? { color: '#4a90c2', weight: 1, fillColor: '#cfe6f5', fillOpacity: 0.8, className: 'region sea', pane: 'regions' }
                : { color: '#7d8c6a', weight: 1, fillColor: '#eef0e4', fillOpacity: 0.9, className: 'region land', pane: 'regions' }),
            onEachFeature: (f, l) => l.bindTooltip(`${esc(f.properties.name)} (${esc(f.properties.code)})`,
                                                   { sticky: true }),
        });
        gj.eachLayer((l) => groups.regions.addLayer(l));
        // districts above sea areas above the city: the smallest on top
        groups.regions.eachLayer((l) => { if (l.feature.properties.kind !== 'sea_area') l.bringToFront(); });
        if (!fitted && fc.features.length) {
            map.fitBounds(gj.getBounds(), { padding: [10, 10] });
            fitted = true;
        }
    }

    function siteColour(p) {
        if (p.colour) return p.colour;
        return { air: '#3b7dd8', noi: '#2ca58d', water: '#1f77b4', sea: '#17becf',
                 gas_outlet: '#7f7f7f', water_outlet: '#8c564b', mobile: '#9467bd' }[p.kind] || '#555';
    }

    function drawSites(fc, from) {
        sitesFrom = from;
        groups.sites.clearLayers();
        sites.clear();
        for (const f of fc.features) {
            const ll = latlngOf(f);
            if (!ll || !f.properties || !f.properties.code) continue;
            const p = f.properties;
            const marker = L.circleMarker(ll, {
                radius: p.kind === 'mobile' ? 5 : 7, weight: 1.5, color: '#222',
                fillColor: siteColour(p), fillOpacity: 0.9,
                className: `site site-${p.kind}`, pane: 'sites',
            });
            marker.bindTooltip(`${esc(p.name || p.code)}${p.aqi != null ? ` · AQI ${esc(p.aqi)}` : ''}` +
                               `${p.water_class_name ? ` · ${esc(p.water_class_name)}` : ''}`);
            marker.on('click', () => select(p.code));
            marker.on('add', () => marker.getElement() && marker.getElement().setAttribute('data-site', p.code));
            groups.sites.addLayer(marker);
            sites.set(p.code, { props: p, latlng: ll, marker });
        }
        if (!fitted && groups.sites.getLayers().length) {
            map.fitBounds(L.featureGroup(groups.sites.getLayers()).getBounds(), { padding: [20, 20] });
            fitted = true;
        }
        redrawAlarms();
        if (selected && sites.has(selected)) showSite(selected, false);
    }

    function drawTracks(fc) {
        groups.tracks.clearLayers();
        L.geoJSON(fc, {
            style: { color: '#9467bd', weight: 2, dashArray: '4 3', className: 'track', pane: 'tracks' },
            pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 3, color: '#9467bd', pane: 'tracks' }),
            onEachFeature: (f, l) => l.bindTooltip(`${esc(f.properties.name || f.properties.code)}: ` +
                                                   `${esc(f.properties.fixes)} fixes`),
        }).eachLayer((l) => groups.tracks.addLayer(l));
    }

    function drawGrid(fc) {
        groups.grid.clearLayers();
        // each parameter's cells on its own scale: the share of its maximum
        const top = {};
        for (const f of fc.features) {
            const p = f.properties;
            top[p.param] = Math.max(top[p.param] || 0, Number(p.mean) || 0);
        }
        L.geoJSON(fc, {
            style: (f) => {
                const s = top[f.properties.param] ? Number(f.properties.mean) / top[f.properties.param] : 0;
                return { stroke: false, fillColor: s > 0.66 ? '#d73027' : s > 0.33 ? '#fc8d59' : '#fee08b',
                         fillOpacity: 0.55, className: 'grid-cell', pane: 'grid' };
            },
            onEachFeature: (f, l) => l.bindTooltip(`${esc(f.properties.param)}: mean ` +
                `${Number(f.properties.mean).toPrecision(3)} ${esc(f.properties.unit || '')}, ` +
                `max ${Number(f.properties.max).toPrecision(3)} (${esc(f.properties.n)} readings)`),
        }).eachLayer((l) => groups.grid.addLayer(l));
    }

    // ---- alarms ------------------------------------------------------------
    function loadAlarms(fc) {
        const now = Date.now();
        const fresh = new Map();
        for (const f of fc.features) {
            const a = Object.assign({}, f.properties);
            const l = live.get(a.id);
            if (l && l.cleared && now - l.at < KEEP_LIVE_MS) continue; // cleared since
            a.latlng = latlngOf(f);
            fresh.set(a.id, a);
        }
        for (const [id, l] of live) {
            if (now - l.at >= KEEP_LIVE_MS) live.delete(id);
            else if (!l.cleared && !fresh.has(id) && alarms.has(id)) fresh.set(id, alarms.get(id));
        }
        alarms.clear();
        for (const [id, a] of fresh) alarms.set(id, a);
        redrawAlarms();
    }

    function alarmEvent(ev) {
        if (!ev || ev.id == null || ev.replay) return;
        live.set(ev.id, { at: Date.now(), cleared: ev.state === 'cleared' });
        if (ev.state === 'cleared') {
            alarms.delete(ev.id);
        } else {
            const a = Object.assign(alarms.get(ev.id) || {}, ev);
            a.last_at = ev.ts || a.last_at;
            if (ev.lat != null && ev.lon != null) a.latlng = L.latLng(ev.lat, ev.lon);
            alarms.set(ev.id, a);
        }
        redrawAlarms();
        if (selected && ev.site === selected) showSite(selected, false);
    }

    function alarmLatLng(a) {
        if (a.latlng) return a.latlng;
        const s = sites.get(a.site);
        return s ? s.latlng : null;
    }

    function redrawAlarms() {
        groups.alarms.clearLayers();
        for (const a of alarms.values()) {
            const ll = alarmLatLng(a);
            if (!ll) continue;
            const m = L.circleMarker(ll, {
                radius: 11 + 2 * (SEVERITY[a.severity] || 1), weight: 3, fill: false,
                color: a.severity === 'critical' ? '#b2182b' : a.severity === 'major' ? '#e34a33' : '#fc8d59',
                className: 'alarm-ring', pane: 'alarms',
            });
            m.bindTooltip(`alarm ${a.id}: ${esc(a.rule)} ${esc(a.param)} at ${esc(a.site)} (${esc(a.severity)})`);
            m.on('click', () => a.site && select(a.site));
            groups.alarms.addLayer(m);
        }
        renderAlarmList();
    }

    // withAck: a dispatcher's button to acknowledge an open alarm
    function alarmLine(a, withAck) {
        const v = a.value != null ? ` ${Number(a.value).toPrecision(4)}${a.unit ? ' ' + esc(a.unit) : ''}` : '';
        const lim = a.limit != null ? ` / ${esc(a.limit)}` : '';
        const acked = a.state === 'acked';
        return `<li class="alarm sev-${esc(a.severity)}" data-alarm="${esc(a.id)}" data-site="${esc(a.site)}"` +
            ` data-state="${esc(a.state || 'open')}">` +
            `<b>${esc(a.rule)}</b> ${esc(a.param && a.param !== '-' ? a.param : '')} ` +
            `<span class="site-code">${esc(a.site)}</span>${v}${lim}` +
            `<span class="muted"> since ${esc(when(a.opened_at))}${acked ? ' · acknowledged' : ''}</span>` +
            (withAck && !acked ? ` <button class="ack" data-ack="${esc(a.id)}">Acknowledge</button>` : '') +
            '</li>';
    }

    function ack(id, button) {
        button.disabled = true;
        eco.mq.request('dispatch', 'alarm.ack', { id }).then(() => {
            const a = alarms.get(id);
            if (a) a.state = 'acked';
            live.set(id, { at: Date.now(), cleared: false });
            eco.app.toast(`alarm ${id} acknowledged`);
            redrawAlarms();
            if (selected) showSite(selected, false);
        }).catch((e) => {
            button.disabled = false;
            eco.app.toast(`alarm ${id}: ${e.message}`);
        });
    }

    // one problem, one record: alarms of an incident together
    function renderAlarmList() {
        const list = [...alarms.values()].sort((x, y) => String(y.last_at || y.opened_at)
            .localeCompare(String(x.last_at || x.opened_at)));
        const byInc = new Map();
        const single = [];
        for (const a of list) {
            if (a.incident != null) {
                if (!byInc.has(a.incident)) byInc.set(a.incident, []);
                byInc.get(a.incident).push(a);
            } else single.push(a);
        }
        let html = '';
        for (const [inc, as] of byInc) {
            const sitesOf = [...new Set(as.map((a) => a.site))];
            html += `<div class="incident" data-incident="${esc(inc)}"><h3>Incident ${esc(inc)}` +
                `<span class="muted"> · ${as.length} alarm${as.length > 1 ? 's' : ''} at ` +
                `${sitesOf.length} site${sitesOf.length > 1 ? 's' : ''}</span></h3><ul>` +
                as.map((a) => alarmLine(a, false)).join('') + '</ul></div>';
        }
        if (single.length) html += '<ul>' + single.map((a) => alarmLine(a, false)).join('') + '</ul>';
        $('alarms').innerHTML = html || '<p class="muted">No open alarms you may see.</p>';
        $('alarm-count').textContent = String(alarms.size);
        for (const li of $('alarms').querySelectorAll('li[data-site]'))
            li.addEventListener('click', () => select(li.dataset.site));
    }

    // ---- orders --------------------------------------------------------------
    function loadOrders(fc) {
        const fresh = new Map();
        for (const f of fc.features) {
            const p = f.properties;
            const known = orders.get(p.id);
            // a recent event is newer than the layer and wins
            const recent = known && known.at && Date.now() - known.at < KEEP_LIVE_MS;
            if (recent && !open(known.props.state)) continue;
            fresh.set(p.id, { props: Object.assign({}, p, recent ? known.props : {}),
                              latlng: latlngOf(f), at: recent ? known.at : 0 });
        }
        for (const [id, o] of orders)
            if (!fresh.has(id) && o.at && Date.now() - o.at < KEEP_LIVE_MS && open(o.props.state))
                fresh.set(id, o);
        orders.clear();
        for (const [id, o] of fresh) orders.set(id, o);
        redrawOrders();
    }

    const open = (s) => s !== 'closed' && s !== 'cancelled';

    function orderEvent(ev) {
        if (!ev || ev.id == null) return;
        onOrder(ev);
        const o = orders.get(ev.id) || { props: { id: ev.id }, latlng: null };
        Object.assign(o.props, { state: ev.state, dept: ev.dept, priority: ev.priority || o.props.priority,
                                 title: ev.title || o.props.title, due_at: ev.deadline || o.props.due_at });
        o.at = Date.now();
        orders.set(ev.id, o);
        if (!o.latlng && open(ev.state)) {
            // an order this page has not placed yet: where is it?
            eco.mq.request('dispatch', 'wo.show', { id: ev.id }).then((r) => {
                const w = r.order;
                if (w.lat != null && w.lon != null) o.latlng = L.latLng(w.lat, w.lon);
                else if (w.site && sites.has(w.site)) o.latlng = sites.get(w.site).latlng;
                o.props.site = w.site;
                o.props.incident = w.incident;
                redrawOrders();
            }).catch(() => {});
        }
        redrawOrders();
    }

    function redrawOrders() {
        groups.orders.clearLayers();
        for (const o of orders.values()) {
            if (!o.latlng || !open(o.props.state)) continue;
            const overdue = o.props.overdue || (o.props.due_at && Date.parse(o.props.due_at) < Date.now());
            const m = L.marker(o.latlng, {
                icon: L.divIcon({ className: `wo-pin${overdue ? ' overdue' : ''}`,
                                  html: `<span>${esc(o.props.id)}</span>`, iconSize: [26, 18] }),
                keyboard: false,
            });
            m.bindTooltip(`order ${esc(o.props.id)}: ${esc(o.props.title || '')} (${esc(o.props.state)}, ` +
                          `${esc(o.props.dept || 'no department')})`);
            m.on('click', () => eco.board.open(o.props.id));
            groups.orders.addLayer(m);
        }
    }

    // ---- a site ------------------------------------------------------------
    const latest = new Map(); // param -> latest message of the selected site

    function select(code) {
        if (selected && selected !== code) eco.mq.unsubscribe(`eco/v1/latest/${selected}/+`);
        const fresh = selected !== code;
        selected = code;
        if (fresh) {
            latest.clear();
            eco.mq.subscribe(`eco/v1/latest/${code}/+`, (t, m) => {
                if (selected !== code) return;
                latest.set(t.split('/')[4], m);
                renderLatest();
            });
        }
        const s = sites.get(code);
        if (s) map.panTo(s.latlng);
        showSite(code, fresh);
    }

    function renderLatest() {
        const el = $('site-latest');
        if (!el) return;
        const rows = [...latest.entries()].sort((a, b) => a[0].localeCompare(b[0]));
        el.innerHTML = rows.map(([p, m]) => `<tr><th>${esc(p)}</th><td>${esc(m.v != null ? m.v : m.value)} ` +
            `${esc(m.unit || '')}</td><td class="muted">${esc(m.flag && m.flag !== 'N' ? m.flag : '')} ` +
            `${esc(when(m.ts))}</td></tr>`).join('');
    }

    function showSite(code, load) {
        const s = sites.get(code);
        const p = s ? s.props : { code };
        const el = $('site');
        const mine = [...alarms.values()].filter((a) => a.site === code);
        const ords = [...orders.values()].filter((o) => o.props.site === code && open(o.props.state));
        const state = [];
        if (p.aqi != null) state.push(`AQI ${esc(p.aqi)} ${esc(p.aqi_category || '')}`);
        if (p.water_class_name) state.push(`${esc(p.water_class_name)}${p.meets_target === false ? ' (misses its target)' : ''}`);
        if (p.exceeding) state.push('<b class="bad">over its limit</b>');
        if (load || !el.querySelector('.chart-box')) {
            el.innerHTML = `<button class="close" title="close" aria-label="close">×</button>` +
                `<h2 class="site-name">${esc(p.name || code)}</h2>` +
                `<p class="muted">${esc(code)} · ${esc(p.kind || '')}${p.region ? ' · ' + esc(p.region) : ''}</p>` +
                `<p class="site-state"></p><div class="site-problems"></div>` +
                `<table class="latest"><tbody id="site-latest"></tbody></table>` +
                `<div class="chips"></div><div class="chart-box"><p class="muted">loading the last 24 hours…</p></div>`;
            el.querySelector('.close').addEventListener('click', () => {
                eco.mq.unsubscribe(`eco/v1/latest/${code}/+`);
                selected = null;
                el.hidden = true;
            });
            if (load) loadSeries(code);
        }
        el.querySelector('.site-state').innerHTML = state.join(' · ');
        const mayAck = ['dispatcher', 'admin'].includes(document.body.dataset.role);
        el.querySelector('.site-problems').innerHTML =
            (mine.length ? '<ul>' + mine.map((a) => alarmLine(a, mayAck)).join('') + '</ul>' : '') +
            ords.map((o) => `<p class="wo-link" data-order="${esc(o.props.id)}">order ${esc(o.props.id)}: ` +
                     `${esc(o.props.title || '')} (${esc(o.props.state)})</p>`).join('');
        for (const b of el.querySelectorAll('button[data-ack]'))
            b.addEventListener('click', () => ack(Number(b.dataset.ack), b));
        for (const w of el.querySelectorAll('.wo-link'))
            w.addEventListener('click', () => eco.board.open(Number(w.dataset.order)));
        renderLatest();
        el.hidden = false;
    }

    function loadSeries(code) {
        const el = $('site');
        eco.mq.request('report', 'series', { site: code, hours: 24 }).then((r) => {
            if (selected !== code) return;
            const series = (r.series && r.series.params) || [];
            const chips = el.querySelector('.chips');
            const box = el.querySelector('.chart-box');
            if (!series.length) {
                box.innerHTML = '<p class="muted">no readings in the last 24 hours</p>';
                return;
            }
            const show = (i) => {
                const sr = series[i];
                box.innerHTML = `<p class="muted">${esc(sr.param)} (${esc(sr.period)}), ` +
                    `${sr.points.length} values</p>`;
                box.appendChild(eco.chart.draw(sr.points, sr.unit, null));
                for (const c of chips.children) c.classList.toggle('on', Number(c.dataset.i) === i);
            };
            chips.innerHTML = series.map((sr, i) => `<button class="chip" data-i="${i}">${esc(sr.param)}</button>`).join('');
            for (const c of chips.children) c.addEventListener('click', () => show(Number(c.dataset.i)));
            show(0);
        }).catch((e) => {
            if (selected === code) el.querySelector('.chart-box').innerHTML =
                `<p class="muted">recent values unavailable: ${esc(e.message)}</p>`;
        });
    }

    function siteName(code) {
        const s = sites.get(code);
        return s ? s.props.name : code;
    }

    return { init, resize, select, siteName, get alarms() { return alarms; },
             get sites() { return sites; } };
})();
