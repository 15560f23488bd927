// web/bench.sh's TensorFlow.js side, a classic Web Worker: one message { backend, depth, batch,
// size, warmup, steps } builds the same CIFAR-style ResNet as src/web/bench.rs (He et al. 2016,
// option-A shortcuts) with tf.layers, trains it on one batch of random images and answers
// { imgs } (images per second over the timed steps) or { error } (e.g. a kernel the backend lacks).
// TF.js comes from the local node_modules (served under /tfjs/), never from the internet.
importScripts('/tfjs/tfjs/dist/tf.min.js', '/tfjs/tfjs-backend-wasm/dist/tf-backend-wasm.min.js');

// The wasm backend loads its .wasm next to the bundle. The page is not cross-origin isolated
// (bench.mjs sends no COOP/COEP headers), so it picks the single-threaded SIMD build: one worker,
// one thread, like ours.
tf.wasm.setWasmPaths('/tfjs/tfjs-backend-wasm/dist/');

// Keras-style L2 on kernels: d/dw of l2*w^2 is 2*l2*w, so l2 = 5e-5 is SGD weight decay 1e-4.
const decay = () => tf.regularizers.l2({ l2: 5e-5 });

/** Option-A shortcut of a downsampling block: every other row and column (a 1x1 average pool of
 * stride 2 is exactly that subsampling, and every backend has its gradient), channels zero-padded
 * from `c` to 2c, half on each side as in He et al.'s CIFAR code. */
class ShortcutA extends tf.layers.Layer {
  static className = 'ShortcutA';
  computeOutputShape([b, h, w, c]) {
    return [b, Math.ceil(h / 2), Math.ceil(w / 2), 2 * c];
  }
  call(inputs) {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const c = x.shape[3];
      return tf.avgPool(x, 1, 2, 'valid').pad([[0, 0], [0, 0], [0, 0], [c / 2, c / 2]]);
    });
  }
}

/** 3x3 conv (no bias: batch norm follows) + batch norm. */
function convBn(x, filters, strides) {
  const conv = tf.layers.conv2d({
    filters, kernelSize: 3, strides, padding: 'same', useBias: false,
    kernelInitializer: 'heNormal', kernelRegularizer: decay(),
  });
  return tf.layers.batchNormalization().apply(conv.apply(x));
}

/** ResNet-`depth` (depth = 6n+2) on 1x`size`x`size` images, 10 classes, as logits. */
function resnet(depth, batch, size) {
  const n = (depth - 2) / 6;
  const input = tf.input({ batchShape: [batch, size, size, 1] });
  let x = tf.layers.reLU().apply(convBn(input, 16, 1));
  for (const [stage, filters] of [16, 32, 64].entries()) {
    for (let i = 0; i < n; i++) {
      const down = stage > 0 && i === 0;
      const y = tf.layers.reLU().apply(convBn(x, filters, down ? 2 : 1));
      const shortcut = down ? new ShortcutA().apply(x) : x;
      x = tf.layers.reLU().apply(tf.layers.add().apply([convBn(y, filters, 1), shortcut]));
    }
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x);
  const logits = tf.layers.dense({ units: 10, kernelRegularizer: decay() }).apply(x);
  return tf.model({ inputs: input, outputs: logits });
}

self.onmessage = async ({ data: job }) => {
  try {
    if (!(await tf.setBackend(job.backend)) || tf.getBackend() !== job.backend) {
      throw new Error(`backend ${job.backend} did not initialise in this browser`);
    }
    const model = resnet(job.depth, job.batch, job.size);
    model.compile({
      optimizer: tf.train.momentum(0.05, 0.9),
      loss: (labels, logits) => tf.losses.softmaxCrossEntropy(labels, logits),
    });
    const x = tf.randomNormal([job.batch, job.size, job.size, 1]);
    const y = tf.oneHot(tf.randomUniform([job.batch], 0, 10, 'int32'), 10);
    // trainOnBatch resolves once the loss has been read back, so each step has finished on
    // the backend (webgl runs asynchronously) before the clock stops.
    let elapsed = 0;
    for (let step = 0; step < job.warmup + job.steps; step++) {
      const t0 = performance.now();
      await model.trainOnBatch(x, y);
      if (step >= job.warmup) elapsed += performance.now() - t0;
    }
    self.postMessage({ imgs: (job.steps * job.batch) / (elapsed / 1000), version: tf.version.tfjs });
  } catch (e) {
    self.postMessage({ error: String(e && e.message ? e.message : e) });
  }
};
