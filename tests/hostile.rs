//! The hostile-input corpus: malformed and hostile files, paths and flags, generated here (no
//! committed data), run through the loaders and the CLI with tiny nets.
//!
//! Every case must end in time (no hang), without a panic or an allocation abort, within the
//! memory budget, with a message that names the file or flag at fault, and without touching
//! anything it should not write. Each test is one category; its cases are listed in a table
//! so the corpus is easy to extend.
use resnet_lab::data::{self, Dataset, LoadOptions, Progress, Source};
use resnet_lab::nn::{NetSpec, Shape};
use resnet_lab::train::budget::{self, DataShape};
use resnet_lab::train::{Hyper, RunHistory};
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// --- Harness ----------------------------------------------------------------------------------

/// How a CLI run ended.
#[derive(Debug)]
struct Out {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
    /// Peak resident memory of the process (from wait4), bytes.
    peak: u64,
    secs: f64,
}

impl Out {
    /// Exit code 1 with a one-line `error:` that mentions every `needle`; no panic, no abort.
    fn refused(&self, what: &str, needles: &[&str]) {
        self.sane(what);
        assert_eq!(
            self.code,
            Some(1),
            "{what}: expected a refusal\n{}",
            self.stderr
        );
        let err = self
            .stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{what}: no error line\n{}", self.stderr));
        assert!(!err.starts_with("error: :"), "{what}: {err}");
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "{what}: the message does not mention {n:?}\n{}",
                self.stderr
            );
        }
        assert!(!self.stderr.contains("wrote "), "{what}: {}", self.stderr);
    }

    /// Exit code 0, no panic.
    fn ok(&self, what: &str) {
        self.sane(what);
        assert_eq!(self.code, Some(0), "{what}: failed\n{}", self.stderr);
    }

    fn sane(&self, what: &str) {
        assert_eq!(
            self.signal, None,
            "{what}: killed by a signal\n{}",
            self.stderr
        );
        for bad in [
            "panicked",
            "memory allocation of",
            "RUST_BACKTRACE",
            "stack overflow",
        ] {
            assert!(!self.stderr.contains(bad), "{what}: {bad}\n{}", self.stderr);
        }
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_resnet-lab"))
}

/// The process's resident high-water mark (VmHWM), bytes; 0 once it has exited.
///
/// Not `wait4`'s `ru_maxrss`: a child started from this (large, multi-test) process inherits
/// the parent's resident size at `exec` in that figure. VmHWM belongs to the new program only.
fn vm_hwm(pid: libc::pid_t) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Runs a prepared command with a deadline, recording its peak memory. A run past the deadline
/// is killed and the test fails: that is a hang.
fn run_with(mut cmd: Command, what: &str, timeout: f64) -> Out {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut s);
            }
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|r| Box::new(r) as _));
    let err = drain(child.stderr.take().map(|r| Box::new(r) as _));
    let start = Instant::now();
    let mut peak = 0;
    let status = loop {
        // Polled while it runs: the high-water mark only grows, so the last reading before
        // the exit is the peak (give or take the last 2 ms).
        peak = peak.max(vm_hwm(pid));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed().as_secs_f64() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what}: still running after {timeout} s (a hang)\n{}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = out.join();
    Out {
        code: status.code(),
        signal: std::os::unix::process::ExitStatusExt::signal(&status),
        stderr: err.join().unwrap_or_default(),
        peak,
        secs: start.elapsed().as_secs_f64(),
    }
}

fn run(args: &[&str]) -> Out {
    let mut c = bin();
    c.args(args);
    run_with(c, &args.join(" "), 60.0)
}

/// A tiny, quick training run on `data` with extra arguments (which replace the defaults).
fn tiny(data: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["train".into(), "--data".into(), data.into()];
    let defaults = [
        ("--depth", "8"),
        ("--width", "4"),
        ("--epochs", "1"),
        ("--batch", "8"),
        ("--max-steps", "2"),
        ("--threads", "1"),
    ];
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            v.push(flag.into());
            v.push(value.into());
        }
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run_s(args: &[String]) -> Out {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&a)
}

/// Loads on a thread with a deadline: a loader that blocks fails the test instead of hanging it.
fn load_within(path: &Path, opts: LoadOptions) -> Result<Dataset, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let r = data::load(&Source::Path(p), &opts, &Progress::default());
        let _ = tx.send(r.map_err(|e| e.to_string()));
    });
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("loading {} did not finish in 30 s (a hang)", path.display()))
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o644) },
        0,
        "mkfifo {p:?}"
    );
}

fn png(w: u32, h: u32, seed: u8, color: bool) -> Vec<u8> {
    let mut out = std::io::Cursor::new(vec![]);
    if color {
        image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x as u8).wrapping_add(seed), (y as u8) ^ seed, seed])
        })
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    } else {
        image::GrayImage::from_fn(w, h, |x, y| {
            image::Luma([(x as u8).wrapping_mul(3).wrapping_add(y as u8) ^ seed])
        })
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    }
    out.into_inner()
}

