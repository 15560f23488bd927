// node web/check.mjs [--only "2 3"] [--seeds "0 1 2"] [--budget 60]: every lesson's Try it in
// headless Chromium, in the built site (target/web), exactly as the app runs it; prints the
// `resnet-lab lessons --check` table and exits 1 on a miss.
import { serve, launch } from './browser.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const only = arg('only', '');
const seeds = arg('seeds', '0 1 2').split(/\s+/).filter(Boolean).map(Number);
const budget = Number(arg('budget', '60'));
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'target', 'web');

const site = await serve(root);
const { browser, context } = await launch(1280, 800);
let code = 1;
try {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'log' || m.type() === 'error') console.error(m.text());
  });
  page.on('pageerror', (e) => console.error(`page error: ${e}`));
  await page.goto(site.url);
  await page.waitForFunction(() => globalThis.resnetLabStarted !== undefined, null,
    { timeout: 60000 });
  const version = browser.version();
  const r = await page.evaluate(async ([only, seeds, budget]) => {
    const lab = await import('./resnet_lab.js');
    const started = performance.now();
    const out = await lab.check_lessons(only, new Uint32Array(seeds), budget);
    return { table: out.table, failed: Array.from(out.failed), secs: (performance.now() - started) / 1000,
      kernels: lab.simd_path(), agent: navigator.userAgent };
  }, [only, seeds, budget]);
  console.log(r.table);
  console.log(`Browser: Chromium ${version}; kernels: ${r.kernels}; all lessons in ${r.secs.toFixed(0)} s`);
  if (r.failed.length) {
    console.log(r.failed.join('\n'));
  } else {
    code = 0;
  }
} catch (e) {
  console.log(`web/check: ${e.message || e}`);
} finally {
  await browser.close();
  site.close();
}
process.exit(code);
