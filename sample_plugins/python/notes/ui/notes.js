// The notes plugin's own page: it runs in a sandboxed frame of pyhost's web page and
// reaches its plugin only through window.pyhost (/web/plugin-frame.js).
"use strict";
const list = document.getElementById("notes");
const error = document.getElementById("error");

function show(note) {
  const item = document.createElement("li");
  item.textContent = note.text;
  item.dataset.id = note.id;
  list.append(item);
}

async function load() {
  try {
    const stats = await pyhost.call("stats");
    document.getElementById("greeting").textContent = stats.greeting;
    list.replaceChildren();
    (await pyhost.call("list")).forEach(show);
  } catch (err) {
    error.textContent = err.message;
  }
}

document.getElementById("add").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("text");
  try {
    await pyhost.call("add", input.value);  // the note_added event shows it
    input.value = "";
    error.textContent = "";
  } catch (err) {
    error.textContent = err.message;
  }
});

pyhost.on("note_added", show);
pyhost.on("cleared", () => list.replaceChildren());
load();
