// The PWA's Service Worker: shows each push message it is woken for as a notification and
// hands its (already decrypted) payload to the open pages, with whether it was shown.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  const text = event.data ? event.data.text() : null;
  event.waitUntil((async () => {
    let notification = "not permitted";
    if (self.Notification && Notification.permission === "granted") {
      try {
        await self.registration.showNotification("Key enclave", { body: text ?? "(no payload)", tag: "kms-push" });
        notification = "shown";
      } catch (e) {
        notification = `${e.name}: ${e.message}`;
      }
    }
    const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const page of pages) page.postMessage({ push: text, notification });
  })());
});
