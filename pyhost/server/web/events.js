// The host's events as a live stream (listener events/listeners/host_event), newest
// first, with category filters. The latest events are read at start (GET events/host).

import { clear, el } from "./dom.js";

const KEEP = 500;
const HIDDEN_FIELDS = new Set(["kind", "seq", "time", "category", "traceback"]);

export class Events {
  constructor(api) {
    this.api = api;
    this.list = document.getElementById("events-list");
    this.filters = document.getElementById("events-filters");
    this.seen = new Set();
    this.filters.addEventListener("change", () => this.applyFilters());
    document.getElementById("events-clear").addEventListener("click", () => {
      clear(this.list);
      this.seen.clear();
    });
    api.on("host_event", (data) => this.add(data));
  }

  async start() {
    await this.api.listen("events/listeners/host_event");
    try {
      const latest = await this.api.request("GET", "events/host");
      for (const event of latest) this.add(event);
    } catch { /* no events_view permission: the stream stays empty */ }
  }

  enabled() {
    return new Set([...this.filters.querySelectorAll("input:checked")].map((i) => i.value));
  }

  add(event) {
    if (!event || this.seen.has(event.seq)) return;
    this.seen.add(event.seq);
    const fields = Object.entries(event).filter(([key]) => !HIDDEN_FIELDS.has(key));
    const summary = fields.map(([key, value]) =>
      `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`).join(" ");
    const time = new Date(event.time * 1000).toLocaleTimeString();
    const item = el("li", { dataset: { kind: event.kind, seq: event.seq,
                                       category: (event.category || []).join(" ") } },
      el("span", { class: "time", text: `${time} ` }),
      el("span", { class: "kind", text: event.kind }),
      ...(event.category || []).map((c) => el("span", { class: "badge", text: c })),
      el("span", { class: "summary", text: summary.slice(0, 500) }));
    item.hidden = !this.visible(item, this.enabled());
    this.list.prepend(item);
    while (this.list.children.length > KEEP) {
      const last = this.list.lastElementChild;
      this.seen.delete(Number(last.dataset.seq));
      last.remove();
    }
  }

  visible(item, enabled) {
    return item.dataset.category.split(" ").some((c) => enabled.has(c));
  }

  applyFilters() {
    const enabled = this.enabled();
    for (const item of this.list.children) item.hidden = !this.visible(item, enabled);
  }
}
