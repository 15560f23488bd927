//! Every hand-written backward pass against central finite differences (also under wasm32 in
//! Node, through tests/wasm_kernels.rs).
use resnet_lab::nn::ops::loss;
use resnet_lab::nn::ops::reference::{batchnorm, conv, linear, pool, relu, shortcut};
use resnet_lab::nn::presets;
use resnet_lab::nn::{BlockSpec, LayerSpec, Model, ModelOptions, NetSpec, Shape, Shortcut};
use resnet_lab::rng::Rng64;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn randn(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng64::new(seed);
    (0..n).map(|_| r.normal()).collect()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// Compares `analytic` with central differences of `f` around `x`, on up to `probes` entries.
fn check(
    what: &str,
    x: &[f32],
    analytic: &[f32],
    eps: f32,
    probes: usize,
    mut f: impl FnMut(&[f32]) -> f64,
) {
    assert_eq!(
        x.len(),
        analytic.len(),
        "{what}: gradient has the wrong length"
    );
    let step = (x.len() / probes).max(1);
    let mut xs = x.to_vec();
    let mut bad = Vec::new();
    let mut checked = 0;
    for i in (0..x.len()).step_by(step) {
        let orig = xs[i];
        xs[i] = orig + eps;
        let up = f(&xs);
        xs[i] = orig - eps;
        let down = f(&xs);
        xs[i] = orig;
        let num = ((up - down) / (2.0 * eps as f64)) as f32;
        let ana = analytic[i];
        checked += 1;
        if (num - ana).abs() > 2e-2 * num.abs().max(ana.abs()) + 3e-3 {
            bad.push((i, num, ana));
        }
    }
    // ReLU kinks can make a rare probe straddle a corner; anything more is a real bug.
    assert!(
        bad.len() * 50 <= checked,
        "{what}: {} of {checked} entries disagree (index, numeric, analytic): {:?}",
        bad.len(),
        &bad[..bad.len().min(8)]
    );
}

#[test]
fn conv_gradients_match_finite_differences() {
    let geoms = [
        (2, 5, 5, 3, 3, 1, 1),
        (2, 6, 6, 4, 3, 2, 1),
        (3, 4, 4, 2, 1, 1, 0),
        (3, 5, 5, 2, 1, 2, 0),
        (2, 7, 6, 3, 5, 2, 2),
        (1, 5, 4, 2, 2, 1, 0),
        (2, 4, 4, 2, 3, 3, 2),
    ];
    for (gi, &(cin, h, w, cout, k, stride, pad)) in geoms.iter().enumerate() {
        let g = conv::ConvGeom {
            cin,
            h,
            w,
            cout,
            k,
            stride,
            pad,
        };
        let n = 3;
        let x = randn(n * g.in_len(), 1 + gi as u64);
        let wt = randn(g.weight_len(), 100 + gi as u64);
        let r = randn(n * g.out_len(), 200 + gi as u64);
        let fwd = |x: &[f32], wt: &[f32]| {
            let mut y = vec![0.0; n * g.out_len()];
            conv::forward(&g, n, x, wt, &mut y);
            dot(&y, &r)
        };
        let mut dx = vec![0.0; x.len()];
        let mut dw = vec![0.0; wt.len()];
        conv::backward(&g, n, &x, &wt, &r, Some(&mut dx), &mut dw);
        check(&format!("conv {g:?} dx"), &x, &dx, 1e-2, 80, |x| {
            fwd(x, &wt)
        });
        check(&format!("conv {g:?} dw"), &wt, &dw, 1e-2, 80, |w| {
            fwd(&x, w)
        });
    }
}

#[test]
fn conv_forward_matches_a_direct_loop() {
    let g = conv::ConvGeom {
        cin: 2,
        h: 5,
        w: 4,
        cout: 3,
        k: 3,
        stride: 2,
        pad: 1,
    };
    let x = randn(g.in_len(), 5);
    let w = randn(g.weight_len(), 6);
    let mut y = vec![0.0; g.out_len()];
    conv::forward(&g, 1, &x, &w, &mut y);
    for co in 0..3 {
        for oh in 0..g.ho() {
            for ow in 0..g.wo() {
                let mut s = 0.0;
                for ci in 0..2 {
                    for ki in 0..3 {
                        for kj in 0..3 {
                            let ih = (oh * 2 + ki) as isize - 1;
                            let iw = (ow * 2 + kj) as isize - 1;
                            if ih >= 0 && iw >= 0 && ih < 5 && iw < 4 {
                                s += x[(ci * 5 + ih as usize) * 4 + iw as usize]
                                    * w[((co * 2 + ci) * 3 + ki) * 3 + kj];
                            }
                        }
                    }
                }
                let got = y[(co * g.ho() + oh) * g.wo() + ow];
                assert!((got - s).abs() < 1e-4, "({co},{oh},{ow}): {got} vs {s}");
            }
        }
    }
}

#[test]
fn batchnorm_gradients_match_finite_differences() {
    for (relu, seed) in [(false, 1u64), (true, 2)] {
        let (n, c, hw) = (4, 3, 5);
        let x = randn(n * c * hw, seed);
        let gamma: Vec<f32> = randn(c, seed + 10).iter().map(|v| 1.0 + 0.3 * v).collect();
        let beta = randn(c, seed + 20);
        let r = randn(n * c * hw, seed + 30);
        let fwd = |x: &[f32], g: &[f32], b: &[f32]| {
            let mut xx = x.to_vec();
            let mut y = vec![0.0; x.len()];
            batchnorm::forward_train(n, c, hw, &mut xx, g, b, 1e-5, relu, &mut y, false);
            dot(&y, &r)
        };
        let mut xh = x.clone();
        let mut y = vec![0.0; x.len()];
        let st =
            batchnorm::forward_train(n, c, hw, &mut xh, &gamma, &beta, 1e-5, relu, &mut y, true);
        let mut d = r.clone();
        let (mut dg, mut db) = (vec![0.0; c], vec![0.0; c]);
        batchnorm::backward(
            n,
            c,
            hw,
            &xh,
            &st.inv_std,
            &gamma,
            &beta,
            relu,
            &mut d,
            &mut dg,
            &mut db,
        );
        check(&format!("bn relu={relu} dx"), &x, &d, 1e-3, 60, |x| {
            fwd(x, &gamma, &beta)
        });
        check(
            &format!("bn relu={relu} dgamma"),
            &gamma,
            &dg,
            1e-3,
            10,
            |g| fwd(&x, g, &beta),
        );
        check(
            &format!("bn relu={relu} dbeta"),
            &beta,
            &db,
            1e-3,
            10,
            |b| fwd(&x, &gamma, b),
        );
        // The probe's output statistics describe y.
        let m = y.iter().sum::<f32>() / y.len() as f32;
        assert!((st.out_mean - m).abs() < 1e-4);
    }
}

#[test]
fn batchnorm_eval_uses_running_statistics() {
    let x = vec![1.0, 2.0, 3.0, 4.0];
    let mut y = vec![0.0; 4];
    batchnorm::forward_eval(
        2,
        1,
        2,
        &x,
        &[2.0],
        &[1.0],
        &[2.0],
        &[4.0],
        0.0,
        false,
        &mut y,
    );
    assert_eq!(y, vec![0.0, 1.0, 2.0, 3.0]);
}

#[test]
fn zero_pad_shortcut_gradients_and_values() {
    let g = shortcut::PadGeom {
        cin: 2,
        h: 5,
        w: 4,
        cout: 3,
        stride: 2,
    };
    let n = 2;
    let ol = g.cout * g.ho() * g.wo();
    assert_eq!((g.ho(), g.wo()), (3, 2));
    let x = randn(n * 2 * 5 * 4, 3);
    let r = randn(n * ol, 4);
    let mut y = vec![0.0; n * ol];
    shortcut::forward(&g, n, &x, &mut y);
    assert_eq!(y[0], x[0]);
    assert_eq!(y[1], x[2]); // (oh 0, ow 1) reads column 2
    assert!(
        y[2 * 6..3 * 6].iter().all(|&v| v == 0.0),
        "extra channel is zero"
    );
    let mut dx = vec![0.0; x.len()];
    shortcut::backward_add(&g, n, &r, &mut dx);
    check("zero-pad dx", &x, &dx, 1e-2, 80, |x| {
        let mut y = vec![0.0; n * ol];
        shortcut::forward(&g, n, x, &mut y);
        dot(&y, &r)
    });
}

#[test]
fn pool_linear_relu_add_and_loss_gradients() {
    let (n, c, hw) = (3, 4, 6);
    let x = randn(n * c * hw, 7);
    let r = randn(n * c, 8);
    let mut dx = vec![0.0; x.len()];
    pool::backward(n, c, hw, &r, &mut dx);
    check("pool", &x, &dx, 1e-2, 50, |x| {
        let mut y = vec![0.0; n * c];
        pool::forward(n, c, hw, x, &mut y);
        dot(&y, &r)
    });

    let (inp, out) = (5, 3);
    let x = randn(n * inp, 9);
    let w = randn(out * inp, 10);
    let b = randn(out, 11);
    let r = randn(n * out, 12);
    let fwd = |x: &[f32], w: &[f32], b: &[f32]| {
        let mut y = vec![0.0; n * out];
        linear::forward(n, inp, out, x, w, b, &mut y);
        dot(&y, &r)
    };
    let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; out]);
    linear::backward(n, inp, out, &x, &w, &r, Some(&mut dx), &mut dw, &mut db);
    check("linear dx", &x, &dx, 1e-2, 50, |x| fwd(x, &w, &b));
    check("linear dw", &w, &dw, 1e-2, 50, |w| fwd(&x, w, &b));
    check("linear db", &b, &db, 1e-2, 50, |b| fwd(&x, &w, b));

    let x = randn(40, 13);
    let r = randn(40, 14);
    let mut y = x.clone();
    relu::forward(&mut y);
    let mut d = r.clone();
    relu::backward(&y, &mut d);
    check("relu", &x, &d, 1e-3, 40, |x| {
        let mut y = x.to_vec();
        relu::forward(&mut y);
        dot(&y, &r)
    });

    let s = randn(40, 15);
    let fwd_add = |b: &[f32], s: &[f32]| {
        let mut o = b.to_vec();
        relu::add_forward(&mut o, s, 0.3, true);
        dot(&o, &r)
    };
    let mut o = x.clone();
    relu::add_forward(&mut o, &s, 0.3, true);
    let mut d = r.clone();
    relu::backward(&o, &mut d);
    let db: Vec<f32> = d.iter().map(|v| v * 0.3).collect();
    check("add branch", &x, &db, 1e-3, 40, |b| fwd_add(b, &s));
    check("add shortcut", &s, &d, 1e-3, 40, |s| fwd_add(&x, s));

    let (n, k) = (4, 5);
    let logits = randn(n * k, 16);
    let labels = vec![0, 3, 4, 1];
    let (l, g, _) = loss::cross_entropy(n, k, &logits, &labels);
    assert!(l > 0.0);
    check("cross-entropy", &logits, &g, 1e-2, 20, |z| {
        loss::cross_entropy(n, k, z, &labels).0 as f64
    });
}

