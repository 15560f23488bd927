//! The fast NHWC kernels, on every SIMD path this CPU has, against f64 loops, the reference
//! ops (`nn::ops::reference`) and finite differences.
//!
//! Errors are measured as max |fast - f64| / max |f64| and printed (`cargo test --test
//! nn_kernels -- --nocapture`); the bound is far below the 1e-4 at which the project compares
//! with PyTorch.
//!
//! The same tests run under wasm32 in Node, on the SIMD128 and portable paths, through
//! tests/wasm_kernels.rs (see the README).
use resnet_lab::nn::ops::conv::{self, Algo, ConvGeom};
use resnet_lab::nn::ops::reference;
use resnet_lab::nn::ops::simd::{self, Isa};
use resnet_lab::nn::ops::tensor::{PreOp, Tensor, materialize, pad_channels};
use resnet_lab::nn::ops::{bn, eltwise, gemm, linear};
use resnet_lab::rng::Rng64;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn randn(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng64::new(seed);
    (0..n).map(|_| r.normal()).collect()
}

fn paths() -> Vec<Isa> {
    let all = simd::available();
    for isa in Isa::ALL {
        if !all.contains(&isa) {
            println!("note: this CPU has no {isa}; its kernels are not tested here");
        }
    }
    simd::paths_under_test()
}

/// max |a - b| / max |b|.
fn rel_err(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "length");
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
    let err = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((*x as f64 - y).abs()));
    err / scale
}

