//! Training is bit-identical across refactors of the loop: the step losses, errors, gradient
//! norms, activation probes and test errors of fixed-seed runs hash to the values recorded
//! before the loop became `trainer::Trainer` (one step that `trainer::run`, `bench` and
//! `dev-step` share). The hash covers every bit of every float, so any change of operation
//! order shows. The runs use one thread, so the sums add up in one order on every machine.
use resnet_lab::data;
use resnet_lab::identity::Preset;
use resnet_lab::train::{Hyper, NetEntry, RunHistory, trainer};

fn fnv(h: &mut u64, bits: u64) {
    for b in bits.to_le_bytes() {
        *h ^= b as u64;
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

fn digest(h: &RunHistory) -> u64 {
    let mut d = 0xcbf2_9ce4_8422_2325u64;
    let mut add = |v: &[f32]| {
        for x in v {
            fnv(&mut d, x.to_bits() as u64);
        }
    };
    add(&h.step_loss);
    add(&h.step_err);
    add(&h.step_lr);
    add(&h.grad_norms_init);
    for s in h.grad_flow.iter().chain(&h.activation_std) {
        add(&[s.step as f32]);
        add(&s.values);
    }
    for e in &h.epochs {
        add(&[e.train_err, e.loss, e.test_err, e.test_loss]);
    }
    d
}

fn run(preset: Preset, zero_init: bool) -> RunHistory {
    let ds = data::builtin_sized(3, 120, 30).convert(12, 12, 1);
    let spec = preset.spec(ds.classes.len()).unwrap();
    let net = NetEntry::new(spec);
    let mut hyper = Hyper {
        epochs: 2,
        batch: 16,
        max_steps: Some(40),
        seed: 11,
        threads: 1,
        probe_every: 7,
        warmup_steps: 5,
        ..Hyper::default()
    };
    hyper.model.zero_init_residual = zero_init;
    let mut h = RunHistory::new(&net, &hyper);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        trainer::run(
            &net,
            &hyper,
            &ds,
            &mut |_| trainer::Control::Continue,
            &mut |e| h.apply(&e),
        )
    });
    assert_eq!(h.status, resnet_lab::train::RunStatus::Finished);
    h
}

#[test]
fn fixed_seed_runs_are_bit_identical_to_the_recorded_ones() {
    let got = [
        digest(&run(Preset::new(false, 8).with_width(4), false)),
        digest(&run(Preset::new(true, 8).with_width(4), false)),
        digest(&run(Preset::new(true, 14).with_width(4), true)),
    ];
    println!("digests: {got:#x?}");
    // The AVX2 and AVX-512 kernels round alike (fused multiply-adds in the same order); the
    // portable path rounds each product.
    use resnet_lab::nn::ops::simd::{self, Isa};
    let want = match simd::active() {
        Isa::Portable => [0x1188c410a18d65ff, 0x5ee0d6eb64965fa3, 0xc56b608dbe260055],
        _ => [0x8a5ae55019b17905, 0x0aa5de9ef7bd1da9, 0xbd3480ecebdaabef],
    };
    assert_eq!(got, want, "training changed: {got:#x?}");
}
