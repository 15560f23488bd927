// node web/bench.mjs (web/bench.sh runs it and passes the native numbers): ResNet training
// throughput in headless Chromium, our wasm build against TensorFlow.js, each in one Web Worker,
// then the report table. Progress goes to stderr, the report to stdout.
//
// Environment (all optional):
//   NETS         depths to measure ("20 56")
//   ROUNDS       alternating rounds ours, TF.js per net (2); the best round is reported
//   WARMUP       our untimed steps (2);  STEPS: our timed steps, "20=10 56=5" or one number
//   TFJS_WARMUP  TF.js untimed steps (1);  TFJS_STEPS: TF.js timed steps (1). TF.js takes about
//                a minute per ResNet-20 step here and its step times agree to within 1%, so one
//                warm-up step (webgl compiles its shaders in it) and one timed step suffice.
//   NATIVE       native img/s per net, "20=1234.5 56=456.7" (from bench.sh)
//   SITE         the built site (target/web)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './browser.mjs';

const web = path.dirname(fileURLToPath(import.meta.url));
const site = process.env.SITE || path.join(web, '..', 'target', 'web');
const BATCH = 64, SIZE = 28;
const BACKENDS = ['wasm', 'webgl', 'cpu'];

/** $name as a per-net number: "20=10 56=5" gives 10 for depth 20; a bare "7" gives 7 for all. */
function perNet(name, depth, fallback) {
  const spec = process.env[name] || '';
  const pairs = Object.fromEntries(spec.split(/\s+/).filter((p) => p.includes('=')).map((p) => p.split('=')));
  const v = Number(spec.includes('=') ? pairs[depth] : spec || NaN);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
const nets = (process.env.NETS || '20 56').split(/\s+/).filter(Boolean).map(Number);
const rounds = perNet('ROUNDS', 0, 2);
const ourJob = (depth) => ({ depth, warmup: perNet('WARMUP', depth, 2), steps: perNet('STEPS', depth, depth <= 20 ? 10 : 5) });
const tfjsJob = (depth, backend) => ({ depth, backend, warmup: perNet('TFJS_WARMUP', depth, 1), steps: perNet('TFJS_STEPS', depth, 1) });

/** A static server on localhost over three roots: bench.html and bench-*.js from this folder at
 * the top level (so the module worker's './resnet_lab.js' resolves into the site), the built site
 * for every other top-level path, and node_modules/@tensorflow under /tfjs/. */
function serve() {
  const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const locate = (p) => (p.startsWith('/tfjs/') ? [path.join(web, 'node_modules', '@tensorflow'), p.slice(5)]
    : /^\/bench[\w-]*\.(html|js)$/.test(p) ? [web, p] : [site, p]);
  const server = http.createServer((req, res) => {
    const [root, rel] = locate(decodeURIComponent(new URL(req.url, 'http://x').pathname));
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

const fmt = (v) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : 'n/a'); // TF.js is ~1 img/s
const fmt2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const say = (s) => console.error(`  ${s}`);

/** Runs every measurement in the browser: { probe, best, ours, tfjs, simd, tfjsVersion, chromium }. */
async function measure() {
  const server = await serve();
  const { browser, context } = await launch(800, 600);
  try {
    // Only localhost: the benchmark must not depend on the network (anything else is refused).
    await context.route((url) => url.hostname !== '127.0.0.1', (route) => route.abort());
    const page = await context.newPage();
    await page.goto(server.url + 'bench.html');
    const run = (lib, job) => page.evaluate(([l, j]) => runJob(l, j), [lib, { batch: BATCH, size: SIZE, ...job }]);
    let tfjsVersion = '?';

    // 1. TF.js: which backends can train, and the fastest, from a short run of each on the first
    // net of NETS only (on the slow backends a ResNet-56 step takes minutes).
    const probe = {}; // backend -> { imgs } | { error }
    for (const backend of BACKENDS) {
      const r = await run('tfjs', tfjsJob(nets[0], backend));
      probe[backend] = r;
      tfjsVersion = r.version || tfjsVersion;
      say(`TF.js ${backend} resnet-${nets[0]}: ${r.error ? 'cannot train: ' + r.error : fmt(r.imgs) + ' img/s'}`);
    }
    const working = BACKENDS.filter((b) => !probe[b].error);
    if (!working.length) throw new Error('no TF.js backend could train in this browser');
    const best = working.reduce((a, b) => (probe[b].imgs > probe[a].imgs ? b : a));

    // 2. Alternate ours and TF.js on its best backend, so both see the same machine load.
    const ours = {}, tfjs = {}; // depth -> img/s per round
    let simd = '?';
    for (let round = 1; round <= rounds; round++) {
      for (const depth of nets) {
        const o = await run('ours', ourJob(depth));
        if (o.error) throw new Error(`our wasm failed on resnet-${depth}: ${o.error}`);
        const t = await run('tfjs', tfjsJob(depth, best));
        if (t.error) throw new Error(`TF.js ${best} failed on resnet-${depth}: ${t.error}`);
        simd = o.simd;
        (ours[depth] ||= []).push(o.imgs);
        (tfjs[depth] ||= []).push(t.imgs);
        say(`round ${round} resnet-${depth}: ours ${fmt(o.imgs)}, TF.js ${best} ${fmt(t.imgs)} img/s`);
      }
    }
    return { probe, best, ours, tfjs, simd, tfjsVersion, chromium: browser.version() };
  } finally {
    await browser.close();
    server.close();
  }
}

/** The report on stdout; the last two lines are the worst ratios. */
function report({ probe, best, ours, tfjs, simd, tfjsVersion, chromium }) {
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) || [])[1] || '?';
  const rows = nets.map((depth) => {
    const o = Math.max(...ours[depth]), t = Math.max(...tfjs[depth]), n = perNet('NATIVE', depth, NaN);
    return { depth, o, t, n, vsTfjs: o / t, vsNative: o / n };
  });
  const table = [
    ['net', 'ours wasm img/s', 'tfjs best backend img/s', 'native avx2 1 thread img/s', 'ours/tfjs', 'ours/native'],
    ...rows.map((r) => [`resnet-${r.depth}`, fmt(r.o), `${fmt(r.t)} (${best})`, fmt(r.n), fmt2(r.vsTfjs), fmt2(r.vsNative)]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const line = (row) => row.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ');
  const steps = (job) => nets.map((d) => `${job(d).warmup}+${job(d).steps}`).join('/');
  const others = BACKENDS.filter((b) => b !== best)
    .map((b) => `${b} ${probe[b].error ? 'cannot train (' + probe[b].error + ')' : fmt(probe[b].imgs) + ' img/s'}`);

  console.log(`CPU: ${cpu}`);
  console.log(`Chromium ${chromium}, headless, --disable-gpu (WebGL is SwiftShader, on the CPU)`);
  console.log(`batch ${BATCH} of 1x${SIZE}x${SIZE}, one Web Worker each; warm-up+timed steps per net ` +
    `(${nets.map((d) => 'resnet-' + d).join('/')}): ours ${steps(ourJob)}, TF.js ${steps((d) => tfjsJob(d, best))}; ` +
    `${rounds} round${rounds > 1 ? 's' : ''} alternating ours and TF.js, best round shown`);
  console.log(`ours: simd path ${simd}`);
  console.log(`TF.js ${tfjsVersion}: backend ${best}, the fastest that trains (resnet-${nets[0]} probe: ` +
    `${best} ${fmt(probe[best].imgs)} img/s; ${others.join('; ')})`);
  for (const depth of nets) {
    console.log(`rounds resnet-${depth}: ours ${ours[depth].map(fmt).join(' ')}; TF.js ${tfjs[depth].map(fmt).join(' ')}`);
  }
  console.log('');
  console.log(line(table[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of table.slice(1)) console.log(line(row));
  console.log('');
  const worst = (k) => (rows.every((r) => Number.isFinite(r[k])) ? Math.min(...rows.map((r) => r[k])) : NaN);
  console.log(`worst ratio vs tfjs: ${fmt2(worst('vsTfjs'))}`);
  console.log(`worst ratio vs native avx2 one thread: ${fmt2(worst('vsNative'))}`);
}

try {
  if (!nets.length || nets.some((d) => !Number.isInteger(d) || d < 8 || (d - 2) % 6)) {
    throw new Error(`NETS="${process.env.NETS}": depths must be 6n+2, e.g. "20 56"`);
  }
  report(await measure());
} catch (e) {
  console.error(`web/bench.sh: ${e.message.split('\n')[0]}`);
  process.exit(1);
}
