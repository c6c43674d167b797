{% load static %}// Service worker of the offline registration page: keeps the page and its files for use without a connection.
const CACHE = "aidcase-offline-{{ version }}";
const PAGE = "{% url 'family-register-offline' %}";
const FILES = [PAGE, "{% static 'css/aidcase.css' %}", "{% static 'js/offline-register.js' %}"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("aidcase-offline-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // registrations go to the network; the page queues them itself
  const url = new URL(request.url);
  if (url.pathname === PAGE) {
    // The page: fresh from the network when there is one (new CSRF token, new reference data), else kept.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) caches.open(CACHE).then((cache) => cache.put(PAGE, response.clone()));
          return response;
        })
        .catch(() => caches.match(PAGE))
    );
  } else if (FILES.includes(url.pathname)) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});
