//! The reference ops: the engine's first implementation (im2col + `gemm` convolution, NCHW
//! planes), kept as the slow oracle the fast kernels are tested against.
//!
//! Each op has a forward and a backward function and no hidden state, so each can be checked
//! against finite differences on its own (tests/nn_gradcheck.rs). Nothing in the model uses
//! them: they exist so that every fast kernel, on every SIMD path, has an independent,
//! straightforward implementation to agree with.
pub mod batchnorm;
pub mod conv;
pub mod linear;
pub mod pool;
pub mod relu;
pub mod shortcut;

pub use super::{batch_chunks, chunk_len};

use gemm::Parallelism;

/// Row-major matrix view used by [`matmul`]: element (i, j) lives at `i * rs + j * cs`.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// A contiguous row-major matrix with `cols` columns.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// The transpose of a contiguous row-major matrix that has `cols` columns.
    pub fn t(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            rs: 1,
            cs: cols,
        }
    }
}

/// `c (m x n, row-major) = [c +] a (m x k) * b (k x n)`, single-threaded.
///
/// Callers parallelise over the batch themselves: the matrices here are small (one image), and a
/// fixed split keeps results identical from run to run.
pub fn matmul(m: usize, n: usize, k: usize, a: Mat, b: Mat, c: &mut [f32], accumulate: bool) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.len() >= m * n, "matmul: output too small");
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    let last = |rs: usize, cs: usize, r: usize, cc: usize| (r - 1) * rs + (cc - 1) * cs;
    assert!(
        a.data.len() > last(a.rs, a.cs, m, k),
        "matmul: lhs too small"
    );
    assert!(
        b.data.len() > last(b.rs, b.cs, k, n),
        "matmul: rhs too small"
    );
    // SAFETY: the asserts above keep every index the kernel touches inside the three slices,
    // and `c` does not alias `a` or `b` (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: Mat, b: Mat) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for d in 0..k {
                    c[i * n + j] += a.data[i * a.rs + d * a.cs] * b.data[d * b.rs + j * b.cs];
                }
            }
        }
        c
    }

    #[test]
    fn matmul_matches_naive_for_plain_and_transposed_operands() {
        let (m, n, k) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        for (am, bm) in [
            (Mat::rows(&a, k), Mat::rows(&b, n)),
            (Mat::t(&a, m), Mat::t(&b, k)),
        ] {
            let want = naive(m, n, k, am, bm);
            let mut got = vec![1.0; m * n];
            matmul(m, n, k, am, bm, &mut got, false);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5);
            }
            matmul(m, n, k, am, bm, &mut got, true);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - 2.0 * w).abs() < 1e-5);
            }
        }
    }
}