/// `root/<class>/<i>.png`, `per` grey 8x8 images per class.
fn folder(root: &Path, classes: &[&str], per: u8) {
    for (k, c) in classes.iter().enumerate() {
        let d = root.join(c);
        fs::create_dir_all(&d).unwrap();
        for i in 0..per {
            fs::write(
                d.join(format!("{i}.png")),
                png(8, 8, i * 16 + k as u8, false),
            )
            .unwrap();
        }
    }
}

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(vec![], flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// An IDX set of `n` 6x6 images with the given labels (train only).
fn idx_set(dir: &Path, labels: &[u8]) {
    fs::create_dir_all(dir).unwrap();
    let n = labels.len();
    let px: Vec<u8> = (0..n * 36).map(|i| (i * 7) as u8).collect();
    fs::write(
        dir.join("train-images-idx3-ubyte"),
        idx(&[n as u32, 6, 6], &px),
    )
    .unwrap();
    fs::write(
        dir.join("train-labels-idx1-ubyte"),
        idx(&[n as u32], labels),
    )
    .unwrap();
}

/// CIFAR records with these labels (`label_bytes` 1 or 2, fine label last).
fn cifar(labels: &[u8], label_bytes: usize) -> Vec<u8> {
    let mut b = vec![];
    for (i, &l) in labels.iter().enumerate() {
        if label_bytes == 2 {
            b.push(0);
        }
        b.push(l);
        b.extend((0..3072).map(|p| (p + i * 31) as u8));
    }
    b
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// --- Writes -------------------------------------------------------------------------------------

/// Outputs that must never be replaced: devices, FIFOs, folders, links; missing folders.
#[test]
fn writes_never_replace_anything_but_a_regular_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let data = d.join("data");
    folder(&data, &["a", "b"], 6);
    let fifo = d.join("out.fifo");
    mkfifo(&fifo);
    let real = d.join("real.json");
    fs::write(&real, "precious").unwrap();
    let link = d.join("link.json");
    symlink(&real, &link).unwrap();
    let a_dir = d.join("a_folder");
    fs::create_dir(&a_dir).unwrap();
    let cases: Vec<(String, PathBuf, &str)> = vec![
        ("/dev/null".into(), "/dev/null".into(), "character device"),
        ("/dev/full".into(), "/dev/full".into(), "character device"),
        ("a FIFO".into(), fifo.clone(), "FIFO"),
        ("a link to a file".into(), link.clone(), "symbolic link"),
        ("a folder".into(), a_dir.clone(), "folder"),
        (
            "a missing folder".into(),
            d.join("nowhere/out.json"),
            "does not exist",
        ),
    ];
    for (what, out, why) in &cases {
        let o = run_s(&tiny(s(&data), &["--out", s(out)]));
        o.refused(what, &[s(out), why, "--out"]);
        assert!(o.secs < 20.0, "{what}: refused only after {:.1} s", o.secs);
    }
    for dev in ["/dev/null", "/dev/full"] {
        let t = fs::symlink_metadata(dev).unwrap().file_type();
        assert!(t.is_char_device(), "{dev} is no longer a device");
    }
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), "precious");
    // sweep and export write into a folder: a file or a device there is refused by name.
    let o = run(&[
        "sweep",
        "--data",
        s(&data),
        "--depths",
        "8",
        "--out",
        s(&real),
    ]);
    o.refused("sweep --out a file", &[s(&real), "not a folder"]);
    let o = run(&["export", s(&real), "--out", "/dev/null"]);
    o.refused("export --out /dev/null", &["/dev/null", "not a folder"]);
    assert!(
        fs::symlink_metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), "precious");
    eprintln!("writes: {} cases", cases.len() + 2);
}

/// A write that fails half-way (file size limit: EFBIG) reports the real error, says nothing
/// about having written, keeps the old file and leaves no temporary file.
#[test]
fn a_failed_write_reports_the_real_error_and_keeps_the_old_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    folder(&data, &["a", "b"], 6);
    let out = tmp.path().join("run.json");
    fs::write(&out, "old").unwrap();
    let mut c = bin();
    c.args(tiny(s(&data), &["--out", s(&out)]));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 300,
                rlim_max: 300,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            Ok(())
        });
    }
    let o = run_with(c, "write past RLIMIT_FSIZE", 60.0);
    o.refused("EFBIG", &[s(&out), "too large"]);
    assert_eq!(fs::read_to_string(&out).unwrap(), "old");
    assert!(resnet_lab::util::temp_files_in(tmp.path()).is_empty());
}

/// SIGTERM in the middle of a write removes the temporary file; SIGKILL cannot be caught, but
/// its leftover is recognisable, never read as data, and swept by the next write.
#[test]
fn an_interrupted_write_cleans_up_or_leaves_a_recognisable_leftover() {
    if !cfg!(debug_assertions) {
        return; // the pause between fsync and rename exists in debug builds only
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    folder(&data, &["a", "b"], 6);
    let outdir = tmp.path().join("out");
    fs::create_dir(&outdir).unwrap();
    let out = outdir.join("run.json");
    fs::write(&out, "old").unwrap();
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGKILL] {
        let mut child = bin()
            .args(tiny(s(&data), &["--out", s(&out)]))
            .env("RESNET_LAB_TEST_WRITE_DELAY_MS", "20000")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while resnet_lab::util::temp_files_in(&outdir).is_empty() {
            assert!(start.elapsed().as_secs() < 60, "no temporary file appeared");
            std::thread::sleep(Duration::from_millis(10));
        }
        unsafe { libc::kill(child.id() as i32, sig) };
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert_eq!(fs::read_to_string(&out).unwrap(), "old", "signal {sig}");
        let left = resnet_lab::util::temp_files_in(&outdir);
        if sig == libc::SIGKILL {
            assert_eq!(left.len(), 1, "{left:?}");
            let name = left[0].file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                name.starts_with(".run.json.") && name.ends_with(".partial"),
                "{name}"
            );
        } else {
            assert!(left.is_empty(), "signal {sig} left {left:?}");
        }
    }
    // The next write to the same target removes the dead process's leftover.
    run_s(&tiny(s(&data), &["--out", s(&out)])).ok("write after a kill");
    assert!(resnet_lab::util::temp_files_in(&outdir).is_empty());
    assert!(fs::read_to_string(&out).unwrap().contains("\"label\""));
}

