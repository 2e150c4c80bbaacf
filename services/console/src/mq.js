// The broker connection: one MQTT 5 client over websockets, signed in with
// the user's own account. What the user may read and which requests a
// service grants are decided by the broker's ACL and by the services
// (docs/SECURITY.md), never by this page.
'use strict';
window.eco = window.eco || {};

// Times as the command center reads them, Beijing time whatever the
// browser's zone (as ecoctl and the reports): 2026-12-06 16:00
eco.time = (function () {
    const f = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit',
                                                 day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
    return (t) => (t ? f.format(new Date(t)) : '');
})();

eco.mq = (function () {
    const RPC_TIMEOUT_MS = 15000;
    const handlers = []; // [{filter, parts, fn}]
    const pending = new Map(); // reply topic -> {resolve, reject, timer}
    let client = null;
    let user = null;
    let replyBase = null; // eco/v1/rpc/reply/{user}/c{session}
    let seq = 0;

    function match(parts, topic) {
        const t = topic.split('/');
        for (let i = 0; i < parts.length; i++) {
            if (parts[i] === '#') return true;
            if (i >= t.length) return false;
            if (parts[i] !== '+' && parts[i] !== t[i]) return false;
        }
        return parts.length === t.length;
    }

    function dispatch(topic, payload, packet) {
        const p = pending.get(topic);
        if (p) {
            pending.delete(topic);
            clearTimeout(p.timer);
            let reply;
            try {
                reply = JSON.parse(new TextDecoder().decode(payload));
            } catch (e) {
                p.reject(new Error('the service answered with something that is not JSON'));
                return;
            }
            if (reply && reply.ok === true) p.resolve(reply);
            else p.reject(new Error((reply && reply.error) || 'refused'));
            return;
        }
        if (payload.length === 0) return; // a cleared retained message
        let msg, bad = false;
        for (const h of handlers) {
            if (!match(h.parts, topic)) continue;
            if (!h.raw && msg === undefined) {
                if (bad) continue;
                try {
                    msg = JSON.parse(new TextDecoder().decode(payload));
                } catch (e) {
                    console.warn('not JSON on', topic);
                    bad = true;
                    continue;
                }
            }
            try {
                h.fn(topic, h.raw ? payload : msg, packet);
            } catch (e) {
                console.error('handler for', h.filter, 'failed:', e);
            }
        }
    }

    // A zlib-compressed JSON document (RFC 1950: eco/v1/report/layerz/...),
    // decompressed by the browser.
    async function inflate(bytes) {
        const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
        return JSON.parse(await new Response(stream).text());
    }

    // Resolves once connected; rejects with the broker's reason when the
    // first connection fails (a wrong password must not retry for ever).
    function connect(url, username, password, onState) {
        user = username;
        const session = Math.random().toString(36).slice(2, 10);
        replyBase = `eco/v1/rpc/reply/${username}/c${session}`;
        return new Promise((resolve, reject) => {
            let first = true;
            client = mqtt.connect(url, {
                protocolVersion: 5,
                username,
                password,
                clientId: `console-${username}-${session}`.slice(0, 64),
                clean: true,
                keepalive: 30,
                reconnectPeriod: 3000,
                connectTimeout: 10000,
                resubscribe: true,
            });
            client.on('connect', () => {
                onState('online');
                for (const h of handlers) client.subscribe(h.filter, { qos: 1 });
                // requests are sent once their replies can be received
                client.subscribe(`${replyBase}/#`, { qos: 1 }, (err) => {
                    if (!first) return;
                    first = false;
                    if (err) {
                        client.end(true);
                        reject(err);
                    } else resolve();
                });
            });
            client.on('reconnect', () => onState('reconnecting'));
            client.on('offline', () => onState('offline'));
            client.on('error', (err) => {
                if (first) {
                    first = false;
                    client.end(true);
                    reject(err);
                }
            });
            client.on('message', dispatch);
        });
    }

    function subscribe(filter, fn) {
        handlers.push({ filter, parts: filter.split('/'), fn });
        if (client && client.connected) client.subscribe(filter, { qos: 1 });
    }

    // fn(topic, payload bytes)
    function subscribeRaw(filter, fn) {
        handlers.push({ filter, parts: filter.split('/'), raw: true, fn });
        if (client && client.connected) client.subscribe(filter, { qos: 1 });
    }

    // fn(topic, document) for zlib-compressed JSON, in the order received
    function subscribeDeflated(filter, fn) {
        let chain = Promise.resolve();
        subscribeRaw(filter, (topic, bytes) => {
            chain = chain.then(() => inflate(bytes)).then((doc) => fn(topic, doc))
                .catch((e) => console.warn('not zlib JSON on', topic, e));
        });
    }

    function unsubscribe(filter) {
        for (let i = handlers.length - 1; i >= 0; i--)
            if (handlers[i].filter === filter) handlers.splice(i, 1);
        if (client && client.connected) client.unsubscribe(filter);
    }

    // A request to a service as this user (docs/CONTRACT.md, "Requests to
    // services"): the answer comes on a reply topic of its own.
    function request(service, method, args) {
        if (!client || !client.connected) return Promise.reject(new Error('not connected to the broker'));
        const reply = `${replyBase}/${++seq}`;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                pending.delete(reply);
                reject(new Error(`no answer from eco-${service} within ${RPC_TIMEOUT_MS / 1000} s`));
            }, RPC_TIMEOUT_MS);
            pending.set(reply, { resolve, reject, timer });
            client.publish(`eco/v1/rpc/${service}/${method}/${user}`, JSON.stringify(args || {}), {
                qos: 1,
                properties: {
                    responseTopic: reply,
                    messageExpiryInterval: RPC_TIMEOUT_MS / 1000,
                    contentType: 'application/json',
                },
            }, (err) => {
                if (err) {
                    clearTimeout(timer);
                    pending.delete(reply);
                    reject(err);
                }
            });
        });
    }

    function end() {
        for (const p of pending.values()) clearTimeout(p.timer);
        pending.clear();
        handlers.length = 0;
        if (client) client.end(true);
        client = null;
    }

    return { connect, subscribe, subscribeRaw, subscribeDeflated, unsubscribe, request, end, get user() { return user; } };
})();
