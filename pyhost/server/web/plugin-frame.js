// For a plugin's own UI page, shown by pyhost's web page in a sandboxed frame:
//   <script src="/web/plugin-frame.js"></script>
//   const sum = await pyhost.call("add", 2, 3);        // this plugin's exported method
//   pyhost.on("added", (data) => ...);                  // this plugin's events
// Calls go through the page (postMessage); the page only calls this plugin's methods.
(function () {
  "use strict";
  const pending = new Map();
  const handlers = new Map();
  let next = 1;

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent) return;
    const msg = event.data;
    if (!msg || msg.pyhost !== 1) return;
    if (msg.type === "event") {
      for (const fn of handlers.get(msg.name) || []) {
        try { fn(msg.data); } catch (err) { console.error(err); }
      }
      for (const fn of handlers.get("*") || []) {
        try { fn(msg.data, msg.name); } catch (err) { console.error(err); }
      }
      return;
    }
    const waiting = pending.get(msg.id);
    if (!waiting) return;
    pending.delete(msg.id);
    if (msg.type === "result") waiting.resolve(msg.result);
    else waiting.reject(new Error(msg.error || "the call failed"));
  });

  window.pyhost = {
    // Calls one of this plugin's exported methods with positional arguments.
    call: function (method) {
      const params = Array.prototype.slice.call(arguments, 1);
      return window.pyhost.callWith(method, params);
    },
    // The same with the arguments as an array or an object (named arguments).
    callWith: function (method, params) {
      return new Promise(function (resolve, reject) {
        const id = next++;
        pending.set(id, { resolve: resolve, reject: reject });
        window.parent.postMessage({ pyhost: 1, type: "call", id: id, method: method,
                                    params: params }, "*");
      });
    },
    // Runs fn(data) for each event this plugin emits with that name ("*": every event).
    on: function (name, fn) {
      if (!handlers.has(name)) handlers.set(name, []);
      handlers.get(name).push(fn);
    },
  };
})();
