// node web/bench.mjs (run by web/bench.sh, which passes the native numbers): ResNet training
// throughput in headless Chromium, our wasm build against TensorFlow.js, each in one Web Worker.
//
// Environment: NETS ("20 56"), ROUNDS (2), WARMUP (2), STEPS ("20=10 56=5" or one number for
// both), PROBE_STEPS (2: timed steps per TF.js backend when picking the fastest), NATIVE
// ("20=1234.5 56=456.7": native img/s per net, from bench.sh), SITE (the built site, target/web).
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './browser.mjs';

const web = path.dirname(fileURLToPath(import.meta.url));
const site = process.env.SITE || path.join(web, '..', 'target', 'web');
const env = (name, fallback) => process.env[name] || fallback;
const nets = env('NETS', '20 56').split(/\s+/).filter(Boolean).map(Number);
const rounds = Number(env('ROUNDS', '2'));
const warmup = Number(env('WARMUP', '2'));
const probeSteps = Number(env('PROBE_STEPS', '2'));
/** "20=10 56=5" or "7" -> steps for `depth`. */
const perNet = (spec, depth) => {
  const pairs = Object.fromEntries(spec.split(/\s+/).filter((p) => p.includes('=')).map((p) => p.split('=')));
  return Number(pairs[depth] ?? (spec.includes('=') ? NaN : spec));
};
const steps = (depth) => perNet(env('STEPS', '20=10 56=5'), depth) || (depth <= 20 ? 10 : 5);
const native = (depth) => perNet(env('NATIVE', ''), depth);
const BATCH = 64, SIZE = 28;
const BACKENDS = ['wasm', 'webgl', 'cpu'];

// ---- a static server over three roots: the built site at /, this folder's bench.html and
// bench-*.js beside it (so the module worker's './resnet_lab.js' resolves into the site), and
// node_modules/@tensorflow under /tfjs/. Nothing else is served.
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
function resolve(pathname) {
  if (pathname.startsWith('/tfjs/')) {
    return [path.join(web, 'node_modules', '@tensorflow'), pathname.slice('/tfjs'.length)];
  }
  if (/^\/bench[\w-]*\.(html|js)$/.test(pathname)) return [web, pathname];
  return [site, pathname];
}
function serve() {
  const server = http.createServer((req, res) => {
    const [root, rel] = resolve(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = path.join(root, rel);
    if (!file.startsWith(path.resolve(root) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404);
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done({
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => server.close(),
  })));
}

const fmt = (v) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);

const server = await serve();
const { browser, context } = await launch(800, 600);
// Only localhost: anything else is refused and reported (the machine may have no network, and
// a benchmark must not depend on it).
const offsite = [];
await context.route((url) => url.hostname !== '127.0.0.1', (route) => {
  offsite.push(route.request().url());
  route.abort();
});
const page = await context.newPage();
page.on('pageerror', (e) => console.error(`bench page: ${e}`));
await page.goto(server.url + 'bench.html');
const run = (lib, job) => page.evaluate(([l, j]) => runJob(l, j), [lib, { batch: BATCH, size: SIZE, ...job }]);

// ---- 1. the fastest TF.js backend that trains, per net: a short run on each.
const probe = {}; // depth -> backend -> { imgs } | { error }
let tfjsVersion = '?';
for (const depth of nets) {
  probe[depth] = {};
  for (const backend of BACKENDS) {
    const r = await run('tfjs', { backend, depth, warmup: 1, steps: probeSteps });
    probe[depth][backend] = r;
    if (r.version) tfjsVersion = r.version;
    console.error(`probe tfjs ${backend} resnet-${depth}: ${r.error ? 'failed: ' + r.error : fmt(r.imgs) + ' img/s'}`);
  }
}
const best = {}; // depth -> backend
for (const depth of nets) {
  const working = BACKENDS.filter((b) => !probe[depth][b].error);
  if (!working.length) throw new Error(`no TF.js backend could train resnet-${depth}`);
  best[depth] = working.reduce((a, b) => (probe[depth][b].imgs > probe[depth][a].imgs ? b : a));
}

// ---- 2. alternate ours and TF.js (its best backend), ROUNDS times; keep every round.
const ours = {}, tfjs = {}; // depth -> [img/s per round]
let simd = '?';
for (let round = 1; round <= rounds; round++) {
  for (const depth of nets) {
    const job = { depth, warmup, steps: steps(depth) };
    const o = await run('ours', job);
    if (o.error) throw new Error(`our wasm failed on resnet-${depth}: ${o.error}`);
    simd = o.simd;
    const t = await run('tfjs', { ...job, backend: best[depth] });
    if (t.error) throw new Error(`TF.js ${best[depth]} failed on resnet-${depth}: ${t.error}`);
    (ours[depth] ||= []).push(o.imgs);
    (tfjs[depth] ||= []).push(t.imgs);
    console.error(`round ${round} resnet-${depth}: ours ${fmt(o.imgs)}, tfjs ${best[depth]} ${fmt(t.imgs)} img/s`);
  }
}
const version = browser.version();
await browser.close();
server.close();

// ---- 3. the report. Best round per net (the least disturbed by whatever else the machine runs).
const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) || [])[1] || os.cpus()[0]?.model || '?';
const max = (xs) => Math.max(...xs);
const rows = nets.map((depth) => {
  const o = max(ours[depth]), t = max(tfjs[depth]), n = native(depth);
  return { depth, o, t, n, vsTfjs: ratio(o, t), vsNative: ratio(o, n) };
});
const table = [
  ['net', 'ours wasm img/s', 'tfjs best backend img/s', 'native avx2 1 thread img/s', 'ours/tfjs', 'ours/native'],
  ...rows.map((r) => [`resnet-${r.depth}`, fmt(r.o), `${fmt(r.t)} (${best[r.depth]})`, fmt(r.n),
    ratio(r.o, r.t).toFixed(2), Number.isFinite(r.vsNative) ? r.vsNative.toFixed(2) : 'n/a']),
];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
const line = (row) => row.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ');

