'use strict';
// Drives the official AirDC++ client library (airdcpp-apisocket) against a pyhost Web API,
// for the pytest protocol tests (tests/test_server_apisocket.py). Commands arrive on stdin,
// one JSON object per line; results, listener events and hook calls go to stdout, one JSON
// object per line. The library is used as extensions use it: Socket(options, w3cwebsocket).
const { Socket } = require('airdcpp-apisocket');
const { w3cwebsocket } = require('websocket');
const readline = require('readline');

const url = process.argv[2];
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const quiet = { log() {}, info() {}, warn() {}, error() {} };

const socket = Socket({
  url,
  autoReconnect: false,
  logLevel: process.env.APISOCKET_LOG || 'none',
  logOutput: process.env.APISOCKET_LOG ? console : quiet,
}, w3cwebsocket);

socket.onDisconnected = (reason, code, wasClean) => out({ disconnected: { reason, code, wasClean } });

const removers = {};
const hookModes = {};
const ok = (id, data) => out({ id, ok: true, data: data === undefined ? null : data });
const fail = (id, e) => out({ id, ok: false, error: (e && (e.message || e)) || String(e), code: e && e.code });

const handlers = {
  async connect(c) { return socket.connect(c.username, c.password, false); },
  async reconnect(c) { return socket.reconnect(c.token, false); },
  async get(c) { return socket.get(c.path); },
  async post(c) { return socket.post(c.path, c.data); },
  async patch(c) { return socket.patch(c.path, c.data); },
  async delete(c) { return socket.delete(c.path); },
  async logout() { return socket.logout(); },
  async disconnect() { socket.disconnect(); await socket.waitDisconnected(); return null; },
  async listen(c) {
    removers[c.key] = await socket.addListener(c.module, c.event, (data, entityId) => {
      out({ event: c.event, key: c.key, data, entity: entityId === undefined ? null : entityId });
    }, c.entity);
    return null;
  },
  async unlisten(c) { removers[c.key](); delete removers[c.key]; return null; },
  async hook(c) {
    hookModes[c.event] = c.mode;
    removers[c.key] = await socket.addHook(c.module, c.event, (data, accept, reject) => {
      const mode = hookModes[c.event];
      out({ hook: c.event, data, mode });
      if (mode === 'reject' || (mode === 'filter' && data.text.indexOf(c.word) !== -1)) {
        reject('filtered', `contains ${c.word || 'anything'}`);
      } else if (mode !== 'ignore') {
        accept();
      }
    }, { id: c.subscriber || 'driver', name: c.name || 'Node driver' });
    return null;
  },
  async hookMode(c) { hookModes[c.event] = c.mode; return null; },
  async connected() { return socket.isConnected(); },
};

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  if (!line.trim()) return;
  const c = JSON.parse(line);
  try {
    ok(c.id, await handlers[c.cmd](c));
  } catch (e) {
    fail(c.id, e);
  }
}).on('close', () => {
  if (socket.isActive()) socket.disconnect();
  setTimeout(() => process.exit(0), 100);
});
out({ started: true });
