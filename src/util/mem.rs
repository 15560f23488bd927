//! How much memory a run (and a data set) may use: a share of this machine's RAM unless the
//! learner says otherwise with `--mem-limit` or the `RESNET_LAB_MEM_LIMIT` variable.
//!
//! Running out of memory aborts the process with no message ("memory allocation of N bytes
//! failed"), so sizes are checked against this limit *before* anything big is allocated.
use std::sync::Mutex;

use super::read::bytes_text;

/// Environment variable that sets the limit: bytes, or with a unit (`512M`, `4G`, `4GiB`), or
/// a share of RAM (`50%`).
pub const MEM_LIMIT_ENV: &str = "RESNET_LAB_MEM_LIMIT";
/// Share of total RAM allowed by default.
const SHARE_OF_TOTAL: f64 = 0.7;
/// Share of the RAM free right now allowed by default (other programs keep theirs).
const SHARE_OF_AVAILABLE: f64 = 0.9;
/// Used when /proc/meminfo cannot be read.
const FALLBACK: u64 = 4 << 30;
/// Below this a limit is refused as a typo: the app itself needs more to run.
const MIN_LIMIT: u64 = 16 << 20;

/// The limit and where it came from, for messages.
#[derive(Clone, Debug, PartialEq)]
pub struct MemLimit {
    pub bytes: u64,
    /// e.g. "70% of this machine's 7.6 GiB of RAM", "--mem-limit 2G".
    pub source: String,
}

impl MemLimit {
    /// "2.0 GiB (--mem-limit 2G)".
    pub fn describe(&self) -> String {
        format!("{} ({})", bytes_text(self.bytes), self.source)
    }
}

static OVERRIDE: Mutex<Option<MemLimit>> = Mutex::new(None);

/// Sets the limit for this process (the CLI's `--mem-limit`); `None` goes back to the default.
pub fn set_mem_limit(limit: Option<MemLimit>) {
    *OVERRIDE.lock().unwrap_or_else(|e| e.into_inner()) = limit;
}

/// The limit in force: `--mem-limit`, else `RESNET_LAB_MEM_LIMIT`, else a share of RAM.
pub fn mem_limit() -> MemLimit {
    if let Some(l) = OVERRIDE.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return l;
    }
    if let Ok(v) = std::env::var(MEM_LIMIT_ENV)
        && let Ok(bytes) = parse_mem_limit(&v)
    {
        return MemLimit {
            bytes,
            source: format!("{MEM_LIMIT_ENV}={v}"),
        };
    }
    default_limit()
}

fn default_limit() -> MemLimit {
    match meminfo() {
        Some((total, available)) => {
            let by_total = (total as f64 * SHARE_OF_TOTAL) as u64;
            let by_free = (available as f64 * SHARE_OF_AVAILABLE) as u64;
            if by_free < by_total {
                MemLimit {
                    bytes: by_free.max(MIN_LIMIT),
                    source: format!(
                        "90% of the {} of RAM free now; change it with --mem-limit or {MEM_LIMIT_ENV}",
                        bytes_text(available)
                    ),
                }
            } else {
                MemLimit {
                    bytes: by_total,
                    source: format!(
                        "70% of this machine's {} of RAM; change it with --mem-limit or {MEM_LIMIT_ENV}",
                        bytes_text(total)
                    ),
                }
            }
        }
        None => MemLimit {
            bytes: FALLBACK,
            source: format!(
                "the default when RAM cannot be measured; change it with --mem-limit or {MEM_LIMIT_ENV}"
            ),
        },
    }
}

/// (MemTotal, MemAvailable) in bytes from /proc/meminfo.
fn meminfo() -> Option<(u64, u64)> {
    let text = super::read::read_regular(std::path::Path::new("/proc/meminfo"), 1 << 20, "")
        .ok()
        .and_then(|b| String::from_utf8(b).ok())?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        kb.checked_mul(1024)
    };
    let total = field("MemTotal:")?;
    let available = field("MemAvailable:").unwrap_or(total / 2);
    Some((total, available))
}

/// Parses "1500000", "512M", "512MiB", "4G", "4gb", "1.5G" or "50%" (of total RAM) into bytes.
pub fn parse_mem_limit(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || format!("\"{s}\" is not a memory size; write e.g. 2G, 512M, 3000000000 or 50%");
    let bytes = if let Some(p) = t.strip_suffix('%') {
        let p: f64 = p.trim().parse().map_err(|_| bad())?;
        if !(p > 0.0 && p <= 100.0) {
            return Err(format!("{s} is not a share of RAM between 0% and 100%"));
        }
        let (total, _) = meminfo().unwrap_or((FALLBACK, FALLBACK));
        (total as f64 * p / 100.0) as u64
    } else {
        let lower = t.to_ascii_lowercase();
        let digits_end = lower
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(lower.len());
        let (num, unit) = lower.split_at(digits_end);
        let n: f64 = num.parse().map_err(|_| bad())?;
        let mult: u64 = match unit.trim() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => 1 << 20,
            "g" | "gb" | "gib" => 1 << 30,
            "t" | "tb" | "tib" => 1 << 40,
            _ => return Err(bad()),
        };
        let v = n * mult as f64;
        if !v.is_finite() || v >= u64::MAX as f64 {
            return Err(bad());
        }
        v as u64
    };
    if bytes < MIN_LIMIT {
        return Err(format!(
            "{s} is less than the {} the app itself needs",
            bytes_text(MIN_LIMIT)
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_nonsense_is_refused() {
        assert_eq!(parse_mem_limit("2G"), Ok(2 << 30));
        assert_eq!(parse_mem_limit("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_mem_limit("1.5g"), Ok(3 << 29));
        assert_eq!(parse_mem_limit("100000000"), Ok(100_000_000));
        assert!(parse_mem_limit("50%").unwrap() > MIN_LIMIT);
        for bad in ["", "lots", "-1G", "1Q", "0%", "150%", "1k", "nanG", "1e999"] {
            assert!(parse_mem_limit(bad).is_err(), "{bad}");
        }
        let d = default_limit();
        assert!(d.bytes >= MIN_LIMIT, "{d:?}");
        assert!(d.describe().contains("RAM"), "{d:?}");
    }
}
