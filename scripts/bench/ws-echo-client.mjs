// A plain Node `ws` echo load client, the baseline of scripts/bench-compare.
//
//   WS_MODULE_DIR=DIR node ws-echo-client.mjs URL CONNECTIONS RATE SECONDS [SIZE] [CONNECT_RATE]
//
// Opens CONNECTIONS WebSocket connections (CONNECT_RATE per second, default
// 1000), then for SECONDS sends a SIZE-byte (default 64) text message RATE
// times per second on each connection, on a fixed schedule (one timer per
// connection), and counts and times the echoes. Echoes still outstanding
// get one more second after the end. Prints one JSON line on stdout:
// {"connections","established","failed","sent","received","errors",
//  "latency_ms":{p50,p99,max},"cpu_measure_s","rss_peak_bytes","rss_base_bytes"}
// ws is loaded from WS_MODULE_DIR/node_modules (tests/ or a scratch dir).
import { createRequire } from 'node:module';
import path from 'node:path';

const [url, connsArg, rateArg, secsArg, sizeArg, crArg] = process.argv.slice(2);
if (!url || !connsArg || !rateArg || !secsArg) {
  console.error('usage: node ws-echo-client.mjs URL CONNECTIONS RATE SECONDS [SIZE] [CONNECT_RATE]');
  process.exit(2);
}
const require = createRequire(path.join(process.env.WS_MODULE_DIR || process.cwd(), 'x.js'));
const WebSocket = require('ws');

const N = +connsArg, R = +rateArg, SECS = +secsArg, SIZE = +(sizeArg || 64), CR = +(crArg || 1000);
const rssBase = process.memoryUsage().rss;
let rssPeak = rssBase;
const rssTimer = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage().rss); }, 250);

let established = 0, failed = 0, sent = 0, received = 0, errors = 0;
const lat = [];
const socks = [];
const pad = 'x'.repeat(Math.max(0, SIZE - 20));

function openOne() {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('open', () => { established++; socks.push(ws); maybeStart(); });
  ws.on('message', (data) => {
    // payload: 20 digits of the intended send time (ns since start), then padding
    const t = Number(data.toString('latin1', 0, 20));
    lat.push((Number(process.hrtime.bigint() - t0) - t) / 1e6);
    received++;
  });
  ws.on('error', () => { if (ws.readyState !== WebSocket.OPEN && !ws._counted) { ws._counted = 1; failed++; maybeStart(); } else errors++; });
  ws.on('close', () => { if (measuring) errors++; });
}

const t0 = process.hrtime.bigint();
let opened = 0;
const ramp = setInterval(() => {
  const due = Math.min(N, Math.ceil(Number(process.hrtime.bigint() - t0) / 1e9 * CR));
  while (opened < due) { opened++; openOne(); }
  if (opened >= N) clearInterval(ramp);
}, 5);

let measuring = false, cpu0;
function maybeStart() {
  if (measuring || established + failed < N) return;
  measuring = true;
  cpu0 = process.cpuUsage();
  const start = Number(process.hrtime.bigint() - t0);
  const periodNs = 1e9 / R;
  const end = start + SECS * 1e9;
  socks.forEach((ws, i) => {
    // spread the connections' schedules over one period
    let next = start + (i / socks.length) * periodNs;
    const tick = () => {
      const now = Number(process.hrtime.bigint() - t0);
      while (next <= now && next < end) {
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(String(Math.round(next)).padStart(20, '0') + pad);
          sent++;
        }
        next += periodNs;
      }
      if (next < end) setTimeout(tick, Math.max(0, (next - now) / 1e6));
    };
    setTimeout(tick, Math.max(0, (next - Number(process.hrtime.bigint() - t0)) / 1e6));
  });
  setTimeout(finish, SECS * 1000 + 1000);
}

function pct(a, p) {
  if (!a.length) return null;
  return a[Math.min(a.length - 1, Math.floor(p * a.length))];
}

function finish() {
  measuring = false;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(rssTimer);
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  lat.sort((x, y) => x - y);
  console.log(JSON.stringify({
    connections: N, established, failed, sent, received, errors,
    latency_ms: { p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: lat.length ? lat[lat.length - 1] : null },
    cpu_measure_s: (cpu.user + cpu.system) / 1e6,
    rss_peak_bytes: rssPeak, rss_base_bytes: rssBase,
  }));
  for (const ws of socks) ws.terminate();
  process.exit(0);
}

if (N === 0) maybeStart();
