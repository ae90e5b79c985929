// The plugins table: status, enable/disable, order, remove, settings, install by upload,
// and each plugin's own UI part (frames.js). Refreshed from the host's events, so what
// another browser or script changes shows here within a moment.

import { buildForm } from "./forms.js";
import { clear, debounce, el, message } from "./dom.js";

const EVENTS = ["plugin_installed", "plugin_loaded", "plugin_failed", "plugin_unloaded",
                "plugin_updated", "plugin_removed", "plugin_moved", "plugin_settings_updated"];

export class Plugins {
  constructor(api, frames) {
    this.api = api;
    this.frames = frames;
    this.body = document.querySelector("#plugins-table tbody");
    this.panel = document.getElementById("settings-panel");
    this.form = document.getElementById("settings-form");
    this.settingsStatus = document.getElementById("settings-status");
    this.open = null;  // guid of the plugin whose settings are shown
    this.refresh = debounce(() => this.load(), 50);
    for (const name of EVENTS) api.on(name, (data, id) => this.changed(name, data, id));
    document.getElementById("install-form").addEventListener("submit", (e) => this.install(e));
  }

  async start() {
    for (const name of EVENTS) await this.api.listen(`plugins/listeners/${name}`);
    await this.load();
  }

  changed(name, data, guid) {
    this.refresh();
    if (name === "plugin_settings_updated" && guid === this.open) this.showSettings(guid);
    if (name === "plugin_removed" && guid === this.open) this.closeSettings();
  }

  async load() {
    let plugins;
    try { plugins = await this.api.request("GET", "plugins"); } catch { return; }
    this.plugins = plugins;
    clear(this.body);
    for (const p of plugins) this.body.append(this.row(p));
    if (!plugins.length) {
      this.body.append(el("tr", {}, el("td", { colspan: 6, class: "hint", text: "No plugins installed." })));
    }
    this.frames.sync(plugins);
  }

  row(p) {
    const act = (label, cls, fn, disabled = false) =>
      el("button", { type: "button", class: cls, text: label, disabled,
                     onclick: () => this.act(p, fn) });
    const status = el("span", { class: `badge ${p.status}`, text: p.status });
    return el("tr", { dataset: { guid: p.guid, status: p.status } },
      el("td", { text: p.position + 1 }),
      el("td", { class: "name", title: p.description, text: p.name }),
      el("td", { text: Number.isInteger(p.version) ? p.version.toFixed(1) : p.version }),
      el("td", { text: p.author }),
      el("td", {}, status, p.error ? el("span", { class: "error", text: ` ${p.error}` }) : null),
      el("td", { class: "actions" },
        p.enabled ? act("Disable", "toggle", () => this.post(p, "disable"))
                  : act("Enable", "toggle", () => this.post(p, "enable")),
        act("↑", "up", () => this.move(p, "up"), p.position === 0),
        act("↓", "down", () => this.move(p, "down"), p.position === this.plugins.length - 1),
        act("Settings", "settings", () => this.showSettings(p.guid)),
        p.ui ? act("UI", "ui", () => this.frames.toggle(p)) : null,
        act("Remove", "remove", () => this.remove(p))));
  }

  async act(p, fn) {
    try { await fn(); } catch (err) { this.report(`${p.name}: ${message(err)}`); }
    this.refresh();
  }

  post(p, what) { return this.api.request("POST", `plugins/${p.guid}/${what}`); }

  move(p, direction) {
    return this.api.request("POST", `plugins/${p.guid}/move`, { direction });
  }

  async remove(p) {
    if (!window.confirm(`Remove ${p.name}? Its settings are deleted too.`)) return;
    await this.api.request("DELETE", `plugins/${p.guid}`);
  }

  report(text) {
    document.getElementById("install-status").textContent = text;
  }

  async install(event) {
    event.preventDefault();
    const file = document.getElementById("install-file").files[0];
    if (!file) { this.report("Choose a file first."); return; }
    this.report(`Installing ${file.name}…`);
    try {
      const result = await this.api.upload(file);
      this.report(`${result.action || "installed"}: ${result.name} ${result.version ?? ""}`);
    } catch (err) {
      this.report(`Refused: ${message(err)}`);
    }
    this.refresh();
  }

  closeSettings() { this.open = null; this.panel.hidden = true; }

  async showSettings(guid) {
    const path = `plugins/${guid}/settings`;
    let defs, values;
    try {
      [defs, values] = await Promise.all([this.api.request("GET", `${path}/definitions`),
                                          this.api.request("GET", path)]);
    } catch (err) { this.report(message(err)); return; }
    const p = (this.plugins || []).find((x) => x.guid === guid);
    this.open = guid;
    document.getElementById("settings-title").textContent = `Settings of ${p ? p.name : guid}`;
    this.panel.dataset.guid = guid;
    this.panel.hidden = false;
    buildForm(this.form, defs, values, async (changed, error) => {
      if (error) { this.settingsStatus.textContent = error; return; }
      if (!Object.keys(changed).length) { this.settingsStatus.textContent = "Nothing changed."; return; }
      try {
        await this.api.request("PATCH", path, changed);
        this.settingsStatus.textContent = "Saved.";
      } catch (err) { this.settingsStatus.textContent = message(err); }
    });
  }
}
