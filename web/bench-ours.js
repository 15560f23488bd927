// web/bench.sh's side for our build, a module Web Worker: loads the page's wasm module (the same
// resnet_lab.js + resnet_lab_bg.wasm the app uses) and answers one message { depth, batch, size,
// warmup, steps } with { imgs, simd } from the crate's own training step (src/web/bench.rs), or
// { error }.
import init, { bench_train, simd_path } from './resnet_lab.js';

self.onmessage = async ({ data: job }) => {
  try {
    await init();
    const imgs = bench_train(true, job.depth, job.batch, job.size, job.warmup, job.steps);
    self.postMessage({ imgs, simd: simd_path() });
  } catch (e) {
    self.postMessage({ error: String(e && e.message ? e.message : e) });
  }
};