/// Leftover temporary files (hidden, `.partial`) beside data are never loaded as data.
#[test]
fn temporary_files_are_never_picked_up_as_data() {
    let tmp = tempfile::tempdir().unwrap();
    let leftover = |dir: &Path, name: &str| {
        fs::write(
            dir.join(format!(".{name}.4242-abcdefghij.partial")),
            b"half a file",
        )
        .unwrap();
    };
    let i = tmp.path().join("idx");
    idx_set(&i, &[0, 1, 0, 1, 0, 1]);
    leftover(&i, "train-images-idx3-ubyte");
    leftover(&i, "t10k-images-idx3-ubyte");
    let c = tmp.path().join("cifar");
    fs::create_dir(&c).unwrap();
    fs::write(c.join("data_batch_1.bin"), cifar(&[0, 1, 0, 1], 1)).unwrap();
    leftover(&c, "data_batch_2.bin");
    leftover(&c, "test_batch.bin");
    let f = tmp.path().join("folder");
    folder(&f, &["a", "b"], 3);
    leftover(&f.join("a"), "3.png");
    for (dir, n) in [(&i, 6), (&c, 4), (&f, 6)] {
        let ds = load_within(dir, LoadOptions::default()).unwrap();
        assert_eq!(ds.train.len() + ds.test.len(), n, "{}", dir.display());
        assert!(
            !ds.warnings.join(" ").contains("partial"),
            "{:?}",
            ds.warnings
        );
    }
}

// --- Hangs ----------------------------------------------------------------------------------

/// FIFOs and links to devices where data files are expected: refused by name or skipped with
/// a warning, never a hang, never a read until memory runs out.
#[test]
fn fifos_and_devices_never_hang_a_loader() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let good_batch = cifar(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 1);
    // (case, folder builder, expected: Err(needles) or Ok(warning needle))
    type Build = Box<dyn Fn(&Path)>;
    let fifo = |name: &'static str| -> Build { Box::new(move |d: &Path| mkfifo(&d.join(name))) };
    let zero = |name: &'static str| -> Build {
        Box::new(move |d: &Path| symlink("/dev/zero", d.join(name)).unwrap())
    };
    let batch = {
        let b = good_batch.clone();
        move |d: &Path| fs::write(d.join("data_batch_1.bin"), &b).unwrap()
    };
    let idx_good = |d: &Path| idx_set(d, &[0, 1, 0, 1, 0, 1]);
    let cases: Vec<(&str, Vec<Build>, Result<&str, &str>)> = vec![
        (
            "cifar fifo batch",
            vec![fifo("data_batch_1.bin")],
            Err("FIFO"),
        ),
        (
            "cifar zero batch",
            vec![zero("data_batch_1.bin")],
            Err("character device"),
        ),
        (
            "cifar fifo test batch",
            vec![Box::new(batch.clone()), fifo("test_batch.bin")],
            Err("test_batch.bin"),
        ),
        (
            "cifar zero test batch",
            vec![Box::new(batch.clone()), zero("test_batch.bin")],
            Err("test_batch.bin"),
        ),
        (
            "cifar fifo names",
            vec![Box::new(batch.clone()), fifo("batches.meta.txt")],
            Ok("batches.meta.txt"),
        ),
        (
            "cifar zero names",
            vec![Box::new(batch.clone()), zero("batches.meta.txt")],
            Ok("batches.meta.txt"),
        ),
        (
            "idx fifo images",
            vec![
                fifo("train-images-idx3-ubyte"),
                Box::new(|d: &Path| {
                    fs::write(d.join("train-labels-idx1-ubyte"), idx(&[2], &[0, 1])).unwrap()
                }),
            ],
            Err("FIFO"),
        ),
        (
            "idx zero labels",
            vec![
                zero("train-labels-idx1-ubyte"),
                Box::new(|d: &Path| {
                    fs::write(d.join("train-images-idx3-ubyte"), idx(&[2, 2, 2], &[0; 8])).unwrap()
                }),
            ],
            Err("character device"),
        ),
        (
            "idx fifo classes",
            vec![Box::new(idx_good), fifo("classes.txt")],
            Ok("classes.txt"),
        ),
        (
            "folder fifo and zero images",
            vec![
                Box::new(|d: &Path| folder(d, &["a", "b"], 3)),
                Box::new(|d: &Path| mkfifo(&d.join("a/pipe.png"))),
                Box::new(|d: &Path| symlink("/dev/zero", d.join("b/zero.png")).unwrap()),
            ],
            Ok("pipe.png"),
        ),
    ];
    let n = cases.len();
    for (what, builders, want) in cases {
        let d = root.join(what.replace(' ', "_"));
        fs::create_dir_all(&d).unwrap();
        for b in &builders {
            b(&d);
        }
        match (load_within(&d, LoadOptions::default()), want) {
            (Err(e), Err(needle)) => {
                assert!(e.contains(needle), "{what}: {e}");
                assert!(e.contains(s(&d)), "{what}: the message names no file: {e}");
            }
            (Ok(ds), Ok(needle)) => {
                let w = ds.warnings.join("\n");
                assert!(w.contains(needle), "{what}: no warning about {needle}: {w}");
            }
            (r, want) => panic!("{what}: got {:?}, wanted {want:?}", r.map(|d| d.warnings)),
        }
    }
    // Paths handed to the CLI directly.
    let pipe = root.join("pipe");
    mkfifo(&pipe);
    let dz = root.join("zero.bin");
    symlink("/dev/zero", &dz).unwrap();
    let data = root.join("data");
    folder(&data, &["a", "b"], 4);
    let cli_cases: Vec<(&str, Vec<String>, Vec<&str>)> = vec![
        ("--data fifo", tiny(s(&pipe), &[]), vec![s(&pipe), "FIFO"]),
        (
            "--data /dev/zero",
            tiny("/dev/zero", &[]),
            vec!["/dev/zero", "character device"],
        ),
        (
            "--data link to /dev/zero",
            tiny(s(&dz), &[]),
            vec![s(&dz), "character device"],
        ),
        (
            "--spec fifo",
            tiny(s(&data), &["--spec", s(&pipe)]),
            vec![s(&pipe), "FIFO"],
        ),
        (
            "--spec /dev/zero",
            tiny(s(&data), &["--spec", "/dev/zero"]),
            vec!["/dev/zero", "character device"],
        ),
        (
            "export fifo",
            vec!["export".into(), s(&pipe).into()],
            vec![s(&pipe), "FIFO"],
        ),
        (
            "export /dev/zero",
            vec!["export".into(), s(&dz).into()],
            vec![s(&dz), "character device"],
        ),
    ];
    for (what, args, needles) in &cli_cases {
        let o = run_s(args);
        o.refused(what, needles);
        assert!(o.peak < 512 << 20, "{what}: peak {} MiB", o.peak >> 20);
    }
    eprintln!("hangs: {} loader cases, {} CLI cases", n, cli_cases.len());
}

