//! The built-in data set: ten classes of drawn shapes and strokes, generated from a seed.
//!
//! It exists so a learner can train in the first minute, with no file and no download. The
//! classes are easy for a convolutional network yet hard for a linear one: every shape moves,
//! scales, turns and thickens at random, so no fixed pixel template matches a class, and the
//! shapes share strokes (a cross is two diagonal lines; an arc is half a circle).
//!
//! Each image draws from its own stream `Rng64::derive(seed, index)`, so the bytes depend on
//! the seed alone, not on how many threads drew them.

use rayon::prelude::*;
use std::f32::consts::{PI, TAU};
use std::sync::atomic::Ordering;

use super::dataset::{Dataset, Split, channel_stats};
use super::{DataError, Progress};
use crate::rng::Rng64;

pub const NAME: &str = "built-in shapes";
pub const SIDE: usize = 28;
pub const CLASSES: [&str; 10] = [
    "circle",
    "disk",
    "square",
    "triangle",
    "cross",
    "plus",
    "horizontal line",
    "vertical line",
    "diagonal line",
    "arc",
];
/// Test images draw from streams far from the training ones, so no test image repeats a
/// training image.
const TEST_STREAM: u64 = 1 << 40;

/// The default: 10,000 training and 2,000 test images, 28x28 grey.
pub fn builtin(seed: u64) -> Dataset {
    builtin_sized(seed, 10_000, 2_000)
}

/// A built-in set of any size, for tests and quick lessons. Classes are balanced: sample `i`
/// has label `i % 10`.
pub fn builtin_sized(seed: u64, train: usize, test: usize) -> Dataset {
    let progress = Progress::default();
    match generate(seed, train, test, &progress) {
        Ok(ds) => ds,
        // Nobody else holds this Progress, so it cannot have been cancelled.
        Err(_) => empty(),
    }
}

fn empty() -> Dataset {
    Dataset {
        name: NAME.into(),
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        channels: 1,
        height: SIDE,
        width: SIDE,
        train: Split::default(),
        test: Split::default(),
        mean: vec![0.0],
        std: vec![1.0],
        warnings: vec![],
    }
}

/// Generates with progress and cancellation, for `load`.
pub(crate) fn generate(
    seed: u64,
    train: usize,
    test: usize,
    progress: &Progress,
) -> Result<Dataset, DataError> {
    progress.total.store(train + test, Ordering::Relaxed);
    progress.done.store(0, Ordering::Relaxed);
    let train = draw_split(seed, 0, train, progress)?;
    let test = draw_split(seed, TEST_STREAM, test, progress)?;
    let (mean, std) = channel_stats(&train.images, 1, SIDE * SIDE);
    Ok(Dataset {
        train,
        test,
        mean,
        std,
        ..empty()
    })
}

fn draw_split(seed: u64, base: u64, n: usize, progress: &Progress) -> Result<Split, DataError> {
    const CHUNK: usize = 512;
    let px = SIDE * SIDE;
    let mut images = vec![0u8; n * px];
    for (ci, chunk) in images.chunks_mut(CHUNK * px).enumerate() {
        if progress.cancel.load(Ordering::Relaxed) {
            return Err(DataError::Cancelled);
        }
        chunk.par_chunks_mut(px).enumerate().for_each(|(k, img)| {
            let i = ci * CHUNK + k;
            let mut rng = Rng64::derive(seed, base + i as u64);
            draw(i % CLASSES.len(), &mut rng, img);
        });
        progress.done.fetch_add(chunk.len() / px, Ordering::Relaxed);
    }
    let labels = (0..n).map(|i| (i % CLASSES.len()) as u16).collect();
    Ok(Split { images, labels })
}

/// What a class is made of, in pixel coordinates.
enum Part {
    Segment([f32; 2], [f32; 2]),
    /// Centre, radius, start angle, span (radians); a span of TAU is a full circle.
    Arc([f32; 2], f32, f32, f32),
    Disk([f32; 2], f32),
}

fn draw(class: usize, rng: &mut Rng64, img: &mut [u8]) {
    let thick = rng.range_f32(1.0, 2.8);
    let ink = rng.range_f32(0.6, 1.0);
    let noise = rng.range_f32(0.0, 0.25);
    let (parts, reach) = shape(class, rng);
    // Anywhere the whole shape still fits, with a pixel of margin.
    let room = (SIDE as f32 / 2.0 - reach - thick / 2.0 - 1.0).max(0.0);
    let c = [
        SIDE as f32 / 2.0 + rng.range_f32(-room, room),
        SIDE as f32 / 2.0 + rng.range_f32(-room, room),
    ];
    let parts: Vec<Part> = parts.into_iter().map(|p| shift(p, c)).collect();
    for y in 0..SIDE {
        for x in 0..SIDE {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            let d = parts
                .iter()
                .map(|part| distance(part, p))
                .fold(f32::INFINITY, f32::min);
            // Linear fall-off over one pixel at the stroke's edge: cheap anti-aliasing.
            let cover = (thick / 2.0 + 0.5 - d).clamp(0.0, 1.0);
            let r = rng.next_u64();
            let tri = ((r & 0xFFFF) as f32 + ((r >> 16) & 0xFFFF) as f32) / 65535.0 - 1.0;
            let v = (ink * cover + noise * tri).clamp(0.0, 1.0);
            img[y * SIDE + x] = (v * 255.0).round() as u8;
        }
    }
    // A few stray specks, so a lone bright pixel never identifies a class.
    for _ in 0..rng.below(5) {
        let i = rng.below(SIDE * SIDE);
        img[i] = img[i].max((rng.range_f32(0.3, 0.9) * 255.0) as u8);
    }
}

