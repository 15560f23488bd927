//! Fully connected layer `y = x Wᵀ + b` on a batch of flattened inputs (`w` is `[out][inp]`,
//! PyTorch's layout), through the same GEMM kernel as the convolutions.
use super::gemm::checked;
use super::simd::Isa;

#[allow(clippy::too_many_arguments)]
pub fn forward(
    isa: Isa,
    n: usize,
    inp: usize,
    out: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
) {
    let mut wt = vec![0.0; inp * out];
    for o in 0..out {
        for i in 0..inp {
            wt[i * out + o] = w[o * inp + i];
        }
    }
    checked(isa, (n, out, inp), x, (inp, 1), &wt, out, y, out, false);
    for row in y[..n * out].chunks_mut(out) {
        for (v, bb) in row.iter_mut().zip(b) {
            *v += bb;
        }
    }
}

#[allow(clippy::too_many_arguments)]
/// Adds dL/dw and dL/db; writes dL/dx when asked.
pub fn backward(
    isa: Isa,
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
    checked(isa, (out, inp, n), dy, (1, out), x, inp, dw, inp, true);
    for row in dy[..n * out].chunks(out) {
        for (d, v) in db.iter_mut().zip(row) {
            *d += v;
        }
    }
    if let Some(dx) = dx {
        checked(isa, (n, inp, out), dy, (out, 1), w, inp, dx, inp, false);
    }
}
