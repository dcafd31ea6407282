// SealRoom service worker: makes repeat loads fast and lets the app start offline.
// Pinned runtime files (Pyodide, PyScript, wheels) are served cache-first under a
// cache named after their versions; the page, its config and the client code are
// network-first so updates arrive at once. API calls and the WebSocket never touch
// the cache: they carry only ciphertext, but they must always be live.
const VERSION = "__VERSION__";
const RUNTIME = `sealroom-runtime-${VERSION}`;
const SHELL = `sealroom-shell-${VERSION}`;
// Runtime URLs carry their version or content hash, so a cached copy is never stale.
const CACHE_FIRST = ["/pyodide/", "/pyscript/", "/wheels/", "/py/"];
const NETWORK_FIRST = ["/static/", "/pyscript.json", "/manifest.webmanifest"];

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== RUNTIME && name !== SHELL) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function cacheFirst(request) {
  const cache = await caches.open(RUNTIME);
  const hit = await cache.match(request);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function networkFirst(request, cacheKey, keep = true) {
  const cache = await caches.open(SHELL);
  try {
    const response = await fetch(request);
    if (response.ok && keep) await cache.put(cacheKey || request, response.clone());
    return response;
  } catch (error) {
    const hit = await cache.match(cacheKey || request);
    if (hit) return hit;
    throw error;
  }
}

// Share target (manifest.webmanifest): another app shares a photo, a file,
// text or a link. The items never go to the server: they wait in this
// origin's cache until the page takes them (pyclient/browser/share.py), and
// the person picks a room; they are encrypted before anything is sent.
const SHARE_CACHE = "sealroom-share";

async function takeShare(request) {
  const form = await request.formData();
  await caches.delete(SHARE_CACHE);  // one share at a time
  const cache = await caches.open(SHARE_CACHE);
  const text = ["title", "text", "url"].map((key) => form.get(key)).filter(Boolean).join("\n");
  await cache.put("/shared/text", new Response(text));
  let index = 0;
  for (const file of form.getAll("files")) {
    if (typeof file === "string") continue;
    await cache.put(`/shared/file/${index++}`, new Response(file, {
      headers: {"Content-Type": file.type || "application/octet-stream", "X-Name": encodeURIComponent(file.name)},
    }));
  }
  return Response.redirect("/?share=1", 303);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method === "POST" && url.pathname === "/share" && url.origin === self.location.origin) {
    event.respondWith(takeShare(event.request));
    return;
  }
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (event.request.mode === "navigate" && url.pathname === "/") {
    // Only the plain page is the offline copy: one painted for its address (a sign-in failure's
    // sentence, an invitation) would show that again on every offline start.
    event.respondWith(networkFirst(event.request, "/", url.search === ""));
  } else if (CACHE_FIRST.some((prefix) => url.pathname.startsWith(prefix))) {
    event.respondWith(cacheFirst(event.request));
  } else if (NETWORK_FIRST.some((prefix) => url.pathname.startsWith(prefix))) {
    event.respondWith(networkFirst(event.request));
  }
});
