// Offline after the first visit: every file of the site is cached on install and served from
// the cache first; a new build (web/build.sh stamps VERSION) replaces the old cache.
const VERSION = 'resnet-lab-@VERSION@';
const FILES = ['./', './index.html', './resnet_lab.js', './resnet_lab_bg.wasm', './worker.js',
  './manifest.json'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(VERSION).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  if (e.request.method !== 'GET') return;
  e.respondWith(caches.match(e.request, { ignoreSearch: true })
    .then((hit) => hit || fetch(e.request)));
});
