//! Differentiable operations the network is built from.
//!
//! The fast ops work on [`tensor::Tensor`]: a batch in NHWC order with every pixel's channels
//! padded to a multiple of 8, the layout every layer keeps, so nothing is reordered per call.
//! Each op splits the batch into one contiguous chunk per thread and runs a kernel written once,
//! generically over [`simd::Simd`], and compiled for AVX-512, AVX2+FMA and plain Rust; the path
//! is picked at start-up ([`simd::active`]) and every op takes it as an argument, so tests can run
//! each path in one process.
//!
//! - [`conv`]: Winograd F(4x4,3x3) or F(2x2,3x3) for 3x3 stride-1 convolutions (forward,
//!   backward-data and backward-weights), im2col + register-blocked GEMM for every other shape.
//! - [`bn`]: batch-norm statistics and backward; the normalisation itself is a lazy per-channel
//!   [`tensor::PreOp`] applied by whichever kernel reads the tensor next.
//! - [`eltwise`]: the residual join (with the option-A shortcut), ReLU masks, pooling, moments.
//! - [`linear`], [`loss`]: the classifier head.
//!
//! [`reference`] keeps the first, straightforward NCHW implementation as the oracle.
pub mod bn;
pub mod conv;
pub mod eltwise;
pub mod gemm;
pub mod linear;
pub mod loss;
pub mod reference;
pub mod simd;
pub mod tensor;
pub mod winograd;

/// How many contiguous pieces to split a batch into: one per worker thread, so that a given
/// thread count always gives the same split and therefore the same floating-point sums.
pub fn batch_chunks(n: usize) -> usize {
    rayon::current_num_threads().clamp(1, n.max(1))
}

/// Images per chunk for a batch of `n`.
pub fn chunk_len(n: usize) -> usize {
    n.div_ceil(batch_chunks(n)).max(1)
}
