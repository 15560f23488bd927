//! How much memory a run (and a data set) may use: a share of this machine's RAM unless the
//! learner says otherwise with `--mem-limit` or the `RESNET_LAB_MEM_LIMIT` variable, and never
//! more than a limit the process cannot exceed without being killed or failing to allocate:
//!
//! - the address-space limit (`ulimit -v`, `RLIMIT_AS`): it counts every mapping, not only
//!   resident memory, so [`address_space_usable`] first takes off what a running process maps
//!   without touching (measured: about 150 MiB for the binary, its libraries and the main
//!   thread's arena, and 66 MiB per compute thread: glibc reserves a 64 MiB malloc arena for each
//!   thread that allocates, plus its 2 MiB stack), counting a thread per core as runs do by
//!   default, and then keeps 10% for mapped-but-untouched buffers and fragmentation;
//! - the memory limit of the cgroup the process runs in (containers, systemd units): the
//!   lowest `memory.max` (cgroup v2, "max" means none) or `memory.limit_in_bytes` (v1) from its
//!   own group up to the root of the hierarchy, of which 90% (other processes in the group);
//! - on wasm32, the 4 GiB a 32-bit memory can grow to, of which 90% (the allocator never gives
//!   memory back, so freed blocks of other sizes stay unused).
//!
//! Running out of memory aborts the process with no message ("memory allocation of N bytes
//! failed"), so sizes are checked against this limit *before* anything big is allocated.
use std::path::{Path, PathBuf};
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
/// Share of a hard limit (address space, cgroup, wasm32 memory) a run may plan to use.
const SHARE_OF_HARD: f64 = 0.9;
/// Address space a process maps beyond what it touches, before its compute threads: the
/// binary, its libraries, the main arena (measured about 150 MiB; rounded up for the app's
/// graphics drivers).
const AS_BASE: u64 = 256 << 20;
/// Address space per compute thread beyond its resident memory: a glibc malloc arena (64 MiB
/// reserved) and a 2 MiB stack.
const AS_PER_THREAD: u64 = 66 << 20;
/// The largest memory a wasm32 module can have: 65,536 pages of 64 KiB.
#[cfg(target_arch = "wasm32")]
const WASM32_SPACE: u64 = 4 << 30;

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

/// The limit in force: `--mem-limit`, else `RESNET_LAB_MEM_LIMIT`, else a share of RAM; in each
/// case no more than the hard limits (address space, cgroup, wasm32 memory) leave.
pub fn mem_limit() -> MemLimit {
    let hard = hard_limits();
    if let Some(l) = OVERRIDE.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return within(l, hard);
    }
    if let Ok(v) = std::env::var(MEM_LIMIT_ENV)
        && let Ok(bytes) = parse_mem_limit(&v)
    {
        let asked = MemLimit {
            bytes,
            source: format!("{MEM_LIMIT_ENV}={v}"),
        };
        return within(asked, hard);
    }
    lowest(default_limit(), hard)
}

/// `wanted` unless a hard limit is lower; then that one, saying that more was asked for.
fn within(wanted: MemLimit, hard: Vec<MemLimit>) -> MemLimit {
    let asked = wanted.source.clone();
    let l = lowest(wanted, hard);
    if l.source == asked {
        l
    } else {
        MemLimit {
            bytes: l.bytes,
            source: format!("{}; {asked} asks for more", l.source),
        }
    }
}

/// The lowest of `first` and `others` (the first of equals).
fn lowest(first: MemLimit, others: Vec<MemLimit>) -> MemLimit {
    others
        .into_iter()
        .fold(first, |a, b| if b.bytes < a.bytes { b } else { a })
}

/// Every limit this process cannot exceed, as the share of it a run may plan to use.
fn hard_limits() -> Vec<MemLimit> {
    let mut v = Vec::new();
    if let Some(cap) = address_space_limit() {
        let threads = std::thread::available_parallelism().map_or(4, |n| n.get()) as u64;
        v.push(MemLimit {
            bytes: address_space_usable(cap, threads),
            source: format!(
                "90% of the address-space limit (ulimit -v) of {}, after {} for code, thread stacks and allocator arenas",
                bytes_text(cap),
                bytes_text(AS_BASE + threads * AS_PER_THREAD)
            ),
        });
    }
    if let Some(c) = cgroup_limit(Path::new("/")) {
        v.push(MemLimit {
            bytes: ((c.bytes as f64 * SHARE_OF_HARD) as u64).max(MIN_LIMIT),
            source: format!(
                "90% of the memory limit of this process's cgroup ({} in {}) of {}",
                c.file,
                c.dir.display(),
                bytes_text(c.bytes)
            ),
        });
    }
    #[cfg(target_arch = "wasm32")]
    {
        let now = core::arch::wasm32::memory_size(0) as u64 * 65536;
        v.push(MemLimit {
            bytes: (WASM32_SPACE as f64 * SHARE_OF_HARD) as u64,
            source: format!(
                "90% of the {} address space of wasm32, of which the memory has grown to {}",
                bytes_text(WASM32_SPACE),
                bytes_text(now)
            ),
        });
    }
    v
}

