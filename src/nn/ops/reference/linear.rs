//! Fully connected layer `y = x W^T + b` on a batch of flattened inputs.
use super::{Mat, matmul};

/// `w` is `[out, inp]`.
pub fn forward(n: usize, inp: usize, out: usize, x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    matmul(n, out, inp, Mat::rows(x, inp), Mat::t(w, inp), y, false);
    for row in y[..n * out].chunks_mut(out) {
        for (v, bb) in row.iter_mut().zip(b) {
            *v += bb;
        }
    }
}

#[allow(clippy::too_many_arguments)]
/// Adds dL/dw and dL/db; writes dL/dx when asked.
pub fn backward(
    n: usize,
    inp: usize,
    out: usize,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: &mut [f32],
) {
    matmul(out, inp, n, Mat::t(dy, out), Mat::rows(x, inp), dw, true);
    for row in dy[..n * out].chunks(out) {
        for (d, v) in db.iter_mut().zip(row) {
            *d += v;
        }
    }
    if let Some(dx) = dx {
        matmul(
            n,
            inp,
            out,
            Mat::rows(dy, out),
            Mat::rows(w, inp),
            dx,
            false,
        );
    }
}
