// The plugins' exported methods, callable from a form. The list follows the methods as
// plugins load and unload (listeners rpc/listeners/rpc_method_added and _removed).

import { clear, debounce, el, message } from "./dom.js";

export class Methods {
  constructor(api) {
    this.api = api;
    this.select = document.getElementById("methods-select");
    this.params = document.getElementById("methods-params");
    this.result = document.getElementById("methods-result");
    this.description = document.getElementById("methods-description");
    this.methods = [];
    this.refresh = debounce(() => this.load(), 50);
    api.on("rpc_method_added", () => this.refresh());
    api.on("rpc_method_removed", () => this.refresh());
    this.select.addEventListener("change", () => this.describe());
    document.getElementById("methods-form").addEventListener("submit", (e) => this.call(e));
  }

  async start() {
    await this.api.listen("rpc/listeners/rpc_method_added");
    await this.api.listen("rpc/listeners/rpc_method_removed");
    await this.load();
  }

  async load() {
    let methods;
    try { methods = await this.api.request("GET", "rpc/methods"); } catch { return; }
    const chosen = this.select.value;
    this.methods = methods;
    clear(this.select);
    for (const m of methods) {
      const label = m.callable ? `${m.name} (${m.level_name})` : `${m.name} (needs ${m.level_name})`;
      this.select.append(el("option", { value: m.name, text: label, disabled: !m.callable }));
    }
    if (!methods.length) this.select.append(el("option", { value: "", text: "no exported methods" }));
    if (methods.some((m) => m.name === chosen)) this.select.value = chosen;
    this.describe();
  }

  describe() {
    const m = this.methods.find((x) => x.name === this.select.value);
    this.description.textContent = m ? `${m.plugin_name}: ${m.description || "(no description)"}` : "";
  }

  async call(event) {
    event.preventDefault();
    const m = this.methods.find((x) => x.name === this.select.value);
    if (!m) { this.result.textContent = "Choose a method."; return; }
    let params;
    try {
      params = this.params.value.trim() ? JSON.parse(this.params.value) : [];
    } catch (err) {
      this.result.textContent = `The arguments are not JSON: ${err.message}`;
      return;
    }
    this.result.textContent = "…";
    this.result.dataset.state = "waiting";
    try {
      const reply = await this.api.request(
        "POST", `plugins/${m.plugin}/rpc/${m.method}`, params);
      this.result.textContent = JSON.stringify(reply.result, null, 2);
      this.result.dataset.state = "ok";
    } catch (err) {
      this.result.textContent = `Error: ${message(err)}`;
      this.result.dataset.state = "error";
    }
  }
}
