// pyhost's web page: log in, then the plugins, the exported methods, the host's events and
// the extensions, all over one WebSocket to the Web API (api.js). Plain ES modules: no
// build step.

import { Api } from "./api.js";
import { Events } from "./events.js";
import { Extensions } from "./extensions.js";
import { Frames } from "./frames.js";
import { Methods } from "./methods.js";
import { Plugins } from "./plugins.js";
import { message } from "./dom.js";

const api = new Api();
const frames = new Frames(api);
const parts = [new Plugins(api, frames), frames, new Methods(api), new Events(api),
               new Extensions(api)];
const $ = (id) => document.getElementById(id);

api.onStatus = (state) => {
  $("status").textContent = state;
  $("status").dataset.state = state;
};
api.onSession = (user) => (user ? started(user) : loggedOut());

function loggedOut() {
  $("app").hidden = true;
  $("logout").hidden = true;
  $("whoami").textContent = "";
  $("login").hidden = false;
  $("login-password").value = "";
}

async function started(user) {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  $("whoami").textContent = user.username;
  for (const part of parts) {
    try { await part.start(); } catch (err) { console.error(err); }
  }
  document.body.dataset.ready = "1";  // everything listens: for tests and scripts
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    if (!api.ws || api.ws.readyState !== WebSocket.OPEN) await api.connect();
    const user = await api.login($("login-user").value, $("login-password").value);
    await started(user);
  } catch (err) {
    $("login-error").textContent = message(err);
  }
});

$("logout").addEventListener("click", async () => {
  delete document.body.dataset.ready;
  await api.logout();
  api.ws && api.ws.close();
});

(async function main() {
  try {
    await api.connect();
  } catch (err) {
    $("login-error").textContent = message(err);
    loggedOut();
    return;
  }
  if (await api.resume()) await started(api.user);
  else loggedOut();
})();
