// Plugins' own UI parts, each in a sandboxed frame (scripts and forms only: an origin of
// its own, no access to this page, its token or the API). A frame talks to its plugin
// through this page with postMessage; the page calls that plugin's exported methods and
// forwards that plugin's events, and nothing else. /web/plugin-frame.js is the frame side.

import { el } from "./dom.js";

const METHOD = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export class Frames {
  constructor(api) {
    this.api = api;
    this.box = document.getElementById("frames");
    this.open = new Map();  // guid -> {node, iframe}
    window.addEventListener("message", (event) => this.message(event));
    api.on("plugin_event", (data) => this.forward(data));
  }

  async start() {
    await this.api.listen("plugins/listeners/plugin_event");
  }

  toggle(p) {
    if (this.open.has(p.guid)) { this.close(p.guid); return; }
    const iframe = el("iframe", { src: p.ui, sandbox: "allow-scripts allow-forms",
                                  title: `${p.name} UI`, referrerpolicy: "no-referrer" });
    const node = el("div", { class: "frame", dataset: { guid: p.guid } },
      el("header", {}, el("strong", { text: p.name }), " ",
         el("button", { type: "button", class: "close", text: "Close",
                        onclick: () => this.close(p.guid) })),
      iframe);
    this.box.append(node);
    this.open.set(p.guid, { node, iframe });
  }

  close(guid) {
    const entry = this.open.get(guid);
    if (!entry) return;
    entry.node.remove();
    this.open.delete(guid);
  }

  // Frames of plugins that are gone or lost their UI are closed.
  sync(plugins) {
    for (const guid of [...this.open.keys()]) {
      const p = plugins.find((x) => x.guid === guid);
      if (!p || !p.ui || !p.loaded) this.close(guid);
    }
  }

  guidOf(source) {
    for (const [guid, entry] of this.open) if (entry.iframe.contentWindow === source) return guid;
    return null;
  }

  async message(event) {
    const guid = this.guidOf(event.source);
    const msg = event.data;
    if (!guid || !msg || msg.pyhost !== 1 || msg.type !== "call") return;
    const reply = (body) => event.source.postMessage({ pyhost: 1, id: msg.id, ...body }, "*");
    if (typeof msg.method !== "string" || !METHOD.test(msg.method)) {
      reply({ type: "error", error: "not a method name" });
      return;
    }
    const params = Array.isArray(msg.params) || (msg.params && typeof msg.params === "object")
      ? msg.params : [];
    try {
      const data = await this.api.request(
        "POST", `plugins/${guid}/rpc/${msg.method}`, params);
      reply({ type: "result", result: data.result });
    } catch (err) {
      reply({ type: "error", error: err.message || String(err) });
    }
  }

  forward(data) {
    const entry = data && this.open.get(data.guid);
    if (!entry || !entry.iframe.contentWindow) return;
    entry.iframe.contentWindow.postMessage(
      { pyhost: 1, type: "event", name: data.event, data: data.data }, "*");
  }
}
