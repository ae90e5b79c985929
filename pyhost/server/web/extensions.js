// AirDC++-style extensions: status, start/stop/restart, the tail of their logs and their
// settings. A host without the extensions area (GET extensions answers 404) shows
// "not available" and the rest of the page works as usual.

import { buildForm } from "./forms.js";
import { clear, debounce, el, message } from "./dom.js";

const EVENTS = ["extension_added", "extension_removed", "extension_started",
                "extension_stopped", "extension_updated", "extension_settings_updated"];

export class Extensions {
  constructor(api) {
    this.api = api;
    this.table = document.getElementById("extensions-table");
    this.body = this.table.querySelector("tbody");
    this.note = document.getElementById("extensions-unavailable");
    this.panel = document.getElementById("extension-panel");
    this.status = document.getElementById("extension-status");
    this.open = null;
    this.refresh = debounce(() => this.load(), 50);
    for (const name of EVENTS) {
      api.on(name, (data, id) => {
        this.refresh();
        if (name === "extension_settings_updated" && id === this.open) this.settings(id);
      });
    }
  }

  async start() {
    if (!(await this.load())) return;
    for (const name of EVENTS) await this.api.listen(`extensions/listeners/${name}`);
  }

  async load() {
    let list;
    try {
      list = await this.api.request("GET", "extensions");
    } catch (err) {
      this.unavailable(err.code === 404 ? "Extensions: not available on this host."
                                        : `Extensions: not available (${message(err)}).`);
      return false;
    }
    this.note.hidden = true;
    this.table.hidden = false;
    clear(this.body);
    for (const ext of list) this.body.append(this.row(ext));
    if (!list.length) {
      this.body.append(el("tr", {}, el("td", { colspan: 4, class: "hint", text: "No extensions." })));
    }
    return true;
  }

  unavailable(text) {
    this.note.textContent = text;
    this.note.hidden = false;
    this.table.hidden = true;
    this.panel.hidden = true;
  }

  row(ext) {
    const id = ext.id || ext.name;
    const state = ext.state || (ext.running ? "running" : "stopped");
    const act = (label, cls, fn) => el("button", { type: "button", class: cls, text: label,
                                                   onclick: () => this.act(fn) });
    const logs = (ext.logs || []).map((log) => {
      const button = act(`log ${log.name}`, "log", () => this.log(ext, log.name));
      button.dataset.file = log.name;
      return button;
    });
    return el("tr", { dataset: { name: ext.name } },
      el("td", { title: ext.description || "", text: ext.name }),
      el("td", { text: ext.version || "" }),
      el("td", {}, el("span", { class: `badge ${state}`, text: state }),
         ext.state_reason ? el("span", { class: "hint", text: ` ${ext.state_reason}` }) : null),
      el("td", { class: "actions" },
         ext.managed === false ? null : [
           act("Start", "start", () => this.api.request("POST", `extensions/${id}/start`)),
           act("Stop", "stop", () => this.api.request("POST", `extensions/${id}/stop`)),
           act("Restart", "restart", () => this.api.request("POST", `extensions/${id}/restart`)),
         ],
         ext.has_settings ? act("Settings", "settings", () => this.settings(ext.id || ext.name)) : null,
         logs));
  }

  async act(fn) {
    try { await fn(); this.status.textContent = ""; } catch (err) {
      this.panel.hidden = false;
      this.status.textContent = message(err);
    }
    this.refresh();
  }

  async log(ext, file) {
    const id = ext.id || ext.name;
    const tail = await this.api.request("GET", `extensions/${id}/logs/${file}`);
    document.getElementById("extension-title").textContent = `${ext.name}: ${file}`;
    clear(document.getElementById("extension-settings-form"));
    document.getElementById("extension-log").textContent =
      (tail.truncated ? "…\n" : "") + (tail.text ?? JSON.stringify(tail));
    this.panel.hidden = false;
  }

  async settings(name) {
    const path = `extensions/${name}/settings`;
    const [defs, values] = await Promise.all([this.api.request("GET", `${path}/definitions`),
                                              this.api.request("GET", path)]);
    this.open = name;
    document.getElementById("extension-title").textContent = `Settings of ${name}`;
    document.getElementById("extension-log").textContent = "";
    this.panel.hidden = false;
    buildForm(document.getElementById("extension-settings-form"), defs, values,
      async (changed, error) => {
        if (error) { this.status.textContent = error; return; }
        try {
          await this.api.request("PATCH", path, changed);
          this.status.textContent = "Saved.";
        } catch (err) { this.status.textContent = message(err); }
      });
  }
}
