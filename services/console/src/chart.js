// A small line chart of one parameter's recent values, as inline SVG.
'use strict';
window.eco = window.eco || {};

eco.chart = (function () {
    const NS = 'http://www.w3.org/2000/svg';
    const W = 320, H = 120, L = 40, R = 6, T = 8, B = 20;

    function el(name, attrs, text) {
        const e = document.createElementNS(NS, name);
        for (const k in attrs) e.setAttribute(k, attrs[k]);
        if (text !== undefined) e.textContent = text;
        return e;
    }

    function fmt(v) {
        const a = Math.abs(v);
        return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toPrecision(3);
    }

    function hhmm(t) {
        return eco.time(t).slice(11);
    }

    // points: [[rfc3339, value, flag], ...] in time order; limit: a line
    // drawn at the value (or null)
    function draw(points, unit, limit) {
        const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img' });
        const pts = points.filter((p) => typeof p[1] === 'number')
            .map((p) => ({ t: Date.parse(p[0]), v: p[1], f: p[2] }));
        if (pts.length === 0) {
            svg.appendChild(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'muted' },
                               'no values in the window'));
            return svg;
        }
        let t0 = pts[0].t, t1 = pts[pts.length - 1].t;
        if (t1 === t0) { t0 -= 3600e3; t1 += 3600e3; }
        let v0 = Math.min(...pts.map((p) => p.v)), v1 = Math.max(...pts.map((p) => p.v));
        if (typeof limit === 'number') { v0 = Math.min(v0, limit); v1 = Math.max(v1, limit); }
        if (v1 === v0) { v0 -= 1; v1 += 1; }
        const pad = (v1 - v0) * 0.08;
        v0 -= pad; v1 += pad;
        const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
        const y = (v) => T + (H - T - B) * (1 - (v - v0) / (v1 - v0));
        svg.appendChild(el('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
        svg.appendChild(el('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
        svg.appendChild(el('text', { x: L - 4, y: T + 8, 'text-anchor': 'end', class: 'tick' }, fmt(v1)));
        svg.appendChild(el('text', { x: L - 4, y: H - B, 'text-anchor': 'end', class: 'tick' }, fmt(v0)));
        svg.appendChild(el('text', { x: L, y: H - 5, class: 'tick' }, hhmm(t0)));
        svg.appendChild(el('text', { x: W - R, y: H - 5, 'text-anchor': 'end', class: 'tick' }, hhmm(t1)));
        if (unit) svg.appendChild(el('text', { x: L + 4, y: T + 8, class: 'tick' }, unit));
        if (typeof limit === 'number')
            svg.appendChild(el('line', { x1: L, y1: y(limit), x2: W - R, y2: y(limit), class: 'limit' }));
        // a gap of more than three median steps breaks the line
        const steps = pts.slice(1).map((p, i) => p.t - pts[i].t).sort((a, b) => a - b);
        const gap = 3 * (steps[steps.length >> 1] || 3600e3);
        let d = '';
        pts.forEach((p, i) => {
            const move = i === 0 || p.t - pts[i - 1].t > gap;
            d += `${move ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`;
        });
        svg.appendChild(el('path', { d, class: 'line' }));
        for (const p of pts) {
            if (p.f && p.f !== 'N')
                svg.appendChild(el('circle', { cx: x(p.t), cy: y(p.v), r: 2.5, class: 'flagged' }));
        }
        return svg;
    }

    return { draw };
})();
