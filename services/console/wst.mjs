import mqtt from 'mqtt';
const t0 = Date.now();
const c = mqtt.connect(process.env.U, { username: 'admin', password: process.env.P, protocolVersion: 5 });
c.on('connect', () => { console.log('connected', Date.now() - t0); c.subscribe('eco/v1/report/layer/test'); });
c.on('message', (t, p) => { console.log('got', p.length, Date.now() - t0); c.end(); });
