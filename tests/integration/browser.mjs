// The driver of browser.sh: Debian's Chromium (headless, through npm
// playwright-core) opens evcat serve's page (GET /) and checks it against
// the server and against `evcat listen`:
//   1. a message published with curl shows in both panes, as text
//   2. a line typed in the WebSocket box reaches `evcat listen URL/sse`
//   3. the page's EventSource resumes with Last-Event-ID after serve
//      restarts (same port, --history) and after a dropped connection (a
//      TCP proxy here cuts it): it gets exactly the events after its last
//      id, none twice
// It starts and stops every process it runs (by its child handle), prints
// one TAP-style line per check and a timing line per phase, and exits 1 on
// a failed check.
//
// Usage: node browser.mjs EVCAT PORT TMPDIR [SCREENSHOT.png]
import { chromium } from 'playwright-core';
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

const [evcat, port, tmp, screenshot] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let fails = 0;
const t0 = Date.now();
let phaseStart = t0;

function check(name, ok, detail) {
  if (ok) console.log(`ok - ${name}`);
  else {
    fails++;
    console.log(`not ok - ${name}`);
    if (detail !== undefined) console.log(`  ${JSON.stringify(detail).slice(0, 2000)}`);
  }
  return ok;
}
function phase(name) {
  const now = Date.now();
  console.log(`# timing: ${name}: ${now - phaseStart} ms`);
  phaseStart = now;
}
async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return check(`in time: ${what}`, false);
    await sleep(50);
  }
}

// ---- processes ----
const children = new Set();
function run(args, out, err) {
  const child = spawn(args[0], args.slice(1), {
    stdio: ['ignore', fs.openSync(out, 'w'), fs.openSync(err, 'w')],
  });
  children.add(child);
  child.done = new Promise((r) => child.on('exit', (code, sig) => { children.delete(child); r(code ?? sig); }));
  return child;
}
async function stop(child) {
  child.kill('SIGTERM');
  return child.done;
}
const portOpen = (p) => new Promise((r) => {
  const s = net.connect(p, '127.0.0.1', () => { s.destroy(); r(true); });
  s.on('error', () => r(false));
});
let serveRun = 0;
async function startServe(args) {
  serveRun++;
  const log = `${tmp}/serve${serveRun}.err`;
  const child = run([evcat, 'serve', '--listen', `127.0.0.1:${port}`, '-v', ...args],
    `${tmp}/serve${serveRun}.out`, log);
  child.log = log;
  await until(`serve #${serveRun} listens`, () => portOpen(port));
  return child;
}
const curl = (...args) => new Promise((resolve) =>
  execFile('curl', ['-sS', '--max-time', '5', ...args], (e, out) => resolve(e ? `curl failed: ${e.message}` : out)));
async function publish(data, type) {
  const r = await fetch(`${base}/publish${type ? `?event=${type}` : ''}`, { method: 'POST', body: data });
  return (await r.json()).id;
}

// ---- a TCP proxy whose connections this driver can cut ----
function proxy(target) {
  const socks = new Set();
  const heads = [];
  const server = net.createServer((c) => {
    const u = net.connect(target, '127.0.0.1');
    socks.add(c).add(u);
    let first = true;
    c.on('data', (d) => { if (first) heads.push(d.toString('latin1').split('\r\n\r\n')[0]); first = false; });
    c.pipe(u).pipe(c);
    const end = () => { socks.delete(c); socks.delete(u); c.destroy(); u.destroy(); };
    c.on('error', end).on('close', end);
    u.on('error', end).on('close', end);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({
    port: server.address().port,
    heads,
    cut: () => { for (const s of socks) s.destroy(); },
    close: () => { for (const s of socks) s.destroy(); server.close(); },
  })));
}

// ---- the page ----
const entries = (page, log) => page.$$eval(`#${log} li:not(.st)`, (els) => els.map((e) => e.textContent));
const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
// "#ID TYPE: DATA" of the SSE pane.
const parse = (e) => { const m = /^#(\d*) ([^:]+): ([\s\S]*)$/.exec(e); return m && { id: +m[1], type: m[2], data: m[3] }; };
async function sseEvents(page, prefix) {
  return (await entries(page, 'sse-log')).map(parse).filter((e) => e && e.data.startsWith(prefix));
}
function watch(page, errors) {
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/favicon\.ico/.test(m.location().url || '')) errors.push(m.text());
  });
}