/// What a run may plan to use under an address-space limit of `cap` bytes with `threads`
/// compute threads (see the module docs).
fn address_space_usable(cap: u64, threads: u64) -> u64 {
    let room = cap.saturating_sub(AS_BASE + threads * AS_PER_THREAD);
    ((room as f64 * SHARE_OF_HARD) as u64).max(MIN_LIMIT)
}

/// The soft `RLIMIT_AS` in bytes, if any.
#[cfg(unix)]
fn address_space_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } != 0 || r.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is u64 on 64-bit Linux, not on every unix
    Some(r.rlim_cur as u64)
}

#[cfg(not(unix))]
fn address_space_limit() -> Option<u64> {
    None
}

/// A cgroup memory limit and where it was read.
#[derive(Debug, PartialEq)]
struct CgroupLimit {
    bytes: u64,
    /// `memory.max` or `memory.limit_in_bytes`.
    file: &'static str,
    /// The group whose file holds the lowest limit.
    dir: PathBuf,
}

/// The lowest memory limit of this process's cgroups, v2 and v1, from its own group up to the
/// root of each hierarchy. `root` is `/` except in tests (a fake tree).
fn cgroup_limit(root: &Path) -> Option<CgroupLimit> {
    let small = |p: &Path| {
        super::read::read_regular(p, 1 << 20, "")
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    };
    let groups = small(&root.join("proc/self/cgroup"))?;
    let mounts = small(&root.join("proc/self/mountinfo"))?;
    let mut best: Option<CgroupLimit> = None;
    for (v2, file) in [(true, "memory.max"), (false, "memory.limit_in_bytes")] {
        let Some(path) = groups.lines().find_map(|l| group_path(l, v2)) else {
            continue;
        };
        for (mount_root, mount_point) in mounts.lines().filter_map(|l| cgroup_mount(l, v2)) {
            // The group's folder: its path relative to what this mount shows of the hierarchy
            // (a container sees only its own subtree, mounted as the root).
            let rel = if mount_root == "/" {
                path
            } else {
                path.strip_prefix(mount_root).unwrap_or("/")
            };
            let top = root.join(mount_point.trim_start_matches('/'));
            let mut dir = top.join(rel.trim_start_matches('/'));
            loop {
                if let Some(bytes) = small(&dir.join(file)).and_then(|t| limit_value(&t))
                    && best.as_ref().is_none_or(|b| bytes < b.bytes)
                {
                    let shown = dir.strip_prefix(root).unwrap_or(&dir);
                    best = Some(CgroupLimit {
                        bytes,
                        file,
                        dir: Path::new("/").join(shown),
                    });
                }
                if dir == top || !dir.pop() || !dir.starts_with(&top) {
                    break;
                }
            }
        }
    }
    best
}

/// The group path from a line of /proc/self/cgroup: `0::/path` (v2) or `4:memory:/path` (v1,
/// the memory controller possibly listed with others).
fn group_path(line: &str, v2: bool) -> Option<&str> {
    let mut parts = line.splitn(3, ':');
    let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = if v2 {
        id == "0" && controllers.is_empty()
    } else {
        controllers.split(',').any(|c| c == "memory")
    };
    ok.then_some(path)
}

/// (root, mount point) of a cgroup2 mount (v2) or a cgroup mount with the memory controller
/// (v1), from a line of /proc/self/mountinfo: `id parent dev root point options [tags] - type
/// source super-options`.
fn cgroup_mount(line: &str, v2: bool) -> Option<(&str, &str)> {
    let (left, right) = line.split_once(" - ")?;
    let f: Vec<&str> = left.split(' ').collect();
    let (root, point) = (*f.get(3)?, *f.get(4)?);
    let mut r = right.split(' ');
    let (fstype, _source, opts) = (r.next()?, r.next()?, r.next().unwrap_or(""));
    let ok = if v2 {
        fstype == "cgroup2"
    } else {
        fstype == "cgroup" && opts.split(',').any(|o| o == "memory")
    };
    ok.then_some((root, point))
}