// --- Memory -----------------------------------------------------------------------------------

/// Large images are resized by default; sets that would not fit are refused before they are
/// read, naming the file and what to change; a .gz bomb is streamed, never held inflated.
#[test]
fn big_inputs_are_resized_or_refused_before_allocation() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // 1. Four large colour PNGs (2000x1500) train at 32x32 by default, in bounded memory.
    let big = root.join("big");
    for (k, c) in ["a", "b"].iter().enumerate() {
        fs::create_dir_all(big.join(c)).unwrap();
        for i in 0..2u8 {
            fs::write(
                big.join(c).join(format!("{i}.png")),
                png(2000, 1500, i + k as u8, true),
            )
            .unwrap();
        }
    }
    let o = run_s(&tiny(s(&big), &["--batch", "2"]));
    o.ok("large PNGs");
    assert!(
        o.stderr.contains("resized to 32x32") && o.stderr.contains("--size"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("3x32x32"), "{}", o.stderr);
    eprintln!("large PNGs: peak {} MiB", o.peak >> 20);
    assert!(o.peak < 400 << 20, "large PNGs: peak {} MiB", o.peak >> 20);
    // 2. The same at full size does not fit a 256 MiB budget: refused with the fixes.
    let o = run_s(&tiny(
        s(&big),
        &["--batch", "2", "--size", "1000", "--mem-limit", "256M"],
    ));
    o.refused("1000x1000 in 256M", &["--mem-limit", "--size", "memory"]);
    // 3. A gzip "bomb": 0.5 MB compressed, 128 images of 1024x1024 = 128 MiB inflated. Read
    //    streaming, resized image by image to 32x32: peak memory stays far below 128 MiB.
    let bomb = root.join("bomb");
    fs::create_dir(&bomb).unwrap();
    {
        let f = fs::File::create(bomb.join("train-images-idx3-ubyte.gz")).unwrap();
        let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        e.write_all(&idx(&[128, 1024, 1024], &[])).unwrap();
        let row = vec![7u8; 1 << 20];
        for _ in 0..128 {
            e.write_all(&row).unwrap();
        }
        e.finish().unwrap();
    }
    let labels: Vec<u8> = (0..128).map(|i| (i % 2) as u8).collect();
    fs::write(
        bomb.join("train-labels-idx1-ubyte.gz"),
        gz(&idx(&[128], &labels)),
    )
    .unwrap();
    let o = run_s(&tiny(s(&bomb), &[]));
    o.ok("gz bomb");
    assert!(o.stderr.contains("resized to 32x32"), "{}", o.stderr);
    eprintln!("gz bomb: peak {} MiB in {:.1} s", o.peak >> 20, o.secs);
    assert!(o.peak < 64 << 20, "gz bomb: peak {} MiB", o.peak >> 20);
    // 4. An IDX header promising 8192 images of 1024x1024 (8 GiB) in a small file.
    let liar = root.join("liar");
    fs::create_dir(&liar).unwrap();
    fs::write(
        liar.join("train-images-idx3-ubyte"),
        idx(&[8192, 1024, 1024], &[0; 100]),
    )
    .unwrap();
    fs::write(
        liar.join("train-labels-idx1-ubyte"),
        idx(&[8192], &[0; 8192]),
    )
    .unwrap();
    let o = run_s(&tiny(s(&liar), &[]));
    o.refused("lying IDX header", &["train-images-idx3-ubyte"]);
    assert!(
        o.peak < 256 << 20,
        "lying header: peak {} MiB",
        o.peak >> 20
    );
    // 5. A set bigger than the data budget at its own size: refused before decoding, naming
    //    the options that help.
    let many = root.join("many");
    fs::create_dir(&many).unwrap();
    let n = 3000u32;
    let px = vec![1u8; (n * 64 * 64) as usize];
    fs::write(many.join("train-images-idx3-ubyte"), idx(&[n, 64, 64], &px)).unwrap();
    let labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    fs::write(many.join("train-labels-idx1-ubyte"), idx(&[n], &labels)).unwrap();
    let o = run_s(&tiny(s(&many), &["--mem-limit", "16M"]));
    o.refused(
        "IDX over the data budget",
        &["train-images-idx3-ubyte", "--size", "--max-per-class"],
    );
    // 6. A folder over the data budget.
    let o = run_s(&tiny(s(&big), &["--size", "1024", "--mem-limit", "16M"]));
    o.refused("folder over the data budget", &[s(&big), "--size"]);
    // 7. A bad memory limit in the environment is an error, not ignored.
    let mut c = bin();
    c.args(tiny(s(&big), &[]))
        .env("RESNET_LAB_MEM_LIMIT", "lots");
    run_with(c, "bad env", 30.0).refused("RESNET_LAB_MEM_LIMIT=lots", &["RESNET_LAB_MEM_LIMIT"]);
    eprintln!("memory: 7 cases");
}

