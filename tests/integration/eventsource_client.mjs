// An independent SSE client for serve_eventsource.sh: the npm `eventsource`
// package (the WHATWG EventSource API for Node). Prints one JSON line per
// happening: each request it makes (with the Last-Event-ID it sends), open,
// error (a reconnect follows), and every event with its type, id and data.
//
// Usage: node eventsource_client.mjs URL SECONDS
import { EventSource } from 'eventsource';

const [url, seconds] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const es = new EventSource(url, {
  // Wraps the global fetch only to observe the request headers.
  fetch: (input, init) => {
    out({ kind: 'request', lastEventId: init?.headers?.['Last-Event-ID'] ?? null });
    return fetch(input, init);
  },
});
es.onopen = () => out({ kind: 'open' });
es.onerror = (e) => out({ kind: 'error', message: e?.message ?? null });
// Unnamed events ("message") come through onmessage; named ones only
// through addEventListener.
es.onmessage = (e) => out({ kind: 'event', type: e.type, id: e.lastEventId, data: e.data });
for (const type of ['tick', 'greet']) {
  es.addEventListener(type, (e) =>
    out({ kind: 'event', type: e.type, id: e.lastEventId, data: e.data }));
}
setTimeout(() => {
  es.close();
  process.exit(0);
}, Number(seconds) * 1000);
