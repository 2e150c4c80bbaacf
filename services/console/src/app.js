// Sign-in, tabs and the parts' wiring. The password is sent to the broker
// only (over wss:// when the page is served over https://) and never kept;
// the user name is remembered in this browser.
'use strict';
window.eco = window.eco || {};

eco.app = (function () {
    const $ = (id) => document.getElementById(id);
    let toastTimer = null;

    function defaultUrl() {
        // the page is served by the broker's websockets listener (http_dir):
        // the same host and port speak MQTT
        const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
        return location.host ? `${proto}//${location.host}/mqtt` : '';
    }

    function toast(text) {
        const t = $('toast');
        t.textContent = text;
        t.classList.add('on');
        clearTimeout(toastTimer);
        toastTimer = setTimeout(() => t.classList.remove('on'), 4000);
    }

    function tab(name) {
        for (const b of document.querySelectorAll('.tab')) b.classList.toggle('on', b.dataset.tab === name);
        for (const v of document.querySelectorAll('.view')) v.classList.toggle('on', v.id === `view-${name}`);
        if (name === 'map') eco.map.resize();
        if (name === 'board') eco.board.load();
        history.replaceState(null, '', `#${name}`);
    }

    function setState(s) {
        const c = $('conn');
        c.textContent = s;
        c.className = `conn ${s}`;
    }

    function signIn(e) {
        e.preventDefault();
        const user = $('login-user').value.trim();
        const password = $('login-password').value;
        const url = $('login-url').value.trim() || defaultUrl();
        const err = $('login-error');
        err.textContent = '';
        $('login-go').disabled = true;
        eco.mq.connect(url, user, password, setState).then(() => {
            $('login-password').value = '';
            try { localStorage.setItem('eco.user', user); } catch (x) { /* private mode */ }
            $('login').hidden = true;
            $('main').hidden = false;
            $('who').textContent = user;
            eco.map.init($('map'), { onOrder: (ev) => eco.board.changed(ev) });
            // who am I to eco-dispatch: role and department decide the
            // actions offered; eco-dispatch still checks each one
            eco.mq.request('dispatch', 'me', {}).then((me) => {
                $('who').textContent = `${user} · ${me.role}${me.dept ? ' · ' + me.dept : ''}`;
                document.body.dataset.role = me.role;
                eco.board.init({ role: me.role, dept: me.dept });
            }).catch(() => eco.board.init({ role: null, dept: null }));
            tab(location.hash === '#board' ? 'board' : 'map');
            const clock = () => { $('clock').textContent = `${eco.time(Date.now()).slice(11)} Beijing`; };
            clock();
            setInterval(clock, 10000);
        }).catch((x) => {
            $('login-go').disabled = false;
            const m = String((x && x.message) || x);
            const refused = [4, 5, 134, 135].includes(x && x.code) || /not authori[sz]ed|bad user ?name or password/i.test(m);
            err.textContent = refused
                ? `sign-in refused: wrong user name or password, or the account is disabled (${m})`
                : `cannot reach the broker at ${url}: ${m}`;
        });
    }

    function signOut() {
        eco.board.stop();
        eco.mq.end();
        location.hash = '';
        location.reload();
    }

    function start() {
        $('login-url').value = defaultUrl();
        try { $('login-user').value = localStorage.getItem('eco.user') || ''; } catch (x) { /* none */ }
        $('login-form').addEventListener('submit', signIn);
        $('logout').addEventListener('click', signOut);
        for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => tab(b.dataset.tab));
        document.addEventListener('keydown', (e) => {
            if (e.key === 'Escape' && !$('order').hidden) eco.board.close();
        });
        window.addEventListener('resize', () => eco.map.resize());
    }

    return { start, tab, toast };
})();

document.addEventListener('DOMContentLoaded', eco.app.start);