/// Nets that could never fit are refused at once, from the spec, before anything is built;
/// a sweep checks all its runs before the first trains.
#[test]
fn nets_that_cannot_fit_are_refused_before_anything_is_built() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    folder(&data, &["a", "b"], 4);
    // A spec whose parameters need terabytes.
    let spec = tmp.path().join("huge.json");
    fs::write(
        &spec,
        r#"{"name":"huge","layers":[{"type":"Conv","out":4096,"k":3,"stride":1,"pad":1},
            {"type":"Linear","out":100000},{"type":"Linear","out":2}]}"#,
    )
    .unwrap();
    let o = run_s(&tiny(s(&data), &["--spec", s(&spec)]));
    o.refused(
        "terabyte spec",
        &["huge would need", "memory", "narrower or shallower"],
    );
    assert!(
        o.secs < 10.0 && o.peak < 256 << 20,
        "{:.1} s, {} MiB",
        o.secs,
        o.peak >> 20
    );
    // ResNet-1202 at batch 128 on 28x28 images in 2 GiB: refused at once, naming a batch
    // that fits.
    let o = run(&[
        "train",
        "--data",
        "builtin",
        "--max-per-class",
        "20",
        "--depth",
        "1202",
        "--batch",
        "128",
        "--mem-limit",
        "2G",
    ]);
    o.refused(
        "resnet-1202 in 2G",
        &["resnet-1202 would need", "--mem-limit 2 GiB", "--batch"],
    );
    assert!(o.secs < 10.0, "{:.1} s", o.secs);
    // A sweep whose deepest run does not fit trains none.
    let out = tmp.path().join("sweep");
    let o = run(&[
        "sweep",
        "--data",
        "builtin",
        "--max-per-class",
        "20",
        "--depths",
        "8",
        "1202",
        "--epochs",
        "1",
        "--max-steps",
        "1",
        "--mem-limit",
        "1G",
        "--out",
        s(&out),
    ]);
    o.refused("sweep with a run that does not fit", &["1202 would need"]);
    assert!(!out.join("resnet-8.json").exists() && !out.join("plain-8.json").exists());
    eprintln!("nets: 3 cases");
}

/// The estimate bounds the peak resident memory of real runs (and is not absurdly loose).
#[test]
fn the_budget_estimate_bounds_the_measured_peak() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for (k, c) in ["a", "b", "c"].iter().enumerate() {
        fs::create_dir_all(data.join(c)).unwrap();
        for i in 0..24u8 {
            fs::write(
                data.join(c).join(format!("{i}.png")),
                png(48, 48, i + k as u8 * 50, true),
            )
            .unwrap();
        }
    }
    let ds = load_within(&data, LoadOptions::default()).unwrap();
    assert_eq!((ds.channels, ds.height, ds.width), (3, 48, 48));
    for (depth, width, batch, threads) in [(8, 16, 32, 2), (14, 8, 48, 1)] {
        let spec = resnet_lab::nn::presets::cifar(
            depth,
            true,
            resnet_lab::nn::presets::ShortcutOption::A,
            width,
            3,
        )
        .unwrap();
        let hyper = Hyper {
            batch,
            threads,
            ..Hyper::default()
        };
        let est = budget::estimate(&spec, &hyper, DataShape::of(&ds)).unwrap();
        let args: Vec<String> = [
            "train",
            "--data",
            s(&data),
            "--depth",
            &depth.to_string(),
            "--width",
            &width.to_string(),
            "--batch",
            &batch.to_string(),
            "--threads",
            &threads.to_string(),
            "--epochs",
            "1",
            "--max-steps",
            "2",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        let o = run_s(&args);
        o.ok("budget run");
        eprintln!(
            "resnet-{depth} width {width} batch {batch}: peak {} MiB, estimate {} MiB",
            o.peak >> 20,
            est.total() >> 20
        );
        assert!(
            o.peak <= est.total(),
            "peak {} > estimate {}",
            o.peak,
            est.total()
        );
        assert!(
            est.total() < 6 * o.peak,
            "estimate {} is over 6x the peak {}",
            est.total(),
            o.peak
        );
    }
}

// --- JSON -------------------------------------------------------------------------------------

/// NaN and infinity survive every JSON the CLI writes, and `export` reads every history:
/// an empty test split (NaN test error), a diverged run, and an old file with `null`s.
#[test]
fn nan_and_infinity_round_trip_and_export_reads_every_history() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A test split whose every image is corrupt: the test error is NaN.
    let data = d.join("data");
    folder(&data.join("train"), &["a", "b"], 6);
    for c in ["a", "b"] {
        fs::create_dir_all(data.join("test").join(c)).unwrap();
        fs::write(data.join("test").join(c).join("x.png"), "not a png").unwrap();
    }
    let run1 = d.join("empty_test.json");
    run_s(&tiny(s(&data), &["--out", s(&run1)])).ok("empty test split");
    let text = fs::read_to_string(&run1).unwrap();
    assert!(text.contains("\"NaN\""), "the NaN test error was not kept");
    assert!(!text.contains("\"test_err\": null"), "{text}");
    let h: RunHistory = serde_json::from_str(&text).unwrap();
    assert!(h.epochs[0].test_err.is_nan());
    // A diverged run with every kind of non-finite value, written as the CLI writes it.
    let mut h2 = h.clone();
    h2.label = "diverged".into();
    h2.status = resnet_lab::train::RunStatus::Diverged { step: 3 };
    h2.step_loss = vec![2.3, f32::INFINITY, f32::NAN];
    h2.step_err = vec![0.9, 0.9, f32::NAN];
    h2.step_lr = vec![0.1; 3];
    h2.grad_norms_init = vec![f32::NEG_INFINITY, 1.0];
    h2.epochs[0].loss = f32::INFINITY;
    let run2 = d.join("diverged.json");
    fs::write(&run2, serde_json::to_string_pretty(&h2).unwrap()).unwrap();
    let back: RunHistory = serde_json::from_str(&fs::read_to_string(&run2).unwrap()).unwrap();
    assert!(back.step_loss[1].is_infinite() && back.step_loss[2].is_nan());
    assert_eq!(back.grad_norms_init[0], f32::NEG_INFINITY);
    // An old file with nulls (written before this fix).
    let run3 = d.join("old.json");
    fs::write(&run3, text.replace("\"NaN\"", "null")).unwrap();
    for (what, f) in [
        ("empty test", &run1),
        ("diverged", &run2),
        ("old nulls", &run3),
    ] {
        let plots = d.join(format!("plots_{}", what.replace(' ', "_")));
        run(&["export", s(f), "--out", s(&plots)]).ok(what);
        assert!(
            fs::read_dir(&plots).unwrap().count() > 0,
            "{what}: no plots"
        );
    }
    // The real thing: a learning rate of 10 either diverges or ends far above chance level,
    // and either way the learner is told to lower it; export reads what train wrote.
    let run4 = d.join("lr10.json");
    let o = run(&[
        "train",
        "--data",
        "builtin",
        "--depth",
        "8",
        "--width",
        "4",
        "--epochs",
        "6",
        "--batch",
        "16",
        "--max-per-class",
        "30",
        "--lr",
        "10",
        "--probe-every",
        "0",
        "--out",
        s(&run4),
    ]);
    o.sane("lr 10");
    assert!(o.stderr.contains("lower learning rate"), "{}", o.stderr);
    run(&["export", s(&run4), "--out", s(&d.join("plots_lr10"))]).ok("export lr 10");
    eprintln!("json: 4 histories");
}

