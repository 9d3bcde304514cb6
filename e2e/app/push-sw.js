// The test PWA's Service Worker: shows each push message it is woken for and hands its
// (already decrypted) payload to the open pages.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  const text = event.data ? event.data.text() : null;
  event.waitUntil((async () => {
    const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const page of pages) page.postMessage({ push: text });
    if (self.Notification && Notification.permission === "granted") {
      await self.registration.showNotification("Key enclave", { body: text ?? "(no payload)", tag: "kms-push" });
    }
  })());
});