fn small_residual_net() -> NetSpec {
    let bn_body = |ch: usize, stride: usize| {
        vec![
            LayerSpec::Conv {
                out: ch,
                k: 3,
                stride,
                pad: 1,
            },
            LayerSpec::BatchNorm,
            LayerSpec::ReLU,
            LayerSpec::Conv {
                out: ch,
                k: 3,
                stride: 1,
                pad: 1,
            },
            LayerSpec::BatchNorm,
        ]
    };
    let block = |ch, stride, shortcut, scale| {
        LayerSpec::Block(BlockSpec {
            name: String::new(),
            body: bn_body(ch, stride),
            shortcut,
            residual_scale: scale,
        })
    };
    NetSpec {
        name: "tiny".into(),
        layers: vec![
            LayerSpec::Conv {
                out: 3,
                k: 3,
                stride: 1,
                pad: 1,
            },
            LayerSpec::BatchNorm,
            LayerSpec::ReLU,
            block(3, 1, Shortcut::Identity, 1.0),
            LayerSpec::ReLU,
            block(4, 2, Shortcut::Projection, 0.5),
            LayerSpec::ReLU,
            block(6, 2, Shortcut::ZeroPadA, 1.0),
            LayerSpec::ReLU,
            block(6, 1, Shortcut::None, 1.0),
            LayerSpec::GlobalAvgPool,
            LayerSpec::Linear { out: 3 },
        ],
    }
}

