//! Parsers for the command line's numbers: absurd values are refused while the flags are read,
//! before any data is loaded, and clap's message names the flag
//! ("invalid value '0' for '--width <WIDTH>': the width must be between 1 and 1024").
//!
//! The bounds are what this app can train, not what is wise: a wise choice is the learner's.
use crate::data::MAX_TARGET_SIDE;
use crate::nn::presets::valid_cifar_depth;

/// Deepest preset the CLI builds: the paper's ResNet-1202.
pub const MAX_DEPTH: usize = 1202;
/// Widest first stage: the last stage has 4x as many channels, and a conv at most 4096.
pub const MAX_WIDTH: usize = 1024;

fn int_in(s: &str, lo: u64, hi: u64, what: &str) -> Result<u64, String> {
    let t = s.trim();
    let v: u64 = t.parse().map_err(|_| {
        if t.starts_with('-') {
            format!("{what} must be between {lo} and {hi}, not negative")
        } else {
            format!("{what} must be a whole number between {lo} and {hi}")
        }
    })?;
    if v < lo || v > hi {
        return Err(format!("{what} must be between {lo} and {hi}"));
    }
    Ok(v)
}

fn usize_in(s: &str, lo: usize, hi: usize, what: &str) -> Result<usize, String> {
    int_in(s, lo as u64, hi as u64, what).map(|v| v as usize)
}

fn float_in(s: &str, what: &str, ok: impl Fn(f32) -> bool, range: &str) -> Result<f32, String> {
    let v: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("{what} must be a number {range}"))?;
    if !v.is_finite() || !ok(v) {
        return Err(format!("{what} must be {range}"));
    }
    Ok(v)
}

pub fn width(s: &str) -> Result<usize, String> {
    usize_in(s, 1, MAX_WIDTH, "the width (channels of the first stage)")
}

pub fn depth(s: &str) -> Result<usize, String> {
    let d = usize_in(s, 8, MAX_DEPTH, "the depth")?;
    if !valid_cifar_depth(d) {
        let below = (d - 2) / 6 * 6 + 2;
        return Err(format!(
            "depth {d} is not in the paper's 6n+2 family (8, 14, 20, 26, 32, 44, 56, 110, ...); the nearest are {below} and {}",
            below + 6
        ));
    }
    Ok(d)
}

pub fn epochs(s: &str) -> Result<usize, String> {
    usize_in(s, 1, 1000, "the number of epochs")
}

pub fn batch(s: &str) -> Result<usize, String> {
    usize_in(s, 1, 4096, "the batch size")
}

pub fn threads(s: &str) -> Result<usize, String> {
    usize_in(s, 0, 256, "the number of threads (0 = one per core)")
}

pub fn steps(s: &str) -> Result<usize, String> {
    usize_in(s, 1, 1_000_000_000, "the step budget")
}

pub fn warmup(s: &str) -> Result<usize, String> {
    usize_in(s, 0, 1_000_000_000, "the warm-up")
}

pub fn probe_every(s: &str) -> Result<usize, String> {
    usize_in(s, 0, 1_000_000_000, "the probe interval (0 = off)")
}

pub fn per_class(s: &str) -> Result<usize, String> {
    usize_in(s, 1, 1_000_000_000, "the cap on images per class")
}

pub fn lr(s: &str) -> Result<f32, String> {
    float_in(
        s,
        "the learning rate",
        |v| v > 0.0 && v <= 10.0,
        "above 0 and at most 10",
    )
}

pub fn momentum(s: &str) -> Result<f32, String> {
    float_in(s, "the momentum", |v| (0.0..1.0).contains(&v), "in [0, 1)")
}

pub fn weight_decay(s: &str) -> Result<f32, String> {
    float_in(
        s,
        "the weight decay",
        |v| (0.0..1.0).contains(&v),
        "in [0, 1)",
    )
}

pub fn residual_scale(s: &str) -> Result<f32, String> {
    float_in(
        s,
        "the residual scale",
        |v| (0.0..=10.0).contains(&v),
        "between 0 and 10",
    )
}

/// "32" (square) or "64x48" (width x height), each side 1 to [`MAX_TARGET_SIDE`];
/// returns (height, width) as `LoadOptions::size` wants.
pub fn size(s: &str) -> Result<(usize, usize), String> {
    let t = s.trim().to_ascii_lowercase();
    let side = |v: &str| usize_in(v, 1, MAX_TARGET_SIDE, "each side of the image size");
    match t.split_once('x') {
        Some((w, h)) => Ok((side(h)?, side(w)?)),
        None => {
            let n = side(&t)?;
            Ok((n, n))
        }
    }
}

pub fn mem_limit(s: &str) -> Result<u64, String> {
    crate::util::parse_mem_limit(s)
}

/// A side of an exported PNG.
pub fn png_side(s: &str) -> Result<u32, String> {
    int_in(s, 64, 8192, "a side of the plot image (pixels)").map(|v| v as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_values_are_refused_with_the_reason() {
        assert_eq!(depth("20"), Ok(20));
        assert!(depth("21").unwrap_err().contains("6n+2"));
        assert!(depth("21").unwrap_err().contains("20 and 26"));
        assert!(depth("99998").unwrap_err().contains("between 8 and 1202"));
        assert!(depth("600000000000000002").is_err());
        assert!(depth("-1").unwrap_err().contains("negative"));
        assert!(width("0").unwrap_err().contains("width"));
        assert_eq!(width("16"), Ok(16));
        assert!(lr("nan").is_err() && lr("inf").is_err() && lr("0").is_err() && lr("11").is_err());
        assert_eq!(lr("10"), Ok(10.0));
        assert!(momentum("1").is_err() && weight_decay("-0.1").is_err());
        assert!(batch("0").unwrap_err().contains("batch size"));
        assert_eq!(size("32"), Ok((32, 32)));
        assert_eq!(size("64x48"), Ok((48, 64)));
        assert!(size("0x3").is_err() && size("5000").is_err() && size("axb").is_err());
        assert!(png_side("100000").is_err());
        assert!(mem_limit("2G").is_ok() && mem_limit("lots").is_err());
    }
}
