// A training run's Web Worker: instantiates the page's compiled wasm module and hands the job to
// the crate (src/web/worker.rs). Commands that arrive while the module loads are kept for it.
import init, { worker_main } from './resnet_lab.js';

const early = [];
self.onmessage = async (first) => {
  self.onmessage = (e) => early.push(e.data);
  try {
    await init({ module_or_path: first.data.module });
  } catch (e) {
    self.postMessage({ kind: 'failed', text: 'WebAssembly did not start in the worker: ' + e });
    return;
  }
  worker_main(first.data, early);
};
