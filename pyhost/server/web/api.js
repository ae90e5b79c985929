// The Web API over one WebSocket: requests by callback_id, events to handlers, the session
// token in sessionStorage (this tab only), reconnection with the same session, listeners
// added again after a reconnection. Envelope paths are matched as they are, not
// percent-decoded: ids (guids, names) go in raw.

const TOKEN_KEY = "pyhost.token";

export class ApiError extends Error {
  constructor(code, error) {
    super((error && error.message) || `request failed (${code})`);
    this.code = code;
    this.kind = error && error.code;
  }
}

export class Api {
  constructor() {
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();
    this.handlers = new Map();   // event name -> [fn(data, id)]
    this.listening = [];         // listener paths, added again after a reconnection
    this.user = null;
    this.onStatus = () => {};
    this.onSession = () => {};   // (user | null): logged in, resumed, or logged out
    this.retry = 0;
  }

  get token() { return sessionStorage.getItem(TOKEN_KEY); }
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${scheme}://${location.host}/api/v1/`);
      this.ws = ws;
      ws.onopen = () => { this.retry = 0; this.onStatus("online"); resolve(); };
      ws.onerror = () => reject(new Error("cannot reach the host"));
      ws.onmessage = (msg) => this.receive(msg.data);
      ws.onclose = () => this.closed(ws);
    });
  }

  receive(text) {
    let frame;
    try { frame = JSON.parse(text); } catch { return; }
    if (frame.callback_id !== undefined && this.pending.has(frame.callback_id)) {
      const { resolve, reject } = this.pending.get(frame.callback_id);
      this.pending.delete(frame.callback_id);
      if (frame.code >= 200 && frame.code < 300) resolve(frame.data);
      else reject(new ApiError(frame.code, frame.error));
      return;
    }
    if (frame.event) {
      for (const fn of this.handlers.get(frame.event) || []) {
        try { fn(frame.data, frame.id); } catch (err) { console.error(err); }
      }
    }
  }

  closed(ws) {
    if (ws !== this.ws) return;
    this.onStatus("offline");
    for (const { reject } of this.pending.values()) reject(new Error("disconnected"));
    this.pending.clear();
    if (!this.user) return;
    const delay = Math.min(5000, 250 * 2 ** this.retry++);
    setTimeout(() => this.reconnect(), delay);
  }

  async reconnect() {
    try {
      await this.connect();
      if (await this.resume()) {
        for (const path of this.listening) await this.request("POST", path).catch(() => {});
        this.onSession(this.user);
      }
    } catch { /* closed() schedules the next try */ }
  }

  request(method, path, data) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error("not connected"));
    }
    const id = this.nextId++;
    const frame = { method, path, callback_id: id };
    if (data !== undefined) frame.data = data;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify(frame));
    });
  }

  async login(username, password) {
    const reply = await this.request("POST", "sessions/authorize", { username, password });
    this.token = reply.auth_token;
    this.user = reply.user;
    return reply.user;
  }

  // The tab's session again (after a reload or a reconnection); false when it is gone.
  async resume() {
    if (!this.token) return false;
    try {
      const reply = await this.request("POST", "sessions/socket", { auth_token: this.token });
      this.user = reply.user;
      return true;
    } catch (err) {
      if (err instanceof ApiError) { this.token = null; this.user = null; this.onSession(null); }
      return false;
    }
  }

  async logout() {
    const user = this.user;
    this.user = null;
    if (user) await this.request("DELETE", "sessions/self").catch(() => {});
    this.token = null;
    this.listening = [];
    this.onSession(null);
  }

  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(fn);
  }

  // Adds a listener (kept for reconnections); false when the host has no such listener.
  async listen(path) {
    try {
      await this.request("POST", path);
      if (!this.listening.includes(path)) this.listening.push(path);
      return true;
    } catch (err) {
      return false;
    }
  }

  // An HTTP upload with this session's token (the WebSocket carries JSON only).
  async upload(file) {
    const url = `/api/v1/plugins/upload?filename=${encodeURIComponent(file.name)}`;
    const response = await fetch(url, {
      method: "POST", body: file,
      headers: { "Authorization": `Bearer ${this.token}`, "Content-Type": "application/octet-stream" },
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }
}