/// A limit file's value: bytes, or `None` for "max" and v1's "unlimited" (a number near 2^63).
fn limit_value(text: &str) -> Option<u64> {
    let t = text.trim();
    if t == "max" {
        return None;
    }
    t.parse::<u64>().ok().filter(|&b| b > 0 && b < 1 << 60)
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

    #[test]
    fn the_lowest_limit_applies_and_says_what_was_asked() {
        let l = |bytes: u64, source: &str| MemLimit {
            bytes,
            source: source.into(),
        };
        let hard = || vec![l(6 << 30, "ulimit"), l(5 << 30, "cgroup")];
        assert_eq!(lowest(l(8 << 30, "RAM"), hard()), l(5 << 30, "cgroup"));
        assert_eq!(lowest(l(4 << 30, "RAM"), hard()), l(4 << 30, "RAM"));
        assert_eq!(lowest(l(4 << 30, "RAM"), vec![]), l(4 << 30, "RAM"));
        assert_eq!(
            within(l(2 << 30, "--mem-limit 2 GiB"), hard()).source,
            "--mem-limit 2 GiB"
        );
        assert_eq!(
            within(l(16 << 30, "--mem-limit 16 GiB"), hard()),
            l(5 << 30, "cgroup; --mem-limit 16 GiB asks for more")
        );
    }

    #[test]
    fn the_address_space_keeps_room_for_what_is_mapped_but_not_used() {
        // 8 GiB, 2 threads: 90% of (8192 - 256 - 132) MiB.
        assert_eq!(
            address_space_usable(8 << 30, 2),
            ((8192 - 256 - 132) as f64 * 1024.0 * 1024.0 * 0.9) as u64
        );
        assert!(address_space_usable(8 << 30, 64) < address_space_usable(8 << 30, 2));
        assert_eq!(address_space_usable(100 << 20, 2), MIN_LIMIT);
    }

    /// A fake root with /proc/self/{cgroup,mountinfo} and limit files.
    fn fake_root(groups: &str, mounts: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let put = |rel: &str, text: &str| {
            let p = t.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        put("proc/self/cgroup", groups);
        put("proc/self/mountinfo", mounts);
        for (rel, text) in files {
            put(rel, text);
        }
        t
    }

    #[test]
    fn cgroup_v2_limits_are_read_up_the_tree_and_max_is_none() {
        let mounts = "24 30 0:22 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n\
                      30 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n";
        let groups = "0::/user.slice/app.scope\n";
        let t = fake_root(
            groups,
            mounts,
            &[
                ("sys/fs/cgroup/user.slice/app.scope/memory.max", "max\n"),
                ("sys/fs/cgroup/user.slice/memory.max", "8589934592\n"),
                ("sys/fs/cgroup/memory.max", "17179869184\n"),
            ],
        );
        assert_eq!(
            cgroup_limit(t.path()),
            Some(CgroupLimit {
                bytes: 8 << 30,
                file: "memory.max",
                dir: "/sys/fs/cgroup/user.slice".into()
            })
        );
        // Nothing but "max": no limit.
        let t = fake_root(
            groups,
            mounts,
            &[("sys/fs/cgroup/user.slice/app.scope/memory.max", "max\n")],
        );
        assert_eq!(cgroup_limit(t.path()), None);
        // A container: its own group is the root of what it mounts.
        let t = fake_root(
            "0::/\n",
            "24 30 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
            &[("sys/fs/cgroup/memory.max", "2147483648\n")],
        );
        assert_eq!(cgroup_limit(t.path()).map(|c| c.bytes), Some(2 << 30));
    }

    #[test]
    fn cgroup_v1_limits_are_read_and_unlimited_is_none() {
        // This machine's layout: v1 memory controller, a v2 mount without it.
        let mounts = "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n\
                      35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
                      40 31 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
        let groups = "8:pids:/\n4:memory:/jobs/42\n1:cpu:/\n0::/\n";
        let unlimited = "9223372036854771712\n";
        let t = fake_root(
            groups,
            mounts,
            &[
                (
                    "sys/fs/cgroup/memory/jobs/42/memory.limit_in_bytes",
                    "1073741824\n",
                ),
                ("sys/fs/cgroup/memory/jobs/memory.limit_in_bytes", unlimited),
                ("sys/fs/cgroup/memory/memory.limit_in_bytes", unlimited),
            ],
        );
        assert_eq!(
            cgroup_limit(t.path()),
            Some(CgroupLimit {
                bytes: 1 << 30,
                file: "memory.limit_in_bytes",
                dir: "/sys/fs/cgroup/memory/jobs/42".into()
            })
        );
        let t = fake_root(
            groups,
            mounts,
            &[(
                "sys/fs/cgroup/memory/jobs/42/memory.limit_in_bytes",
                unlimited,
            )],
        );
        assert_eq!(cgroup_limit(t.path()), None);
        // No memory controller mounted at all.
        let t = fake_root(
            groups,
            "40 31 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
            &[],
        );
        assert_eq!(cgroup_limit(t.path()), None);
    }
}