// --- Messages ---------------------------------------------------------------------------------

/// Every bad network spec is refused with a message that names the file and never starts with
/// an empty label.
#[test]
fn netspec_errors_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    folder(&data, &["a", "b"], 4);
    let conv = |out: i64, k: i64, stride: i64, pad: i64| {
        format!(r#"{{"type":"Conv","out":{out},"k":{k},"stride":{stride},"pad":{pad}}}"#)
    };
    let head = r#"{"type":"GlobalAvgPool"},{"type":"Linear","out":2}"#;
    let net = |layers: &str| format!(r#"{{"layers":[{layers}]}}"#);
    let block =
        |body: &str, sc: &str| format!(r#"{{"type":"Block","body":[{body}],"shortcut":"{sc}"}}"#);
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty file", String::new(), "not a valid network spec"),
        ("not json", "{ nope".into(), "not a valid network spec"),
        ("wrong type", "[1,2,3]".into(), "not a valid network spec"),
        (
            "no layers field",
            r#"{"name":"x"}"#.into(),
            "not a valid network spec",
        ),
        (
            "unknown layer",
            net(r#"{"type":"Dropout"}"#),
            "not a valid network spec",
        ),
        ("no layers", net(""), "no layers"),
        ("no head", net(&conv(4, 3, 1, 1)), "Linear"),
        (
            "zero channels",
            net(&format!("{},{head}", conv(0, 3, 1, 1))),
            "at least 1",
        ),
        (
            "huge kernel",
            net(&format!("{},{head}", conv(4, 99, 1, 1))),
            "kernel",
        ),
        (
            "negative",
            net(&format!("{},{head}", conv(-4, 3, 1, 1))),
            "not a valid network spec",
        ),
        (
            "kernel larger than image",
            net(&format!("{},{head}", conv(4, 15, 1, 0))),
            "does not fit",
        ),
        (
            "stride 9",
            net(&format!("{},{head}", conv(4, 3, 9, 1))),
            "stride",
        ),
        (
            "shortcut mismatch",
            net(&format!(
                "{},{},{head}",
                conv(4, 3, 1, 1),
                block(&conv(8, 3, 1, 1), "Identity")
            )),
            "shortcut",
        ),
        (
            "empty block",
            net(&format!("{},{head}", block("", "Identity"))),
            "at least one layer",
        ),
        (
            "wrong classes",
            net(&format!(
                "{},{}",
                conv(4, 3, 1, 1),
                r#"{"type":"GlobalAvgPool"},{"type":"Linear","out":7}"#
            )),
            "2 classes",
        ),
        (
            "linear too wide",
            net(&format!(
                r#"{},{{"type":"Linear","out":1000000}},{head}"#,
                conv(4, 3, 1, 1)
            )),
            "100000",
        ),
        (
            "deep nesting",
            "[".repeat(100_000),
            "not a valid network spec",
        ),
        (
            "residual scale",
            net(&format!(
                r#"{},{{"type":"Block","body":[{}],"shortcut":"Identity","residual_scale":-3}},{head}"#,
                conv(4, 3, 1, 1),
                conv(4, 3, 1, 1)
            )),
            "residual scale",
        ),
    ];
    for (what, text, needle) in &cases {
        let f = tmp.path().join(format!("{}.json", what.replace(' ', "_")));
        fs::write(&f, text).unwrap();
        let o = run_s(&tiny(s(&data), &["--spec", s(&f)]));
        o.refused(what, &[s(&f), needle]);
    }
    // A good spec without a name trains under its file's name.
    let f = tmp.path().join("mine.json");
    fs::write(&f, net(&format!("{},{head}", conv(4, 3, 1, 1)))).unwrap();
    let o = run_s(&tiny(s(&data), &["--spec", s(&f)]));
    o.ok("nameless spec");
    assert!(o.stderr.contains("mine"), "{}", o.stderr);
    eprintln!("specs: {} cases", cases.len() + 1);
}

/// Absurd flags are refused while the command line is read: at once, naming the flag.
#[test]
fn absurd_flags_are_refused_at_parse_time() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["train", "--width", "0"], "--width"),
        (vec!["train", "--width", "100000"], "--width"),
        (vec!["train", "--depth", "99998"], "--depth"),
        (vec!["train", "--depth", "600000000000000002"], "--depth"),
        (vec!["train", "--depth", "21"], "6n+2"),
        (vec!["train", "--depth=-8"], "--depth"),
        (vec!["sweep", "--depths", "8", "7"], "--depths"),
        (vec!["sweep", "--depths", "600000000000000002"], "--depths"),
        (vec!["train", "--epochs", "0"], "--epochs"),
        (vec!["train", "--epochs", "99999999"], "--epochs"),
        (vec!["train", "--batch", "0"], "--batch"),
        (vec!["train", "--batch", "1000000"], "--batch"),
        (vec!["train", "--lr", "inf"], "--lr"),
        (vec!["train", "--lr", "nan"], "--lr"),
        (vec!["train", "--lr=-3"], "--lr"),
        (vec!["train", "--lr", "1e30"], "--lr"),
        (vec!["train", "--momentum", "1"], "--momentum"),
        (vec!["train", "--wd=-1"], "--wd"),
        (vec!["train", "--threads", "100000"], "--threads"),
        (vec!["train", "--max-steps", "0"], "--max-steps"),
        (vec!["train", "--residual-scale=-1"], "--residual-scale"),
        (vec!["train", "--max-per-class", "0"], "--max-per-class"),
        (vec!["train", "--size", "0"], "--size"),
        (vec!["train", "--size", "100000x2"], "--size"),
        (vec!["train", "--mem-limit", "1k"], "--mem-limit"),
        (vec!["train", "--mem-limit", "lots"], "--mem-limit"),
        (vec!["export", "x.json", "--width", "100000"], "--width"),
        (vec!["export", "x.json", "--height", "0"], "--height"),
    ];
    for (args, flag) in &cases {
        let o = run(args);
        o.sane(&args.join(" "));
        assert_eq!(o.code, Some(2), "{args:?}: {}", o.stderr);
        assert!(
            o.stderr.contains(flag),
            "{args:?} does not name {flag}: {}",
            o.stderr
        );
        assert!(o.secs < 5.0, "{args:?} took {:.1} s", o.secs);
    }
    eprintln!("flags: {} cases", cases.len());
}

