// The main thread's part of SealRoom: the few things that must happen
// synchronously inside a DOM event, before Python in its worker sees it.
//
// The client (pyclient, in Python) runs in a PyScript worker so that Pyodide's
// start-up, the crypto and the file loop never block input or rendering. The
// worker reaches the DOM through PyScript's synchronous proxies, but it hears
// events only after they have been dispatched: by then preventDefault() is too
// late, and a drop's or a paste's files are gone. So this module
//  - cancels the browser's default action for the app's forms, drops and the
//    search boxes' keys (all of them are handled by Python);
//  - hands chosen, dropped and pasted files to the worker as real File objects
//    (structured clone: no bytes are copied and the page never reads them);
//  - remembers a sign-in submitted before Python is ready, which Python then
//    picks up (body[data-queued-submit]).
// Without cross-origin isolation (a plain-HTTP address other than localhost)
// the worker cannot reach the DOM, so Python runs on the main thread instead.

// The theme chosen in settings (pyclient/browser/settings.py stores it), before Python starts.
const theme = localStorage.getItem("sealroom.theme");
if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
document.getElementById("theme-choice").value = theme || "system";  // the settings' select, shown later

// The service worker keeps the pinned runtime for fast repeat loads and an
// offline start (sw.js). It is registered once Python is ready, so that it
// does not compete with the first start (copying 40 MB into its cache).
if ("serviceWorker" in navigator) {
  new MutationObserver((_, observer) => {
    if (!document.body.dataset.pyReady) return;
    observer.disconnect();
    navigator.serviceWorker.register("/sw.js");
  }).observe(document.body, { attributes: true, attributeFilter: ["data-py-ready"] });
}

const script = document.querySelector('script[type="py"]');
if (!self.crossOriginIsolated) script.removeAttribute("worker");

function toPython(message) {
  if (script.xworker) script.xworker.postMessage(message);
  else window.postMessage({ sealroom: message }, location.origin);
}

document.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!document.body.dataset.pyReady) {
    document.body.dataset.queuedSubmit = event.target.id;
  }
}, true);

// "New here? Create an account" before Python is ready: Python applies it on start.
document.addEventListener("click", (event) => {
  if (!document.body.dataset.pyReady && event.target.closest?.("#auth-switch")) {
    const body = document.body.dataset;
    body.queuedSwitch = body.queuedSwitch === "1" ? "0" : "1";
  }
});

const comboKeys = new Set(["ArrowDown", "ArrowUp", "Enter", "Escape"]);
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (target.getAttribute?.("role") === "combobox" && comboKeys.has(event.key)
      && target.getAttribute("aria-expanded") === "true") {
    event.preventDefault();
  }
}, true);

// Enter sends on a desktop; Shift+Enter, and Enter on a touch keyboard, add a line.
const finePointer = matchMedia("(hover: hover) and (pointer: fine)");
document.addEventListener("keydown", (event) => {
  if (event.target.id === "composer-text" && event.key === "Enter" && !event.shiftKey
      && !event.isComposing && finePointer.matches) {
    event.preventDefault();
    document.getElementById("composer").requestSubmit();
  }
});

// Keep the focus in a search box while one of its results is clicked.
document.addEventListener("mousedown", (event) => {
  if (event.target.closest?.('[role="listbox"]')) event.preventDefault();
}, true);

function sendFiles(fileList) {
  const files = Array.from(fileList || []);
  if (files.length) toPython({ type: "files", files });
}

document.addEventListener("change", (event) => {
  if (event.target.matches?.('input[type="file"][data-attach]')) {
    sendFiles(event.target.files);
    event.target.value = "";
  }
});

for (const type of ["dragover", "drop"]) {
  document.addEventListener(type, (event) => {
    if (!event.target.closest?.("[data-drop-files]")) return;
    event.preventDefault();
    if (type === "dragover") event.dataTransfer.dropEffect = "copy";
    else sendFiles(event.dataTransfer.files);
  });
}

document.addEventListener("paste", (event) => {
  if (event.target.closest?.("[data-drop-files]") && event.clipboardData?.files.length) {
    event.preventDefault();
    sendFiles(event.clipboardData.files);
  }
});

// Python describes a piece of UI as a tree, ["li", {"class": "message"}, "text", [...]],
// and this builds it in one call: from the worker, every DOM call is a round
// trip to this thread, so a message costs one trip instead of twenty. Text
// becomes text nodes and values go through setAttribute, never HTML; event
// handler attributes are refused.
function build(node) {
  if (typeof node === "string") return document.createTextNode(node);
  const [tag, attributes, ...children] = node;
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (/^on/i.test(name)) throw new Error(`refused event attribute ${name}`);
    element.setAttribute(name, value);
  }
  for (const child of children) element.append(build(child));
  return element;
}

window.sealroomDom = {
  // What Python needs from the page to start, in one call (pyclient/browser/env.py: page_state).
  state() {
    return JSON.stringify({
      catalog: JSON.parse(document.getElementById("i18n-catalog").textContent),
      language: document.documentElement.lang,
      csrf: document.querySelector('meta[name="csrf-token"]').content,
      session: document.body.dataset.session === "1",
      backend: localStorage.getItem("sealroom.backend"),
    });
  },
  // Appends each tree of the JSON list to parent (or inserts them before `before`).
  append(parent, json, before = null) {
    const fragment = document.createDocumentFragment();
    for (const tree of JSON.parse(json)) fragment.append(build(tree));
    parent.insertBefore(fragment, before);
  },
  // Adds Python's listeners in one call: the JSON list holds [element id, event
  // type] pairs ("window" and "document" name those), and handler(index, event)
  // receives each event with its pair's index.
  listen(json, handler) {
    JSON.parse(json).forEach(([target, type], index) => {
      const node = target === "window" ? window : target === "document" ? document : document.getElementById(target);
      node.addEventListener(type, (event) => handler(index, event));
    });
  },
};
