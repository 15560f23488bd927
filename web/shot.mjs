// node web/shot.mjs OUT.png [WIDTHxHEIGHT] [SECONDS]: the built site (target/web) in headless
// Chromium, a screenshot after it has drawn; prints the console and how long the first frame took.
import { serve, launch } from './browser.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'target', 'web');
const [out = 'web.png', size = '1280x800', secs = '4'] = process.argv.slice(2);
const [w, h] = size.split('x').map(Number);
const site = await serve(root);
const { browser, context } = await launch(w, h);
const page = await context.newPage();
page.on('console', (m) => console.log(`console.${m.type()}: ${m.text()}`));
page.on('pageerror', (e) => console.log(`pageerror: ${e}`));
const t0 = Date.now();
await page.goto(site.url);
await page.waitForFunction(() => globalThis.resnetLabStarted !== undefined, null, { timeout: 30000 });
console.log(`started after ${Date.now() - t0} ms`);
await page.waitForTimeout(Number(secs) * 1000);
await page.screenshot({ path: out });
await browser.close();
site.close();