/// Folder layouts that used to get the wrong words, and gzip that used to be called truncated.
#[test]
fn layouts_and_gzip_get_the_right_reading() {
    let tmp = tempfile::tempdir().unwrap();
    // train/ without test/: the classes are under train/, not one class called "train".
    let t = tmp.path().join("only_train");
    folder(&t.join("train"), &["cat", "dog"], 5);
    let ds = load_within(&t, LoadOptions::default()).unwrap();
    assert_eq!(ds.classes, ["cat", "dog"]);
    assert!(
        ds.warnings.join(" ").contains("no test"),
        "{:?}",
        ds.warnings
    );
    // A multi-member gzip (two .gz files concatenated) is one valid file.
    let m = tmp.path().join("multi");
    fs::create_dir(&m).unwrap();
    let labels = [0u8, 1, 0, 1, 0, 1];
    let img = idx(&[6, 4, 4], &[9u8; 96]);
    let mut two = gz(&img[..50]);
    two.extend(gz(&img[50..]));
    fs::write(m.join("train-images-idx3-ubyte.gz"), two).unwrap();
    fs::write(
        m.join("train-labels-idx1-ubyte.gz"),
        gz(&idx(&[6], &labels)),
    )
    .unwrap();
    let ds = load_within(&m, LoadOptions::default()).unwrap();
    assert_eq!(ds.train.len() + ds.test.len(), 6);
    // A truncated gzip is still called truncated, naming the file.
    let full = gz(&img);
    fs::write(
        m.join("train-images-idx3-ubyte.gz"),
        &full[..full.len() - 9],
    )
    .unwrap();
    let e = load_within(&m, LoadOptions::default()).unwrap_err();
    assert!(
        e.contains("train-images-idx3-ubyte.gz") && e.contains("truncated"),
        "{e}"
    );
}

/// A run that ends no better than guessing says so and suggests a lower learning rate.
#[test]
fn a_run_that_learned_nothing_says_so() {
    let spec = resnet_lab::nn::presets::cifar(8, true, Default::default(), 4, 10).unwrap();
    let entry = resnet_lab::train::NetEntry::new(spec);
    let mut h = RunHistory::new(&entry, &Hyper::default());
    h.status = resnet_lab::train::RunStatus::Finished;
    h.step_loss = vec![11.0; 200];
    h.step_err = vec![0.93; 200];
    let v = h
        .verdict()
        .expect("loss 11 with 10 classes learned nothing");
    assert!(
        v.contains("11.00") && v.contains("2.30") && v.contains("lower learning rate"),
        "{v}"
    );
    h.step_loss = vec![2.31; 200];
    let v = h
        .verdict()
        .expect("93% error after 200 steps learned nothing");
    assert!(v.contains("93%") && v.contains("90%"), "{v}");
    h.step_err = vec![0.2; 200];
    h.step_loss = vec![0.6; 200];
    assert_eq!(h.verdict(), None);
    // Few steps at chance level is a short run, not a failure.
    h.step_err = vec![0.9; 10];
    h.step_loss = vec![2.3; 10];
    assert_eq!(h.verdict(), None);
}

// --- Labels -----------------------------------------------------------------------------------

