// The work-order board: orders by state and department, deadlines counting
// down, overdue ones marked, and the order's actions. Every action is a
// request to eco-dispatch in the user's own name; eco-dispatch decides what
// the user may do (a department acts on its own orders only) and the page
// only offers what the user's role could do in the order's state.
'use strict';
window.eco = window.eco || {};

eco.board = (function () {
    const COLUMNS = [
        ['new', 'New'], ['dispatched', 'Dispatched'], ['returned', 'Returned'],
        ['accepted', 'Accepted'], ['in_progress', 'In progress'], ['replied', 'Replied'],
        ['verified', 'Verified'], ['closed', 'Closed lately'],
    ];
    const OPEN = COLUMNS.map((c) => c[0]).filter((s) => s !== 'closed');
    const CLOSED_SHOWN = 10;
    // action -> [who, states it applies to, needs a note, label]
    const ACTIONS = {
        assign: ['dispatcher', ['new', 'dispatched', 'returned', 'accepted', 'in_progress'], false, 'Dispatch to'],
        accept: ['department', ['dispatched'], false, 'Accept'],
        start: ['department', ['accepted'], false, 'Start work'],
        reply: ['department', ['accepted', 'in_progress'], true, 'Reply'],
        reject: ['both', [], true, 'Reject'],
        verify: ['dispatcher', ['replied'], false, 'Verify'],
        close: ['dispatcher', ['verified'], false, 'Close'],
        reopen: ['dispatcher', ['verified', 'closed'], true, 'Reopen'],
        cancel: ['dispatcher', ['new', 'dispatched', 'returned', 'accepted', 'in_progress', 'replied', 'verified'],
                 true, 'Cancel'],
    };
    let me = { role: null, dept: null };
    let orders = [];
    let closed = [];
    let depts = new Map(); // code -> name
    let timer = null;
    let refresher = null;
    let reload = null;
    let reload2 = null;
    let shown = null; // the order in the dialog
    let drawn = ''; // the board's markup as last drawn
    let gen = 0; // bumped by every open and close: late answers are dropped

    const $ = (id) => document.getElementById(id);
    const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g,
        (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
    const when = (t) => eco.time(t);
    const dispatcher = () => me.role === 'dispatcher' || me.role === 'admin';

    function init(who) {
        me = who || me;
        for (const b of document.querySelectorAll('.dispatcher-only')) b.hidden = !dispatcher();
        // a department sees its own orders only: nothing to filter by
        $('board-dept').closest('label').hidden = me.role === 'department';
        $('board-dept').addEventListener('change', load);
        $('board-overdue').addEventListener('change', render);
        $('board-new').addEventListener('click', createForm);
        // one listener for every card, so that a card drawn again between a
        // press and its release still opens
        const card = (e) => e.target.closest && e.target.closest('#board .card');
        $('board').addEventListener('click', (e) => { const c = card(e); if (c) open(Number(c.dataset.order)); });
        $('board').addEventListener('keydown', (e) => {
            const c = card(e);
            if (c && e.key === 'Enter') open(Number(c.dataset.order));
        });
        eco.mq.subscribeDeflated('eco/v1/report/layerz/departments', (t, fc) => {
            if (!fc || !Array.isArray(fc.features)) return;
            for (const f of fc.features) depts.set(f.properties.code, f.properties.name);
            fillDepts();
        });
        timer = setInterval(tick, 1000);
        // events of orders that left this user's view (re-routed to another
        // department) never reach it: read the board again now and then
        refresher = setInterval(load, 60000);
        load();
    }

    function fillDepts() {
        for (const o of orders) if (o.dept && !depts.has(o.dept)) depts.set(o.dept, o.dept);
        const sel = $('board-dept');
        const cur = sel.value;
        sel.innerHTML = '<option value="">all</option>' + [...depts.keys()].sort()
            .map((c) => `<option value="${esc(c)}">${esc(c)}${depts.get(c) !== c ? ' ' + esc(depts.get(c)) : ''}</option>`)
            .join('');
        sel.value = cur;
    }

    function load() {
        const dept = $('board-dept').value || undefined;
        $('board-status').textContent = 'loading…';
        return Promise.all([
            eco.mq.request('dispatch', 'wo.list', { state: OPEN, dept, limit: 1000 }),
            eco.mq.request('dispatch', 'wo.list', { state: ['closed', 'cancelled'], dept, limit: CLOSED_SHOWN }),
        ]).then(([o, c]) => {
            orders = o.orders || [];
            closed = c.orders || [];
            $('board-status').textContent = `${orders.length} open order${orders.length === 1 ? '' : 's'}`;
            fillDepts();
            render();
        }).catch((e) => {
            $('board-status').textContent = `orders unavailable: ${e.message}`;
        });
    }

    // a work-order event (eco/v1/wo/...): the board is read again, once for
    // a burst of events
    function changed(ev) {
        clearTimeout(reload);
        reload = setTimeout(load, 300);
        if (shown === ev.id) {
            clearTimeout(reload2);
            const g = gen;
            reload2 = setTimeout(() => { if (shown === ev.id && gen === g) open(ev.id); }, 300);
        }
    }
    function due(o) {
        if (!o.due_at) return { text: 'no deadline', overdue: false };
        const ms = Date.parse(o.due_at) - Date.now();
        const a = Math.abs(ms);
        const d = Math.floor(a / 86400e3), h = Math.floor(a / 3600e3) % 24, m = Math.floor(a / 60e3) % 60,
            s = Math.floor(a / 1e3) % 60;
        const span = d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${s} s`;
        const overdue = o.overdue || ms < 0;
        return { text: ms < 0 ? `overdue ${span}` : `due in ${span}`, overdue };
    }

    // the countdown and the overdue mark are left to tick(): a card's markup
    // changes only when the order does
    function card(o) {
        return `<article class="card pri-${esc(o.priority)}" ` +
            `data-order="${esc(o.id)}" data-state="${esc(o.state)}" data-dept="${esc(o.dept || '')}" tabindex="0">` +
            `<header><b>#${esc(o.id)}</b> <span class="pri">P${esc(o.priority)}</span> ` +
            `<span class="dept">${esc(o.dept || 'unassigned')}</span></header>` +
            `<p class="title">${esc(o.title)}</p>` +
            (o.state === 'closed' || o.state === 'cancelled'
                ? `<p class="muted">${esc(o.state)}</p>`
                : `<p class="due" data-due="${esc(o.due_at || '')}"></p>`) +
            `</article>`;
    }

    function render() {
        const only = $('board-overdue').checked;
        const list = only ? orders.filter((o) => due(o).overdue) : orders;
        let html = '';
        for (const [state, label] of COLUMNS) {
            const here = state === 'closed' ? (only ? [] : closed) : list.filter((o) => o.state === state);
            if (state === 'returned' && here.length === 0) continue;
            here.sort((a, b) => (a.priority - b.priority) ||
                                String(a.due_at || '~').localeCompare(String(b.due_at || '~')));
            html += `<section class="col" data-col="${state}"><h3>${label} <span class="count">${here.length}</span></h3>` +
                here.map(card).join('') + '</section>';
        }
        // the board is read again on every order event: an unchanged board is
        // not drawn again, so a card under the pointer stays the same element
        if (html !== drawn) {
            $('board').innerHTML = html;
            drawn = html;
        }
        tick();
    }

    function tick() {
        for (const el of document.querySelectorAll('#board .due')) {
            const o = orders.find((x) => String(x.id) === el.closest('.card').dataset.order);
            if (!o) continue;
            const d = due(o);
            el.textContent = d.text;
            el.closest('.card').classList.toggle('overdue', d.overdue && o.state !== 'closed');
        }
    }

    function allowed(action, state) {
        const [who, states] = ACTIONS[action];
        if (action === 'reject')
            return dispatcher() ? state === 'replied'
                                : me.role === 'department' && (state === 'dispatched' || state === 'accepted');
        if (!me.role) return states.includes(state); // role unknown: eco-dispatch decides
        if (who === 'dispatcher' && !dispatcher()) return false;
        if (who === 'department' && me.role !== 'department') return false;
        return states.includes(state);
    }

    function open(id) {
        const g = ++gen;
        shown = id;
        const box = $('order');
        box.hidden = false;
        box.innerHTML = `<div class="sheet"><button class="close" title="close" aria-label="close">×</button>` +
            `<p class="muted">loading order ${esc(id)}…</p></div>`;
        box.querySelector('.close').addEventListener('click', closeDialog);
        return eco.mq.request('dispatch', 'wo.show', { id }).then((r) => {
            if (shown !== id || gen !== g) return; // closed, or opened again since
            showOrder(r);
        }).catch((e) => {
            if (shown !== id || gen !== g) return;
            box.innerHTML = `<div class="sheet"><button class="close">×</button>` +
                `<p class="error">${esc(e.message)}</p></div>`;
            box.querySelector('.close').addEventListener('click', closeDialog);
        });
    }

    function closeDialog() {
        shown = null;
        gen++;
        clearTimeout(reload2);
        $('order').hidden = true;
    }

    function showOrder(r) {
        const o = r.order;
        const d = due(o);
        const actions = Object.keys(ACTIONS).filter((a) => allowed(a, o.state));
        const deptOptions = [...depts.keys()].sort().map((c) =>
            `<option value="${esc(c)}"${c === o.dept ? ' selected' : ''}>${esc(c)}` +
            `${depts.get(c) !== c ? ' · ' + esc(depts.get(c)) : ''}</option>`).join('');
        const ev = (r.events || []).map((e) => `<li><span class="muted">${esc(when(e.ts))}</span> ` +
            `<b>${esc(e.action)}</b>${e.prev_state && e.prev_state !== e.state ? ` ${esc(e.prev_state)} → ${esc(e.state)}` : ''}` +
            `${e.dept ? ` [${esc(e.dept)}]` : ''} by ${esc(e.actor)}` +
            `${e.note ? `<br><span class="note">${esc(e.note)}</span>` : ''}` +
            (e.attachments || []).map((u) => (/^https?:\/\//i.test(u)
                ? `<br><a href="${esc(u)}" rel="noopener noreferrer" target="_blank">${esc(u)}</a>`
                : `<br>${esc(u)}`)).join('') +
            '</li>').join('');
        const box = $('order');
        box.innerHTML = `<div class="sheet" data-order="${esc(o.id)}" data-state="${esc(o.state)}">` +
            `<button class="close" title="close" aria-label="close">×</button>` +
            `<h2>Work order ${esc(o.id)}: <span class="state">${esc(o.state.replace('_', ' '))}</span></h2>` +
            `<p class="title">${esc(o.title)}</p>` +
            (o.text ? `<p class="text">${esc(o.text)}</p>` : '') +
            `<dl><dt>Department</dt><dd>${esc(o.dept || 'none')}</dd><dt>Priority</dt><dd>${esc(o.priority)}</dd>` +
            `<dt>Category</dt><dd>${esc(o.category)}</dd><dt>Source</dt><dd>${esc(o.source)}` +
            `${o.alarm ? ` (alarm ${esc(o.alarm)})` : ''}${o.incident ? `, incident ${esc(o.incident)}` : ''}</dd>` +
            (o.site ? `<dt>Site</dt><dd><a href="#" class="site-link">${esc(o.site)}</a></dd>` : '') +
            `<dt>Deadline</dt><dd class="${d.overdue ? 'bad' : ''}">${esc(when(o.due_at))} · ${esc(d.text)}</dd>` +
            (o.route_why ? `<dt>Routed</dt><dd>${esc(o.route_why)}</dd>` : '') + '</dl>' +
            (actions.length ? `<div class="act">` +
                (actions.includes('assign') ? `<label>Department <select id="order-dept">${deptOptions}</select></label>` : '') +
                `<label>Note <textarea id="order-note" rows="2" maxlength="16384"></textarea></label>` +
                (actions.includes('reply') ? `<label>Attachments (URLs, one a line) <textarea id="order-attach" rows="1"></textarea></label>` : '') +
                `<div class="buttons">` + actions.map((a) =>
                    `<button data-action="${a}" class="${a === 'cancel' || a === 'reject' ? 'warn' : ''}">${ACTIONS[a][3]}</button>`).join('') +
                `</div><p id="order-error" class="error" role="alert"></p></div>` : '') +
            `<h3>History</h3><ol class="events">${ev}</ol></div>`;
        box.querySelector('.close').addEventListener('click', closeDialog);
        const sl = box.querySelector('.site-link');
        if (sl) sl.addEventListener('click', (e) => { e.preventDefault(); closeDialog(); eco.app.tab('map'); eco.map.select(o.site); });
        for (const b of box.querySelectorAll('button[data-action]'))
            b.addEventListener('click', () => act(o, b.dataset.action, b));
    }

    function act(o, action, button) {
        const note = ($('order-note') && $('order-note').value.trim()) || undefined;
        const err = $('order-error');
        if (ACTIONS[action][2] && !note) {
            err.textContent = `${ACTIONS[action][3]} needs a note`;
            return;
        }
        const args = { id: o.id, note };
        if (action === 'assign') args.dept = $('order-dept').value;
        if (action === 'reply') {
            const urls = ($('order-attach').value || '').split(/\s+/).filter(Boolean);
            if (urls.length) args.attachments = urls;
        }
        button.disabled = true;
        err.textContent = '';
        const g = gen;
        eco.mq.request('dispatch', `wo.${action}`, args).then((r) => {
            eco.app.toast(`order ${o.id}: ${r.state ? r.state.replace('_', ' ') : action}`);
            load();
            if (shown === o.id && gen === g) return open(o.id);
        }).catch((e) => {
            button.disabled = false;
            err.textContent = e.message;
        });
    }

    function createForm() {
        const box = $('order');
        shown = null;
        box.hidden = false;
        box.innerHTML = `<div class="sheet"><button class="close">×</button><h2>New work order</h2>` +
            `<form id="create"><label>Title <input name="title" required maxlength="200"></label>` +
            `<label>Category <select name="category">${['air', 'water', 'sea', 'noise', 'waste', 'other']
                .map((c) => `<option>${c}</option>`).join('')}</select></label>` +
            `<label>Priority <select name="priority"><option>1</option><option>2</option>` +
            `<option selected>3</option><option>4</option></select></label>` +
            `<label>Site code <input name="site" maxlength="64" placeholder="or latitude and longitude"></label>` +
            `<label>Latitude <input name="lat" type="number" step="any" min="-90" max="90"></label>` +
            `<label>Longitude <input name="lon" type="number" step="any" min="-180" max="180"></label>` +
            `<label>Department <select name="dept"><option value="">route by place and duty</option>` +
            [...depts.keys()].sort().map((c) => `<option>${esc(c)}</option>`).join('') + `</select></label>` +
            `<label>Text <textarea name="text" rows="3"></textarea></label>` +
            `<button type="submit">Create</button><p id="order-error" class="error" role="alert"></p></form></div>`;
        box.querySelector('.close').addEventListener('click', closeDialog);
        box.querySelector('form').addEventListener('submit', (e) => {
            e.preventDefault();
            const f = new FormData(e.target);
            const args = { title: f.get('title'), category: f.get('category'), priority: Number(f.get('priority')) };
            for (const k of ['site', 'dept', 'text']) if (f.get(k)) args[k] = f.get(k);
            if (f.get('lat') && f.get('lon')) { args.lat = Number(f.get('lat')); args.lon = Number(f.get('lon')); }
            eco.mq.request('dispatch', 'wo.create', args).then((r) => {
                eco.app.toast(`order ${r.id} created: ${r.state}${r.dept ? ' to ' + r.dept : ''}`);
                load();
                open(r.id);
            }).catch((err) => { $('order-error').textContent = err.message; });
        });
    }

    function stop() {
        clearInterval(timer);
        clearInterval(refresher);
        clearTimeout(reload);
        clearTimeout(reload2);
    }

    return { init, changed, open, load, stop, close: closeDialog };
})();