// Resume check: among prefix's events, those the page got are exactly the
// ids after last up to want (each once, in order), with the data sent.
async function checkResume(page, name, prefix, last, sent) {
  const want = sent.filter((s) => s.id > last).map((s) => `${s.id} ${s.data}`);
  const ok = await until(`${name}: the events after ${last} arrive`, async () =>
    (await sseEvents(page, prefix)).length >= want.length, 10000);
  await sleep(300); // a duplicate would come right behind
  const got = (await sseEvents(page, prefix)).map((e) => `${e.id} ${e.data}`);
  if (ok) check(`${name}: exactly the events after id ${last}, in order, none twice`,
    JSON.stringify(got) === JSON.stringify(want), { got, want });
}

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'],
  });
  console.log(`# chromium ${browser.version()}, playwright-core ${JSON.parse(fs.readFileSync(new URL('../node_modules/playwright-core/package.json', import.meta.url))).version}`);
  const ctx = await browser.newContext({ viewport: { width: 900, height: 620 } });
  const page = await ctx.newPage();
  const errors = [];
  watch(page, errors);
  phase('chromium started');

  // ---- 1: curl → both panes ----
  let serve = await startServe(['--tick', '200ms', '--retry', '2000', '--history', '100']);
  const resp = await page.goto(`${base}/?event=alert,other&event=third`);
  check('GET / answers 200 text/html', resp.status() === 200 &&
    resp.headers()['content-type'] === 'text/html; charset=utf-8', resp.headers());
  check('the page is not cached (no-store) and has a CSP',
    resp.headers()['cache-control'] === 'no-store' &&
    /script-src 'sha256-/.test(resp.headers()['content-security-policy'] || ''));
  await until('both panes open', async () =>
    (await text(page, '#sse-st')) === 'open' && (await text(page, '#ws-st')) === 'open');
  check('the EventSource state went connecting → open',
    JSON.stringify((await page.$$eval('#sse-log li.st', (els) => els.map((e) => e.textContent))).slice(0, 2)) ===
    JSON.stringify(['-- connecting', '-- open']));
  check('types come from the URL query', (await text(page, '#sse-types')) === 'message, tick, alert, other, third');
  const markup = 'curl says <b>hi</b> & <img src=x onerror=alert(1)>';
  const out = await curl('-d', markup, `${base}/publish`);
  check('curl published', /^\{"id":\d+\}/.test(out), out);
  await curl('-d', 'a custom one', `${base}/publish?event=third`);
  const inSse = await until('the curl message shows in the EventSource pane', async () =>
    (await entries(page, 'sse-log')).some((e) => / message: curl says <b>hi<\/b>/.test(e)));
  const inWs = await until('the curl message shows in the WebSocket pane', async () =>
    (await entries(page, 'ws-log')).includes(markup));
  check('a published message shows in both panes', inSse && inWs);
  check('its markup shows as text, no element made of it',
    (await page.$$('main li b, main li img')).length === 0 && (await page.innerText('body')).includes(markup));
  await until('a custom event type (from ?event=) shows', async () =>
    (await entries(page, 'sse-log')).some((e) => /^#\d+ third: a custom one$/.test(e)));
  const ticks = await until('ticks show with ids', async () =>
    (await entries(page, 'sse-log')).filter((e) => /^#\d+ tick: \{"seq":\d+,"ts_ns":\d+\}$/.test(e)).length >= 3);
  check('ticks show with their ids', !!ticks);
  const lat = await until('latency shows', async () => {
    const m = /last ([\d.-]+) ms, p50 ([\d.-]+) ms, mean ([\d.-]+) ms \((\d+) ticks\)/.exec(await text(page, '#lat'));
    return m && +m[4] >= 3 && m;
  });
  check('tick latency is computed from ts_ns (0 to 500 ms on loopback)',
    lat && [1, 2, 3].every((i) => +lat[i] > -5 && +lat[i] < 500), lat && lat[0]);
  phase('1 (curl message in both panes, ticks, latency)');

  // ---- 2: the WebSocket box → evcat listen ----
  const listenOut = `${tmp}/listen.out`;
  const listen = run([evcat, 'listen', `${base}/sse`], listenOut, `${tmp}/listen.err`);
  await until('evcat listen gets ticks', () => fs.readFileSync(listenOut, 'utf8').includes('"ts_ns"'));
  const typed = `typed in Chromium ${Date.now()}`;
  await page.getByLabel('Message', { exact: true }).fill(typed);
  await page.getByLabel('Message', { exact: true }).press('Enter');
  check('the typed line reaches evcat listen /sse',
    await until('typed line in evcat listen', () => fs.readFileSync(listenOut, 'utf8').includes(typed)),
    fs.readFileSync(listenOut, 'utf8').slice(-500));
  check('the box is cleared after Enter', (await page.getByLabel('Message', { exact: true }).inputValue()) === '');
  check('the typed line comes back in both panes', await until('typed line in the panes', async () =>
    (await entries(page, 'ws-log')).includes(typed) &&
    (await entries(page, 'sse-log')).some((e) => e.endsWith(` message: ${typed}`))));
  await stop(listen);
  if (screenshot) {
    await page.screenshot({ path: screenshot });
    console.log(`# screenshot: ${screenshot}`);
  }
  // A narrow window: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 360, height: 640 });
  await sleep(100);
  check('a narrow window (360 px) scrolls no sideways',
    (await page.evaluate(() => document.documentElement.scrollWidth)) <= 360);
  await page.setViewportSize({ width: 900, height: 620 });
  phase('2 (WebSocket box to evcat listen)');

  // ---- 3a: serve restarts on the same port, with --history ----
  await until('ticks ran a while', async () => +(await text(page, '#sse-id')) >= 5);
  check('serve #1 stops on SIGTERM with 0', (await stop(serve)) === 0);
  await until('the page sees the stream end', async () => (await text(page, '#sse-st')) === 'reconnecting');
  const last = +(await text(page, '#sse-id'));
  // The new run counts ids from 1 again: publish past the page's last id
  // before its reconnect (retry: 2000 ms), so history holds what it missed.
  serve = await startServe(['--tick', '0', '--retry', '2000', '--history', '100']);
  const sent = [];
  for (let i = 1; i <= last + 4; i++) {
    const data = `restart-${i}`;
    sent.push({ id: await publish(data), data });
  }
  check('the new run published ids 1..last+4', sent.every((s, i) => s.id === i + 1));
  check('the page had not reconnected yet (the test would prove nothing)',
    (await text(page, '#sse-st')) === 'reconnecting');
  await until('the page reopens', async () => (await text(page, '#sse-st')) === 'open');
  await checkResume(page, 'restart', 'restart-', last, sent);
  check(`serve #2 got Last-Event-ID: ${last} and replayed 4`,
    fs.readFileSync(serve.log, 'utf8').includes(`last-event-id=${last} replay=4`),
    fs.readFileSync(serve.log, 'utf8'));
  sent.push({ id: await publish('restart-live'), data: 'restart-live' });
  await checkResume(page, 'restart, then live', 'restart-', last, sent);
  check('the WebSocket pane reconnected to the new run too', await until('ws reopens', async () =>
    (await text(page, '#ws-st')) === 'open' && (await entries(page, 'ws-log')).includes('restart-live')));
  phase('3a (resume after serve restarts)');

  // ---- 3b: a dropped connection (a proxy between page and serve) ----
  const px = await proxy(+port);
  const page2 = await ctx.newPage();
  watch(page2, errors);
  await page2.goto(`http://127.0.0.1:${px.port}/`);
  await until('page 2 open through the proxy', async () => (await text(page2, '#sse-st')) === 'open');
  const sent2 = [];
  for (const d of ['drop-pre-1', 'drop-pre-2']) sent2.push({ id: await publish(d), data: d });
  await until('page 2 has the first two', async () => (await sseEvents(page2, 'drop-')).length === 2);
  const last2 = +(await text(page2, '#sse-id'));
  check('page 2 last id is the second one', last2 === sent2[1].id, { last2, sent2 });
  px.cut();
  await until('page 2 sees the drop', async () => (await text(page2, '#sse-st')) === 'reconnecting');
  for (const d of ['drop-gap-1', 'drop-gap-2', 'drop-gap-3']) sent2.push({ id: await publish(d), data: d });
  check('page 2 had not reconnected yet', (await text(page2, '#sse-st')) === 'reconnecting');
  await until('page 2 reopens', async () => (await text(page2, '#sse-st')) === 'open');
  sent2.push({ id: await publish('drop-live'), data: 'drop-live' });
  await checkResume(page2, 'drop', 'drop-', 0, sent2);
  check(`page 2 sent Last-Event-ID: ${last2} after the drop`,
    px.heads.some((h) => /^GET \/sse /.test(h) && new RegExp(`\r\nLast-Event-ID: ${last2}(\r|$)`, 'i').test(h)),
    px.heads.filter((h) => h.startsWith('GET /sse')));
  check(`serve got Last-Event-ID: ${last2} and replayed 3`,
    fs.readFileSync(serve.log, 'utf8').includes(`last-event-id=${last2} replay=3`));
  px.close();
  phase('3b (resume after a dropped connection)');

  check('no script errors or CSP violations in the console', errors.length === 0, errors);
  await browser.close();
  check('serve #2 stops on SIGTERM with 0', (await stop(serve)) === 0);
}

try {
  await main();
} catch (e) {
  check('the driver ran to its end', false, String(e.stack || e));
} finally {
  for (const c of children) c.kill('SIGTERM');
}
console.log(`# timing: total ${Date.now() - t0} ms`);
process.exit(fails ? 1 : 0);