/// Labels outside the class set are refused with counts, never widen it; gaps are reported.
#[test]
fn labels_out_of_range_are_refused_with_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut ten: Vec<u8> = (0..40).map(|i| (i % 10) as u8).collect();
    // IDX: one stray 255 among labels 0-9 (no classes.txt).
    let a = d.join("idx255");
    ten[7] = 255;
    idx_set(&a, &ten);
    let e = load_within(&a, LoadOptions::default()).unwrap_err();
    assert!(
        e.contains("train-labels-idx1-ubyte") && e.contains("label 255: 1 image"),
        "{e}"
    );
    // IDX with a classes.txt naming 10 classes and two labels of 12.
    let b = d.join("idx_named");
    ten[7] = 12;
    ten[8] = 12;
    idx_set(&b, &ten);
    fs::write(
        b.join("classes.txt"),
        (0..10).map(|i| format!("c{i}\n")).collect::<String>(),
    )
    .unwrap();
    let e = load_within(&b, LoadOptions::default()).unwrap_err();
    assert!(
        e.contains("2 of its 40 labels are outside 0-9") && e.contains("label 12: 2 images"),
        "{e}"
    );
    assert!(e.contains("classes.txt"), "{e}");
    // IDX with labels 1..=4 (like EMNIST letters, no 0): loads, and the empty class is named.
    let c = d.join("idx_from_one");
    idx_set(&c, &[1, 2, 3, 4, 1, 2, 3, 4]);
    let ds = load_within(&c, LoadOptions::default()).unwrap();
    assert_eq!(ds.classes.len(), 5);
    assert!(
        ds.warnings.join(" ").contains("have no images (0)"),
        "{:?}",
        ds.warnings
    );
    // CIFAR-10 with a label of 200.
    let e_dir = d.join("cifar10");
    fs::create_dir(&e_dir).unwrap();
    let mut l: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
    l[3] = 200;
    fs::write(e_dir.join("data_batch_1.bin"), cifar(&l, 1)).unwrap();
    let e = load_within(&e_dir, LoadOptions::default()).unwrap_err();
    assert!(
        e.contains("data_batch_1.bin") && e.contains("label 200: 1 image"),
        "{e}"
    );
    assert!(e.contains("CIFAR-10 labels go from 0 to 9"), "{e}");
    // CIFAR-100 with a fine label of 150.
    let f_dir = d.join("cifar100");
    fs::create_dir(&f_dir).unwrap();
    let mut l: Vec<u8> = (0..20).map(|i| (i % 20) as u8).collect();
    l[0] = 150;
    fs::write(f_dir.join("train.bin"), cifar(&l, 2)).unwrap();
    let e = load_within(&f_dir, LoadOptions::default()).unwrap_err();
    assert!(e.contains("train.bin") && e.contains("label 150"), "{e}");
    eprintln!("labels: 5 cases");
}

/// Class folders whose names are not UTF-8 and would read the same after a lossy conversion
/// stay two classes with all their images, and the learner is told.
#[test]
fn class_names_that_collide_after_conversion_stay_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("odd");
    for (k, name) in [&b"caf\xe9"[..], &b"caf\xe8"[..], &b"tea"[..]]
        .iter()
        .enumerate()
    {
        let d = root.join(OsStr::from_bytes(name));
        fs::create_dir_all(&d).unwrap();
        for i in 0..(4 + k as u8 * 2) {
            fs::write(
                d.join(format!("{i}.png")),
                png(8, 8, i + 40 * k as u8, false),
            )
            .unwrap();
        }
    }
    let ds = load_within(&root, LoadOptions::default()).unwrap();
    assert_eq!(ds.classes.len(), 3, "{:?}", ds.classes);
    assert!(
        ds.classes.contains(&"caf\\xE9".to_string())
            && ds.classes.contains(&"caf\\xE8".to_string())
    );
    assert_eq!(
        ds.train.len() + ds.test.len(),
        4 + 6 + 8,
        "images were dropped"
    );
    assert!(
        ds.warnings.join(" ").contains("not valid UTF-8"),
        "{:?}",
        ds.warnings
    );
}

/// Class numbers are 16-bit: a folder with more classes than that is refused, saying so,
/// instead of sending images to the wrong labels.
#[test]
fn the_class_limit_is_stated_and_enforced() {
    // 65,540 folders: on a memory file system when there is one (seconds, not minutes), else
    // (or if it fills up) in the usual temporary folder.
    let n = data::MAX_CLASSES + 4;
    let build = |tmp: &tempfile::TempDir| -> std::io::Result<PathBuf> {
        let root = tmp.path().join("many_classes");
        fs::create_dir(&root)?;
        for k in 0..n {
            let d = root.join(format!("c{k}"));
            fs::create_dir(&d)?;
            // The walker picks images by name; the limit is refused before anything is decoded.
            fs::File::create(d.join("x.png"))?;
        }
        Ok(root)
    };
    let (_tmp, root) = match tempfile::tempdir_in("/dev/shm").map(|t| (build(&t), t)) {
        Ok((Ok(root), t)) => (t, root),
        _ => {
            let t = tempfile::tempdir().unwrap();
            let root = build(&t).unwrap();
            (t, root)
        }
    };
    let start = Instant::now();
    let e = load_within(&root, LoadOptions::default()).unwrap_err();
    assert!(
        e.contains(&format!("{n} class folders")) && e.contains("65536"),
        "{e}"
    );
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}

/// The spec-based estimate is what the budget check uses; keep the two in step.
#[test]
fn estimate_and_check_agree() {
    let spec: NetSpec = resnet_lab::nn::presets::by_name("resnet-20", 16, 10).unwrap();
    let h = Hyper::default();
    let shape = DataShape {
        input: Shape::new(3, 32, 32),
        n_train: 50_000,
        n_test: 10_000,
        bytes: 60_000 * 3072,
    };
    let e = budget::estimate(&spec, &h, shape).unwrap();
    let limit = resnet_lab::util::MemLimit {
        bytes: e.total(),
        source: "test".into(),
    };
    assert!(budget::check_parts("r", &spec, &h, shape, &limit).is_ok());
    let less = resnet_lab::util::MemLimit {
        bytes: e.total() - 1,
        ..limit
    };
    assert!(budget::check_parts("r", &spec, &h, shape, &less).is_err());
}
