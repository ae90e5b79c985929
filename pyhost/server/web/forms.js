// A settings form from setting definitions (AirDC++'s shape: {key, title, type,
// default_value, min?, max?, options?, optional?, help?}), used for plugins' and
// extensions' settings. Types without an input of their own (lists, structs) are edited as
// JSON text.

import { el } from "./dom.js";

const TEXT_TYPES = { string: "text", password: "password", url: "url", email: "email",
                     file_path: "text", existing_file_path: "text", directory_path: "text",
                     hub_url: "text" };

export function buildForm(form, definitions, values, onSave) {
  form.replaceChildren();
  const fields = [];
  for (const def of definitions) {
    const value = def.key in values ? values[def.key] : def.default_value;
    const field = input(def, value);
    fields.push({ def, field, initial: read(def, field) });
    const label = el("label", {}, `${def.title || def.key} `, field);
    if (def.help) label.append(el("span", { class: "hint", text: ` ${def.help}` }));
    form.append(label);
  }
  if (!definitions.length) form.append(el("p", { class: "hint", text: "No settings." }));
  const save = el("button", { type: "submit", class: "save", text: "Save",
                              disabled: !definitions.length });
  form.append(save);
  form.onsubmit = (event) => {
    event.preventDefault();
    const changed = {};
    for (const entry of fields) {
      let current;
      try { current = read(entry.def, entry.field); } catch (err) {
        onSave(null, `${entry.def.key}: ${err.message}`);
        return;
      }
      if (JSON.stringify(current) !== JSON.stringify(entry.initial)) changed[entry.def.key] = current;
    }
    onSave(changed, null);
  };
  return fields;
}

function input(def, value) {
  if (def.options && def.options.length) {
    const select = el("select", { name: def.key });
    for (const option of def.options) {
      const opt = el("option", { value: JSON.stringify(option.id), text: option.name ?? option.id });
      if (JSON.stringify(option.id) === JSON.stringify(value)) opt.selected = true;
      select.append(opt);
    }
    return select;
  }
  if (def.type === "boolean") {
    return el("input", { type: "checkbox", name: def.key, checked: Boolean(value) });
  }
  if (def.type === "number") {
    return el("input", { type: "number", name: def.key, value: value ?? 0, step: 1,
                         min: def.min, max: def.max });
  }
  if (def.type === "text") {
    return el("textarea", { name: def.key, rows: 3, text: value ?? "" });
  }
  if (def.type in TEXT_TYPES) {
    return el("input", { type: TEXT_TYPES[def.type], name: def.key, value: value ?? "" });
  }
  return el("textarea", { name: def.key, rows: 2, class: "json", text: JSON.stringify(value ?? null) });
}

function read(def, field) {
  if (field.tagName === "SELECT") return JSON.parse(field.value);
  if (def.type === "boolean") return field.checked;
  if (def.type === "number") {
    const n = Number(field.value);
    if (field.value.trim() === "" || !Number.isFinite(n)) throw new Error("not a number");
    return n;
  }
  if (field.classList.contains("json")) return JSON.parse(field.value);
  return field.value;
}