console.log(`CPU: ${cpu}`);
console.log(`Chromium ${version} (headless, --disable-gpu: WebGL is SwiftShader on the CPU)`);
console.log(`ours: simd path ${simd}; TF.js ${tfjsVersion}; batch ${BATCH}, 1x${SIZE}x${SIZE}, ` +
  `${warmup} warm-up steps, then ${nets.map((d) => `${steps(d)} (resnet-${d})`).join(', ')} timed, ` +
  `${rounds} alternating rounds, best round shown`);
console.log('TF.js backends (short probe runs, training one batch):');
for (const depth of nets) {
  for (const b of BACKENDS) {
    const r = probe[depth][b];
    console.log(`  resnet-${depth} ${b}: ${r.error ? 'cannot train: ' + r.error : fmt(r.imgs) + ' img/s'}${b === best[depth] ? '  <- fastest, used' : ''}`);
  }
}
for (const depth of nets) {
  console.log(`rounds resnet-${depth}: ours ${ours[depth].map(fmt).join(' ')}; tfjs ${tfjs[depth].map(fmt).join(' ')}`);
}
if (offsite.length) console.log(`refused off-machine requests: ${[...new Set(offsite)].join(' ')}`);
console.log('');
console.log(line(table[0]));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const row of table.slice(1)) console.log(line(row));
console.log('');
const worst = (k) => Math.min(...rows.map((r) => r[k]));
console.log(`worst ratio vs tfjs: ${worst('vsTfjs').toFixed(2)}`);
console.log(`worst ratio vs native avx2 one thread: ${rows.some((r) => !Number.isFinite(r.vsNative)) ? 'n/a' : worst('vsNative').toFixed(2)}`);