fn assert_close(what: &str, a: &[f32], b: &[f64], tol: f64) -> f64 {
    let e = rel_err(a, b);
    assert!(e < tol, "{what}: relative error {e:.3e} (bound {tol:.0e})");
    e
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// Central differences of `f` at a few entries of `x` against `analytic`.
fn fd_check(
    what: &str,
    x: &[f32],
    analytic: &[f32],
    eps: f32,
    probes: usize,
    mut f: impl FnMut(&[f32]) -> f64,
) {
    let step = (x.len() / probes).max(1);
    let mut xs = x.to_vec();
    let (mut bad, mut checked) = (Vec::new(), 0);
    for i in (0..x.len()).step_by(step) {
        let orig = xs[i];
        xs[i] = orig + eps;
        let up = f(&xs);
        xs[i] = orig - eps;
        let down = f(&xs);
        xs[i] = orig;
        let num = ((up - down) / (2.0 * eps as f64)) as f32;
        checked += 1;
        if (num - analytic[i]).abs() > 2e-2 * num.abs().max(analytic[i].abs()) + 3e-3 {
            bad.push((i, num, analytic[i]));
        }
    }
    // A ReLU kink can make a rare probe straddle a corner; anything more is a bug.
    assert!(
        bad.len() * 25 <= checked,
        "{what}: {} of {checked} disagree (index, numeric, analytic): {:?}",
        bad.len(),
        &bad[..bad.len().min(6)]
    );
}

/// `y = a x + b`, ReLU, for `c` channels with random a, b.
fn random_pre(c: usize, cs: usize, seed: u64, relu: bool) -> PreOp {
    let a: Vec<f32> = randn(c, seed).iter().map(|v| 1.0 + 0.3 * v).collect();
    let b: Vec<f32> = randn(c, seed + 1).iter().map(|v| 0.5 * v).collect();
    PreOp::new(&a, &b, cs, relu)
}

fn pre_nchw(x: &[f32], n: usize, c: usize, hw: usize, pre: Option<&PreOp>) -> Vec<f64> {
    let mut o = vec![0.0; x.len()];
    for i in 0..n {
        for ch in 0..c {
            for p in 0..hw {
                let k = (i * c + ch) * hw + p;
                o[k] = match pre {
                    Some(op) => {
                        let v = op.a[ch] as f64 * x[k] as f64 + op.b[ch] as f64;
                        if op.relu && v < 0.0 { 0.0 } else { v }
                    }
                    None => x[k] as f64,
                };
            }
        }
    }
    o
}

/// f64 direct convolution (NCHW) and its gradients.
struct Naive {
    g: ConvGeom,
    n: usize,
}

impl Naive {
    fn each(&self, mut f: impl FnMut(usize, usize, usize)) {
        // f(y index, x index, w index) for every product term
        let g = &self.g;
        let (ho, wo) = (g.ho(), g.wo());
        for i in 0..self.n {
            for co in 0..g.cout {
                for oh in 0..ho {
                    for ow in 0..wo {
                        for ci in 0..g.cin {
                            for kh in 0..g.k {
                                for kw in 0..g.k {
                                    let ih = (oh * g.stride + kh) as isize - g.pad as isize;
                                    let iw = (ow * g.stride + kw) as isize - g.pad as isize;
                                    if ih < 0 || iw < 0 || ih >= g.h as isize || iw >= g.w as isize
                                    {
                                        continue;
                                    }
                                    let yi = ((i * g.cout + co) * ho + oh) * wo + ow;
                                    let xi =
                                        ((i * g.cin + ci) * g.h + ih as usize) * g.w + iw as usize;
                                    let wi = ((co * g.cin + ci) * g.k + kh) * g.k + kw;
                                    f(yi, xi, wi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn forward(&self, x: &[f64], w: &[f32]) -> Vec<f64> {
        let mut y = vec![0.0; self.n * self.g.out_len()];
        self.each(|yi, xi, wi| y[yi] += x[xi] * w[wi] as f64);
        y
    }

    fn backward(&self, x: &[f64], w: &[f32], dy: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let mut dx = vec![0.0; self.n * self.g.in_len()];
        let mut dw = vec![0.0; self.g.weight_len()];
        self.each(|yi, xi, wi| {
            dx[xi] += dy[yi] as f64 * w[wi] as f64;
            dw[wi] += dy[yi] as f64 * x[xi];
        });
        (dx, dw)
    }
}

const GEOMS: &[(usize, usize, usize, usize, usize, usize, usize)] = &[
    // (cin, h, w, cout, k, stride, pad)
    (16, 8, 8, 16, 3, 1, 1),
    // 3 x 15 x 15 Winograd tiles: several tile blocks, the second starting mid-row (the input
    // transform reuses the left neighbour's columns only within a block's tile row).
    (16, 30, 30, 16, 3, 1, 1),
    // F(4x4): 7 x 7 tiles per image in blocks of 40, so blocks start mid-row and mid-image;
    // 26 is not a multiple of 4 (the last tile row and column hang over the edge).
    (16, 26, 26, 16, 3, 1, 1),
    (8, 7, 5, 24, 3, 1, 1),
    (5, 6, 7, 3, 3, 1, 1),
    (1, 9, 9, 16, 3, 1, 1),
    (40, 5, 5, 72, 3, 1, 1),
    (16, 8, 8, 32, 3, 2, 1),
    (16, 7, 7, 32, 1, 2, 0),
    (8, 6, 6, 8, 1, 1, 0),
    (3, 7, 6, 5, 5, 2, 2),
    (2, 5, 4, 3, 2, 1, 0),
];

#[test]
fn gemm_matches_a_naive_product_for_awkward_shapes_on_every_path() {
    // Shapes straddle every block size and partial vector; A is read both row-major and
    // transposed; C has a row stride wider than n.
    for isa in paths() {
        for &(m, n, k) in &[
            (1, 1, 1),
            (7, 8, 3),
            (9, 16, 16),
            (13, 24, 5),
            (6, 40, 9),
            (17, 64, 33),
            (5, 72, 2),
            (3, 130, 7),
            (4, 5, 0),
            // Every remainder of 4 lanes (SIMD128), 8 and 16 as well.
            (5, 7, 4),
            (11, 23, 6),
            (4, 27, 3),
        ] {
            for transposed in [false, true] {
                let (ars, acs) = if transposed { (1, m + 1) } else { (k + 2, 1) };
                let alen = m * ars + k * acs + 1;
                let a: Vec<f32> = (0..alen)
                    .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
                    .collect();
                let brs = n + 3;
                let b: Vec<f32> = (0..k * brs + n)
                    .map(|i| ((i * 53 % 97) as f32) / 48.0 - 1.0)
                    .collect();
                let crs = n + 1;
                for accumulate in [false, true] {
                    let mut c: Vec<f32> = (0..m * crs).map(|i| i as f32 * 0.01).collect();
                    let before = c.clone();
                    gemm::checked(
                        isa,
                        (m, n, k),
                        &a,
                        (ars, acs),
                        &b,
                        brs,
                        &mut c,
                        crs,
                        accumulate,
                    );
                    for i in 0..m {
                        for j in 0..crs {
                            let got = c[i * crs + j];
                            if j >= n {
                                assert_eq!(
                                    got,
                                    before[i * crs + j],
                                    "{isa}: padding column written"
                                );
                                continue;
                            }
                            let mut want = if accumulate {
                                before[i * crs + j] as f64
                            } else {
                                0.0
                            };
                            for p in 0..k {
                                want += a[i * ars + p * acs] as f64 * b[p * brs + j] as f64;
                            }
                            assert!(
                                (got as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
                                "{isa} m={m} n={n} k={k} t={transposed} acc={accumulate} ({i},{j}): {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn conv_algorithm_follows_the_products_each_tile_size_needs() {
    // (cin, h, w, k, stride, pad) -> algorithm. F(2x2) needs ceil(h/2)*ceil(w/2)*16 products
    // per channel pair, F(4x4) ceil(h/4)*ceil(w/4)*36; the smaller wins, a tie goes to F(2x2).
    let table = [
        ((16, 28, 28, 3, 1, 1), Algo::Winograd4), // 3136 vs 1764
        ((32, 14, 14, 3, 1, 1), Algo::Winograd4), // 784 vs 576
        ((64, 7, 7, 3, 1, 1), Algo::Winograd4),   // 256 vs 144
        ((64, 6, 6, 3, 1, 1), Algo::Winograd),    // 144 vs 144
        ((64, 5, 5, 3, 1, 1), Algo::Winograd),    // 144 vs 144
        ((64, 3, 3, 3, 1, 1), Algo::Winograd4),   // 64 vs 36
        ((64, 2, 2, 3, 1, 1), Algo::Winograd),    // 16 vs 36
        ((64, 1, 9, 3, 1, 1), Algo::Winograd),    // 80 vs 108
        ((3, 28, 28, 3, 1, 1), Algo::Im2col),     // too few input channels
        ((16, 28, 28, 3, 2, 1), Algo::Im2col),    // stride 2
        ((16, 28, 28, 1, 1, 0), Algo::Im2col),    // 1x1
    ];
    for ((cin, h, w, k, stride, pad), want) in table {
        let g = ConvGeom {
            cin,
            h,
            w,
            cout: 16,
            k,
            stride,
            pad,
        };
        assert_eq!(Algo::choose(&g), want, "{g:?}");
    }
}

#[test]
fn conv_forward_and_gradients_match_f64_on_every_path_and_algorithm() {
    let n = 3;
    let (mut worst, mut worst4) = ((0.0f64, 0.0f64), (0.0f64, 0.0f64));
    for isa in paths() {
        for (gi, &(cin, h, w, cout, k, stride, pad)) in GEOMS.iter().enumerate() {
            let g = ConvGeom {
                cin,
                h,
                w,
                cout,
                k,
                stride,
                pad,
            };
            let x = randn(n * g.in_len(), 10 + gi as u64);
            let wt = randn(g.weight_len(), 20 + gi as u64);
            let dy_nchw = randn(n * g.out_len(), 30 + gi as u64);
            // The net's input comes unpadded; every other tensor is padded.
            let cs = if cin == 1 { 1 } else { pad_channels(cin) };
            let xt = Tensor::from_nchw(&x, n, cin, h, w, cs);
            let dyt = Tensor::from_nchw(&dy_nchw, n, cout, g.ho(), g.wo(), pad_channels(cout));
            let pre = (gi % 2 == 0).then(|| random_pre(cin, cs, 40 + gi as u64, gi % 4 == 0));
            let xin = pre_nchw(&x, n, cin, h * w, pre.as_ref());
            let naive = Naive { g, n };
            let want_y = naive.forward(&xin, &wt);
            let (want_dx, want_dw) = naive.backward(&xin, &wt, &dy_nchw);
            let algos: &[Algo] = if Algo::winograd_fits(&g) {
                &[Algo::Winograd4, Algo::Winograd, Algo::Im2col]
            } else {
                &[Algo::Im2col]
            };
            for &algo in algos {
                let what = format!("{isa} {algo:?} {g:?}");
                // F(4x4)'s transforms carry factors up to 8 and fractions like 1/6: a few times
                // F(2x2)'s rounding error (its worst here is printed below).
                let tol = if algo == Algo::Winograd4 { 2e-5 } else { 2e-6 };
                let (y, st) = conv::forward_algo(isa, algo, &g, &xt, pre.as_ref(), &wt, true);
                assert_eq!((y.c, y.cs), (cout, pad_channels(cout)));
                for px in y.data.chunks(y.cs) {
                    assert!(
                        px[cout..].iter().all(|&v| v == 0.0),
                        "{what}: padding lanes"
                    );
                }
                let e = assert_close(&format!("{what} y"), &y.to_nchw(), &want_y, tol);
                let slot = if algo == Algo::Winograd4 {
                    &mut worst4
                } else {
                    &mut worst
                };
                slot.0 = slot.0.max(e);
                // Batch-norm statistics gathered in the output pass.
                let st = st.unwrap();
                let hw = g.ho() * g.wo();
                for co in 0..cout {
                    let vals: Vec<f64> = (0..n)
                        .flat_map(|i| (0..hw).map(move |p| (i, p)))
                        .map(|(i, p)| want_y[(i * cout + co) * hw + p])
                        .collect();
                    let m = vals.iter().sum::<f64>() / vals.len() as f64;
                    let v = vals.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / vals.len() as f64;
                    let sd = v.sqrt().max(1e-3);
                    assert!((st.mean[co] - m).abs() < 1e-5 * sd, "{what}: mean {co}");
                    assert!(
                        (st.var()[co] - v).abs() < 1e-5 * v.max(1e-6),
                        "{what}: var {co}"
                    );
                }
                let mut dw = vec![0.0; g.weight_len()];
                let dx =
                    conv::backward_algo(isa, algo, &g, &xt, pre.as_ref(), &wt, &dyt, true, &mut dw)
                        .unwrap();
                assert_eq!((dx.c, dx.cs), (cin, cs));
                let e1 = assert_close(&format!("{what} dx"), &dx.to_nchw(), &want_dx, tol);
                let e2 = assert_close(&format!("{what} dw"), &dw, &want_dw, tol);
                slot.1 = slot.1.max(e1.max(e2));
                // Without dx, the weight gradient is the same and adds onto what was there.
                let mut dw2 = vec![1.0; g.weight_len()];
                assert!(
                    conv::backward_algo(
                        isa,
                        algo,
                        &g,
                        &xt,
                        pre.as_ref(),
                        &wt,
                        &dyt,
                        false,
                        &mut dw2
                    )
                    .is_none()
                );
                for (a, b) in dw2.iter().zip(&dw) {
                    assert!(
                        (a - 1.0 - b).abs() < 1e-4 * (1.0 + b.abs()),
                        "{what}: dw accumulates"
                    );
                }
            }
        }
    }
    println!(
        "conv: worst relative error forward {:.2e}, gradients {:.2e}; F(4x4) {:.2e}, {:.2e}",
        worst.0, worst.1, worst4.0, worst4.1
    );
}

#[test]
fn conv_matches_the_reference_op_and_finite_differences() {
    // The reference (im2col + gemm on NCHW) and central differences, for the main shapes.
    let n = 2;
    for isa in paths() {
        // `conv::forward` picks the algorithm: F(2x2) for 6x6, F(4x4) for 7x7 (see the table
        // test above), im2col for the others.
        for &(cin, h, w, cout, k, stride, pad) in &[
            (8, 6, 6, 8, 3, 1, 1),
            (8, 7, 7, 8, 3, 1, 1),
            (8, 6, 5, 16, 3, 2, 1),
            (3, 5, 5, 8, 1, 1, 0),
        ] {
            let g = ConvGeom {
                cin,
                h,
                w,
                cout,
                k,
                stride,
                pad,
            };
            let x = randn(n * g.in_len(), 1);
            let wt = randn(g.weight_len(), 2);
            let r = randn(n * g.out_len(), 3);
            let cs = pad_channels(cin);
            let mut yref = vec![0.0; n * g.out_len()];
            reference::conv::forward(&g, n, &x, &wt, &mut yref);
            let mut dxref = vec![0.0; x.len()];
            let mut dwref = vec![0.0; wt.len()];
            reference::conv::backward(&g, n, &x, &wt, &r, Some(&mut dxref), &mut dwref);
            let to64 = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<_>>();
            let xt = Tensor::from_nchw(&x, n, cin, h, w, cs);
            let rt = Tensor::from_nchw(&r, n, cout, g.ho(), g.wo(), pad_channels(cout));
            let (y, _) = conv::forward(isa, &g, &xt, None, &wt, false);
            assert_close(
                &format!("{isa} {g:?} vs reference y"),
                &y.to_nchw(),
                &to64(&yref),
                1e-5,
            );
            let mut dw = vec![0.0; wt.len()];
            let dx = conv::backward(isa, &g, &xt, None, &wt, &rt, true, &mut dw).unwrap();
            assert_close(
                &format!("{isa} {g:?} vs reference dx"),
                &dx.to_nchw(),
                &to64(&dxref),
                1e-5,
            );
            assert_close(
                &format!("{isa} {g:?} vs reference dw"),
                &dw,
                &to64(&dwref),
                1e-5,
            );
            let f = |x: &[f32], wt: &[f32]| {
                let xt = Tensor::from_nchw(x, n, cin, h, w, cs);
                dot(
                    &conv::forward(isa, &g, &xt, None, wt, false).0.to_nchw(),
                    &r,
                )
            };
            fd_check(
                &format!("{isa} {g:?} dx"),
                &x,
                &dx.to_nchw(),
                1e-2,
                40,
                |v| f(v, &wt),
            );
            fd_check(&format!("{isa} {g:?} dw"), &wt, &dw, 1e-2, 40, |v| f(&x, v));
        }
    }
}

#[test]
fn batch_norm_statistics_forward_and_backward_match_the_reference() {
    let (n, c, h, w) = (3, 11, 4, 5);
    let hw = h * w;
    let cs = pad_channels(c);
    for isa in paths() {
        for (relu, seed) in [(false, 1u64), (true, 2)] {
            // An offset mean checks that the statistics do not cancel.
            let x: Vec<f32> = randn(n * c * hw, seed).iter().map(|v| 30.0 + v).collect();
            let gamma: Vec<f32> = randn(c, seed + 10).iter().map(|v| 1.0 + 0.3 * v).collect();
            let beta = randn(c, seed + 20);
            let r = randn(n * c * hw, seed + 30);
            let xt = Tensor::from_nchw(&x, n, c, h, w, cs);
            // Reference: NCHW batch norm.
            let mut xh = x.clone();
            let mut yref = vec![0.0; x.len()];
            let st_ref = reference::batchnorm::forward_train(
                n, c, hw, &mut xh, &gamma, &beta, 1e-5, relu, &mut yref, true,
            );
            let mut dref = r.clone();
            let (mut dgr, mut dbr) = (vec![0.0; c], vec![0.0; c]);
            reference::batchnorm::backward(
                n,
                c,
                hw,
                &xh,
                &st_ref.inv_std,
                &gamma,
                &beta,
                relu,
                &mut dref,
                &mut dgr,
                &mut dbr,
            );
            // Fast: statistics, lazy map, backward.
            let st = bn::stats(isa, &xt, None);
            for ch in 0..c {
                assert!(
                    (st.mean[ch] as f32 - st_ref.mean[ch]).abs() < 1e-5 * 30.0,
                    "{isa}: mean"
                );
                assert!(
                    (st.var()[ch] as f32 - st_ref.var[ch]).abs() < 1e-4 * st_ref.var[ch],
                    "{isa}: var {} vs {}",
                    st.var()[ch],
                    st_ref.var[ch]
                );
            }
            let saved = bn::train_op(&st, &gamma, &beta, 1e-5, relu, cs);
            let y = materialize(isa, &xt, Some(&saved.op));
            let to64 = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<_>>();
            assert_close(
                &format!("{isa} bn y relu={relu}"),
                &y.to_nchw(),
                &to64(&yref),
                1e-5,
            );
            let mut d = Tensor::from_nchw(&r, n, c, h, w, cs);
            let (mut dg, mut db) = (vec![0.0; c], vec![0.0; c]);
            bn::backward(isa, &xt, &saved, &gamma, &mut d, &mut dg, &mut db);
            assert_close(&format!("{isa} bn dx"), &d.to_nchw(), &to64(&dref), 1e-4);
            assert_close(&format!("{isa} bn dgamma"), &dg, &to64(&dgr), 1e-5);
            assert_close(&format!("{isa} bn dbeta"), &db, &to64(&dbr), 1e-5);
            for px in d.data.chunks(cs) {
                assert!(px[c..].iter().all(|&v| v == 0.0), "padding lanes of dx");
            }
            // Finite differences through statistics + map.
            let f = |x: &[f32], g: &[f32], b: &[f32]| {
                let xt = Tensor::from_nchw(x, n, c, h, w, cs);
                let st = bn::stats(isa, &xt, None);
                let s = bn::train_op(&st, g, b, 1e-5, relu, cs);
                dot(&materialize(isa, &xt, Some(&s.op)).to_nchw(), &r)
            };
            fd_check(
                &format!("{isa} bn dx relu={relu}"),
                &x,
                &d.to_nchw(),
                1e-2,
                40,
                |v| f(v, &gamma, &beta),
            );
            fd_check(&format!("{isa} bn dgamma"), &gamma, &dg, 1e-3, 11, |v| {
                f(&x, v, &beta)
            });
            fd_check(&format!("{isa} bn dbeta"), &beta, &db, 1e-3, 11, |v| {
                f(&x, &gamma, v)
            });
        }
    }
}

#[test]
fn residual_join_shortcuts_masks_pool_and_linear_match_the_reference() {
    let (n, c, h, w) = (3, 6, 5, 4);
    let hw = h * w;
    let cs = pad_channels(c);
    for isa in paths() {
        let b = randn(n * c * hw, 1);
        let s = randn(n * c * hw, 2);
        let bt = Tensor::from_nchw(&b, n, c, h, w, cs);
        let st = Tensor::from_nchw(&s, n, c, h, w, cs);
        let bpre = random_pre(c, cs, 3, false);
        let spre = random_pre(c, cs, 4, true);
        // scale * bpre(b) + spre(s), ReLU
        let out = eltwise::join(
            isa,
            &bt,
            Some(&bpre),
            0.5,
            eltwise::Shortcut::Same(&st, Some(&spre)),
            true,
        );
        let bp = pre_nchw(&b, n, c, hw, Some(&bpre));
        let sp = pre_nchw(&s, n, c, hw, Some(&spre));
        let want: Vec<f64> = bp
            .iter()
            .zip(&sp)
            .map(|(x, y)| (0.5 * x + y).max(0.0))
            .collect();
        assert_close(&format!("{isa} join"), &out.to_nchw(), &want, 1e-6);
        // Option A: stride 2, 6 -> 9 channels.
        let (ho, wo, co) = (3, 2, 9);
        let br = randn(n * co * ho * wo, 5);
        let brt = Tensor::from_nchw(&br, n, co, ho, wo, pad_channels(co));
        let out = eltwise::join(
            isa,
            &brt,
            None,
            1.0,
            eltwise::Shortcut::PadA(&st, None, 2),
            false,
        );
        let pg = reference::shortcut::PadGeom {
            cin: c,
            h,
            w,
            cout: co,
            stride: 2,
        };
        let mut sref = vec![0.0; n * co * ho * wo];
        reference::shortcut::forward(&pg, n, &s, &mut sref);
        let want: Vec<f64> = br.iter().zip(&sref).map(|(a, b)| (a + b) as f64).collect();
        assert_close(&format!("{isa} option A join"), &out.to_nchw(), &want, 1e-6);
        let mut dxref = vec![0.0; s.len()];
        reference::shortcut::backward_add(&pg, n, &br, &mut dxref);
        let mut dx = Tensor::zeros(n, h, w, c);
        eltwise::pad_a_backward_add(isa, &brt, &mut dx, 2);
        assert_close(
            &format!("{isa} option A backward"),
            &dx.to_nchw(),
            &dxref.iter().map(|&v| v as f64).collect::<Vec<_>>(),
            1e-6,
        );
        // ReLU mask.
        let mut d = Tensor::from_nchw(&s, n, c, h, w, cs);
        eltwise::relu_mask(isa, &bt, &mut d);
        let mut dref = s.clone();
        reference::relu::backward(&b, &mut dref);
        assert_eq!(d.to_nchw(), dref, "{isa} relu mask");
        // Pooling.
        let pooled = eltwise::pool_forward(isa, &bt, None);
        let mut pref = vec![0.0; n * c];
        reference::pool::forward(n, c, hw, &b, &mut pref);
        assert_close(
            &format!("{isa} pool"),
            &pooled,
            &pref.iter().map(|&v| v as f64).collect::<Vec<_>>(),
            1e-6,
        );
        let dp = randn(n * c, 6);
        let mut dpref = vec![0.0; b.len()];
        reference::pool::backward(n, c, hw, &dp, &mut dpref);
        assert_eq!(
            eltwise::pool_backward(&dp, n, h, w, c).to_nchw(),
            dpref,
            "{isa} pool backward"
        );
        // Moments of the probe.
        let (m, sd) = eltwise::moments(isa, &bt, Some(&spre));
        let vals = pre_nchw(&b, n, c, hw, Some(&spre));
        let mm = vals.iter().sum::<f64>() / vals.len() as f64;
        let vv = vals.iter().map(|v| (v - mm) * (v - mm)).sum::<f64>() / vals.len() as f64;
        assert!(
            (m as f64 - mm).abs() < 1e-5 && (sd as f64 - vv.sqrt()).abs() < 1e-5,
            "{isa} moments"
        );
        // Linear.
        let (inp, outn) = (13, 10);
        let x = randn(n * inp, 7);
        let wl = randn(outn * inp, 8);
        let bl = randn(outn, 9);
        let mut y = vec![0.0; n * outn];
        let mut yr = vec![0.0; n * outn];
        linear::forward(isa, n, inp, outn, &x, &wl, &bl, &mut y);
        reference::linear::forward(n, inp, outn, &x, &wl, &bl, &mut yr);
        let to64 = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<_>>();
        assert_close(&format!("{isa} linear"), &y, &to64(&yr), 1e-5);
        let dy = randn(n * outn, 10);
        let (mut dx, mut dw, mut db) = (vec![0.0; n * inp], vec![0.0; outn * inp], vec![0.0; outn]);
        let (mut dxr, mut dwr, mut dbr) =
            (vec![0.0; n * inp], vec![0.0; outn * inp], vec![0.0; outn]);
        linear::backward(
            isa,
            n,
            inp,
            outn,
            &x,
            &wl,
            &dy,
            Some(&mut dx),
            &mut dw,
            &mut db,
        );
        reference::linear::backward(
            n,
            inp,
            outn,
            &x,
            &wl,
            &dy,
            Some(&mut dxr),
            &mut dwr,
            &mut dbr,
        );
        assert_close(&format!("{isa} linear dx"), &dx, &to64(&dxr), 1e-5);
        assert_close(&format!("{isa} linear dw"), &dw, &to64(&dwr), 1e-5);
        assert_close(&format!("{isa} linear db"), &db, &to64(&dbr), 1e-5);
    }
}

#[test]
fn the_dispatch_lists_every_path_and_simd128_only_in_wasm_builds() {
    assert_eq!(
        Isa::ALL.map(Isa::name),
        ["avx512", "avx2", "simd128", "portable"]
    );
    for isa in Isa::ALL {
        assert_eq!(Isa::parse(isa.name()), Some(isa));
        assert!(isa.lanes().is_power_of_two() && isa.lanes() <= 16, "{isa}");
    }
    assert_eq!(Isa::Simd128.lanes(), 4);
    let all = simd::available();
    assert_eq!(all.first(), Some(&simd::detect()), "best path first");
    assert_eq!(all.last(), Some(&Isa::Portable), "portable is always there");
    let wasm_simd = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));
    assert_eq!(all.contains(&Isa::Simd128), wasm_simd, "{all:?}");
    if cfg!(target_arch = "wasm32") {
        assert!(
            !all.contains(&Isa::Avx2) && !all.contains(&Isa::Avx512),
            "{all:?}"
        );
    }
    // Every listed path runs a kernel (a product through the dispatcher).
    for &isa in &all {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.5, -1.0, 2.0, 0.0, 1.0];
        let mut c = [0.0; 4];
        gemm::checked(isa, (2, 2, 3), &a, (3, 1), &b, 2, &mut c, 2, false);
        assert_eq!(c, [-1.0, 7.5, -1.0, 18.0], "{isa}");
    }
    // A path this build lacks falls back to the next one down that it has.
    let (isa, note) = simd::resolve(Some("simd128"));
    if wasm_simd {
        assert_eq!((isa, note), (Isa::Simd128, None));
    } else {
        assert_eq!(isa, Isa::Portable);
        assert!(note.unwrap().contains("lacks simd128"));
    }
    let (_, note) = simd::resolve(Some("neon"));
    assert!(note.unwrap().contains("avx512, avx2, simd128, portable"));
}

#[test]
fn forcing_a_path_falls_back_with_a_note() {
    let (isa, note) = simd::resolve(Some("portable"));
    assert_eq!((isa, note), (Isa::Portable, None));
    let (isa, note) = simd::resolve(Some("avx9000"));
    assert_eq!(isa, simd::detect());
    assert!(note.unwrap().contains("not one of"));
    let (isa, note) = simd::resolve(Some("avx512"));
    if Isa::Avx512.supported() {
        assert_eq!((isa, note), (Isa::Avx512, None));
    } else {
        assert_ne!(isa, Isa::Avx512);
        assert!(note.unwrap().contains("lacks"));
    }
}