/// The parts of one class around the origin, and how far they reach from it.
fn shape(class: usize, rng: &mut Rng64) -> (Vec<Part>, f32) {
    let at = |r: f32, a: f32| [r * a.cos(), r * a.sin()];
    let line = |half: f32, a: f32| Part::Segment(at(half, a + PI), at(half, a));
    let jitter = |rng: &mut Rng64, deg: f32| rng.range_f32(-deg, deg).to_radians();
    let o = [0.0, 0.0];
    match class {
        0 => {
            let r = rng.range_f32(5.5, 10.5);
            (vec![Part::Arc(o, r, 0.0, TAU)], r)
        }
        1 => {
            let r = rng.range_f32(3.0, 7.5);
            (vec![Part::Disk(o, r)], r)
        }
        2 | 3 => {
            let sides = if class == 2 { 4 } else { 3 };
            let r = rng.range_f32(6.0, 11.0);
            let a0 = rng.range_f32(0.0, TAU);
            let corners: Vec<[f32; 2]> = (0..sides)
                .map(|k| at(r, a0 + TAU * k as f32 / sides as f32))
                .collect();
            let parts = (0..sides)
                .map(|k| Part::Segment(corners[k], corners[(k + 1) % sides]))
                .collect();
            (parts, r)
        }
        4 | 5 => {
            let half = rng.range_f32(5.0, 11.0);
            let a = if class == 4 { PI / 4.0 } else { 0.0 } + jitter(rng, 15.0);
            (vec![line(half, a), line(half, a + PI / 2.0)], half)
        }
        6..=8 => {
            let half = rng.range_f32(5.0, 11.5);
            let a = match class {
                6 => 0.0,
                7 => PI / 2.0,
                _ => {
                    if rng.below(2) == 0 {
                        PI / 4.0
                    } else {
                        -PI / 4.0
                    }
                }
            } + jitter(rng, 18.0);
            (vec![line(half, a)], half)
        }
        _ => {
            let r = rng.range_f32(6.0, 11.0);
            let a0 = rng.range_f32(0.0, TAU);
            let span = rng.range_f32(0.45, 0.6) * TAU;
            (vec![Part::Arc(o, r, a0, span)], r)
        }
    }
}

fn shift(p: Part, c: [f32; 2]) -> Part {
    let m = |q: [f32; 2]| [q[0] + c[0], q[1] + c[1]];
    match p {
        Part::Segment(a, b) => Part::Segment(m(a), m(b)),
        Part::Arc(o, r, a0, span) => Part::Arc(m(o), r, a0, span),
        Part::Disk(o, r) => Part::Disk(m(o), r),
    }
}

fn distance(part: &Part, p: [f32; 2]) -> f32 {
    let len = |v: [f32; 2]| (v[0] * v[0] + v[1] * v[1]).sqrt();
    match *part {
        Part::Segment(a, b) => {
            let ab = [b[0] - a[0], b[1] - a[1]];
            let ap = [p[0] - a[0], p[1] - a[1]];
            let l2 = ab[0] * ab[0] + ab[1] * ab[1];
            let t = if l2 > 0.0 {
                ((ap[0] * ab[0] + ap[1] * ab[1]) / l2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            len([ap[0] - t * ab[0], ap[1] - t * ab[1]])
        }
        Part::Disk(o, r) => (len([p[0] - o[0], p[1] - o[1]]) - r).max(0.0),
        Part::Arc(o, r, a0, span) => {
            let v = [p[0] - o[0], p[1] - o[1]];
            let rel = (v[1].atan2(v[0]) - a0).rem_euclid(TAU);
            if rel <= span {
                (len(v) - r).abs()
            } else {
                let e0 = [o[0] + r * a0.cos(), o[1] + r * a0.sin()];
                let e1 = [o[0] + r * (a0 + span).cos(), o[1] + r * (a0 + span).sin()];
                len([p[0] - e0[0], p[1] - e0[1]]).min(len([p[0] - e1[0], p[1] - e1[1]]))
            }
        }
    }
}