#[test]
fn whole_residual_net_gradients_match_finite_differences() {
    // On every SIMD path this CPU has (CI also runs this file with RESNET_LAB_SIMD forced).
    for isa in resnet_lab::nn::ops::simd::paths_under_test() {
        whole_net_check(isa);
    }
}

fn whole_net_check(isa: resnet_lab::nn::ops::simd::Isa) {
    let spec = small_residual_net();
    let input = Shape::new(2, 8, 8);
    let n = 6;
    let x = randn(n * input.len(), 21);
    let labels = vec![0, 1, 2, 1, 0, 2];
    let mut model = Model::new(&spec, input, 3, ModelOptions::default()).unwrap();
    model.set_simd(isa);
    let logits = model.forward(x.clone(), n, true);
    let (_, dlogits, _) = loss::cross_entropy(n, 3, &logits, &labels);
    model.zero_grad();
    model.backward(dlogits);
    let mut params: Vec<(String, Vec<f32>, Vec<f32>)> = Vec::new();
    model.visit_params(&mut |p| params.push((p.name.clone(), p.value.clone(), p.grad.clone())));
    assert!(
        params.iter().any(|p| p.0.contains("proj")),
        "projection weights are parameters"
    );
    for (pi, (name, value, grad)) in params.iter().enumerate() {
        check(
            &format!("{isa} net param {name}"),
            value,
            grad,
            3e-4,
            12,
            |v| {
                let mut i = 0;
                model.visit_params(&mut |p| {
                    if i == pi {
                        p.value.copy_from_slice(v);
                    }
                    i += 1;
                });
                let logits = model.forward(x.clone(), n, true);
                let l = loss::cross_entropy(n, 3, &logits, &labels).0 as f64;
                let mut i = 0;
                model.visit_params(&mut |p| {
                    if i == pi {
                        p.value.copy_from_slice(value);
                    }
                    i += 1;
                });
                l
            },
        );
    }
}

#[test]
fn paper_preset_net_trains_loss_down_on_a_fixed_batch() {
    let spec = presets::cifar(8, true, presets::ShortcutOption::A, 4, 3).unwrap();
    let input = Shape::new(1, 8, 8);
    let mut model = Model::new(&spec, input, 0, ModelOptions::default()).unwrap();
    let n = 12;
    let x = randn(n * 64, 31);
    let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let mut opt = resnet_lab::nn::Optimizer::new(Default::default());
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..40 {
        let logits = model.forward(x.clone(), n, true);
        let (l, d, _) = loss::cross_entropy(n, 3, &logits, &labels);
        first.get_or_insert(l);
        last = l;
        model.zero_grad();
        model.backward(d);
        opt.step(&mut model, 0.05);
    }
    assert!(last < first.unwrap() * 0.5, "loss {first:?} -> {last}");
}
