//! The one way this project writes a file: every CLI output, app export, saved experiment and
//! converted data set goes through [`write_atomic`] or [`write_atomic_with`].
//!
//! What it promises, and why:
//! - Only a regular file (or nothing) at the target is ever replaced. `--out /dev/null` run as
//!   root used to rename a temporary file over the device node; a folder, a device, a FIFO, a
//!   socket or a symbolic link at the target is now refused with a sentence that says what it is.
//! - The temporary file sits next to the target (so the final rename stays on one file system)
//!   under an unpredictable name, created with `O_CREAT | O_EXCL` (the `tempfile` crate), which
//!   never follows a link: a link planted at a guessed temporary name cannot redirect the write.
//! - Bytes are flushed and `fsync`ed before the rename, so the target is either the old file or
//!   the whole new one, never a torn mix.
//! - On any failure the temporary file is removed and the real cause (ENOSPC, EFBIG, EACCES...)
//!   comes back in the error; on SIGINT, SIGTERM or SIGHUP in the CLI ([`install_signal_cleanup`])
//!   the handler removes it too. SIGKILL cannot be caught: the file it leaves is named
//!   `.<name>.<pid>-<random>.partial`, hidden (every loader skips hidden files) and swept away by
//!   the next write to the same target once its process is gone.
use std::ffi::{CString, OsStr, OsString};
use std::fs::{self, FileType, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// Suffix of every temporary file this module creates.
pub const TEMP_SUFFIX: &str = ".partial";
/// Random characters in a temporary name (62^10 possibilities).
const RAND_CHARS: usize = 10;
/// Longest piece of the target's name kept in the temporary name, so the whole stays within
/// the usual 255-byte limit on a file name.
const NAME_KEEP: usize = 180;

/// Writes `bytes` to `path` through a temporary file and an atomic rename (see the module docs).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Like [`write_atomic`], for content produced piece by piece: `fill` writes into a buffered
/// writer on the temporary file. An error from `fill` removes the temporary file and comes back.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    write_with(path, fill, RAND_CHARS)
}

/// `rand_chars` is [`RAND_CHARS`] except in a test that needs a predictable temporary name.
fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    rand_chars: usize,
) -> io::Result<()> {
    let (name, dir) = target_parts(path)?;
    let existing = check_target(path)?;
    sweep_stale(dir, name);
    let mode = existing
        .as_ref()
        .map(|p| p.mode() & 0o7777)
        .unwrap_or(0o666);
    let prefix = temp_prefix(name, std::process::id());
    let tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .rand_bytes(rand_chars)
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    let _guard = SignalSlot::register(tmp.path());
    {
        let mut w = BufWriter::new(tmp.as_file());
        fill(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    test_hook_delay();
    // The rename moves whatever the temporary *name* holds: make sure it is still our file.
    let ours = tmp.as_file().metadata()?;
    match fs::symlink_metadata(tmp.path()) {
        Ok(m) if m.dev() == ours.dev() && m.ino() == ours.ino() => {}
        _ => {
            return Err(io::Error::other(format!(
                "the temporary file {} was replaced by something else while it was written",
                tmp.path().display()
            )));
        }
    }
    // The target may have changed while we wrote: look again just before the rename.
    let now = check_target(path)?;
    match now {
        // Absent: rename without replacing, so a node created meanwhile is never clobbered.
        None => match tmp.persist_noclobber(path) {
            Ok(_) => {}
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                // Something appeared meanwhile: replace it only if it is a regular file.
                check_target(path)?;
                e.file.persist(path).map_err(|e| e.error)?;
            }
            Err(e) => return Err(e.error),
        },
        Some(_) => {
            tmp.persist(path).map_err(|e| e.error)?;
        }
    }
    // The rename itself is durable only once the folder is synced; failing here loses nothing.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates `dir` and its parents (the folder a write goes into).
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Whether [`write_atomic`] could write `path` now: it names a file, its folder exists, and
/// nothing but a regular file is there. Lets a command refuse a bad output path before it
/// spends minutes on work it could not save.
pub fn check_writable(path: &Path) -> io::Result<()> {
    target_parts(path)?;
    check_target(path).map(|_| ())
}

/// The target's file name and its folder, which must exist.
fn target_parts(path: &Path) -> io::Result<(&OsStr, &Path)> {
    let name = path
        .file_name()
        .ok_or_else(|| invalid(format!("{} names a folder, not a file", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok((name, dir)),
        Ok(_) => Err(invalid(format!("{} is not a folder", dir.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the folder {} does not exist", dir.display()),
        )),
        Err(e) => Err(e),
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// `Ok(Some(permissions))` for a regular file, `Ok(None)` when nothing is there, an error that
/// says what is there otherwise.
fn check_target(path: &Path) -> io::Result<Option<Permissions>> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => Ok(Some(m.permissions())),
        Ok(m) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} is {}, not a regular file; only regular files are replaced, so choose another path",
                path.display(),
                kind_of(m.file_type())
            ),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// "a FIFO (named pipe)", "a character device", ... for messages.
pub fn kind_of(t: FileType) -> &'static str {
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// `.<name>.` with the name cut to [`NAME_KEEP`] bytes.
fn temp_head(name: &OsStr) -> Vec<u8> {
    let bytes = name.as_bytes();
    let mut p = Vec::with_capacity(bytes.len().min(NAME_KEEP) + 2);
    p.push(b'.');
    p.extend_from_slice(&bytes[..bytes.len().min(NAME_KEEP)]);
    p.push(b'.');
    p
}

/// `.<name>.<pid>-`: the random part and [`TEMP_SUFFIX`] follow.
fn temp_prefix(name: &OsStr, pid: u32) -> OsString {
    let mut p = temp_head(name);
    p.extend_from_slice(format!("{pid}-").as_bytes());
    OsString::from_vec(p)
}

/// Whether `file` is a temporary file of ours for the target `name`; returns its process id.
fn temp_pid(file: &OsStr, name: &OsStr) -> Option<u32> {
    let rest = file.as_bytes().strip_prefix(&temp_head(name)[..])?;
    let rest = rest.strip_suffix(TEMP_SUFFIX.as_bytes())?;
    let dash = rest.iter().position(|&b| b == b'-')?;
    let (pid, random) = (&rest[..dash], &rest[dash + 1..]);
    if random.len() != RAND_CHARS || !random.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    std::str::from_utf8(pid).ok()?.parse().ok()
}

/// Is `file` (a bare file name) a temporary file left by this module for any target?
pub fn is_temp_name(file: &OsStr) -> bool {
    let b = file.as_bytes();
    b.first() == Some(&b'.') && b.ends_with(TEMP_SUFFIX.as_bytes())
}

fn process_gone(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Removes temporary files for this target left by processes that no longer run (a SIGKILL
/// during a write). Files of live processes are theirs to finish.
fn sweep_stale(dir: &Path, name: &OsStr) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    let me = std::process::id();
    for e in rd.flatten() {
        let file = e.file_name();
        let Some(pid) = temp_pid(&file, name) else {
            continue;
        };
        if pid == me || !process_gone(pid) {
            continue;
        }
        if e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Debug builds only: `RESNET_LAB_TEST_WRITE_DELAY_MS` holds every write between the `fsync`
/// and the rename, so tests can signal a process in the middle of a write.
fn test_hook_delay() {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("RESNET_LAB_TEST_WRITE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms.min(60_000)));
    }
}

// --- Removing temporary files when the CLI is interrupted -------------------------------------

const SLOTS: usize = 32;
static TEMP_PATHS: [AtomicPtr<libc::c_char>; SLOTS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];
static HANDLER: AtomicBool = AtomicBool::new(false);

/// A temporary path the signal handler may remove while this guard lives.
struct SignalSlot(Option<usize>);

impl SignalSlot {
    fn register(path: &Path) -> Self {
        if !HANDLER.load(Ordering::SeqCst) {
            return SignalSlot(None);
        }
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
            return SignalSlot(None);
        };
        let raw = c.into_raw();
        for (i, slot) in TEMP_PATHS.iter().enumerate() {
            if slot
                .compare_exchange(
                    std::ptr::null_mut(),
                    raw,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
                .is_ok()
            {
                return SignalSlot(Some(i));
            }
        }
        // All slots busy (32 writes at once): this one is not cleaned on a signal.
        // SAFETY: `raw` came from `into_raw` above and was never shared.
        drop(unsafe { CString::from_raw(raw) });
        SignalSlot(None)
    }
}

impl Drop for SignalSlot {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            // The string is leaked on purpose: a handler on another thread may be reading it,
            // and a few bytes per write are cheaper than a lock a signal handler cannot take.
            TEMP_PATHS[i].store(std::ptr::null_mut(), Ordering::SeqCst);
        }
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    for slot in &TEMP_PATHS {
        let p = slot.load(Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: unlink is async-signal-safe; `p` is a leaked, never-freed C string.
            unsafe { libc::unlink(p) };
        }
    }
    // SA_RESETHAND restored the default action: die of the same signal once we return.
    // SAFETY: raise is async-signal-safe.
    unsafe { libc::raise(sig) };
}

/// Makes SIGINT, SIGTERM and SIGHUP remove the temporary files of writes in progress before
/// the process dies of the signal as it would have anyway. Signals that are ignored (e.g. under
/// `nohup`) stay ignored. Called once by the CLI; the app closes its own way.
pub fn install_signal_cleanup() {
    if HANDLER.swap(true, Ordering::SeqCst) {
        return;
    }
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: plain sigaction calls with a zeroed, then filled, struct.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction != libc::SIG_DFL
            {
                continue;
            }
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as *const () as usize;
            act.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// The temporary files of this module in `dir` (for tests and diagnostics).
pub fn temp_files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| is_temp_name(&e.file_name()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let e = write_atomic(&dir.path().join("missing/x"), b"1").unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
        let e = write_atomic(Path::new("/"), b"1").unwrap_err();
        assert!(e.to_string().contains("folder"), "{e}");
    }

    #[test]
    fn a_link_planted_at_the_temporary_name_cannot_redirect_the_write() {
        // With no random part the temporary name is predictable: plant a link there first.
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, "precious").unwrap();
        let target = dir.path().join("out.json");
        let mut tmp_name = temp_prefix(OsStr::new("out.json"), std::process::id()).into_vec();
        tmp_name.extend_from_slice(TEMP_SUFFIX.as_bytes());
        let planted = dir.path().join(OsString::from_vec(tmp_name));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let e = write_with(&target, |w| w.write_all(b"attack"), 0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(
            fs::symlink_metadata(&planted)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(!target.exists());
        // A dangling link (to a file that does not exist yet) is not followed either.
        let later = dir.path().join("later.txt");
        fs::remove_file(&planted).unwrap();
        std::os::unix::fs::symlink(&later, &planted).unwrap();
        assert!(write_with(&target, |w| w.write_all(b"attack"), 0).is_err());
        assert!(!later.exists());
        // With the random part, the same write goes through beside the planted link.
        write_atomic(&target, b"ok").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"ok");
        assert!(!later.exists());
    }

    #[test]
    fn non_regular_targets_are_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_atomic(dir.path(), b"x").unwrap_err().to_string();
        assert!(
            e.contains("a folder") || e.contains("names a folder"),
            "{e}"
        );
        let real = dir.path().join("real.json");
        fs::write(&real, "keep").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = write_atomic(&link, b"x").unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(fs::read_to_string(&real).unwrap(), "keep");
        for dev in ["/dev/null", "/dev/full"] {
            let e = write_atomic(Path::new(dev), b"x").unwrap_err().to_string();
            assert!(e.contains("character device") && e.contains(dev), "{e}");
            let t = fs::symlink_metadata(dev).unwrap().file_type();
            assert!(t.is_char_device(), "{dev} is no longer a device");
        }
        // A failing producer leaves nothing behind and its error comes back.
        let p = dir.path().join("half.json");
        let e = write_atomic_with(&p, |w| {
            w.write_all(b"half")?;
            Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "disk full (simulated)",
            ))
        })
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert!(!p.exists() && temp_files_in(dir.path()).is_empty());
    }

    #[test]
    fn keeps_the_mode_of_the_file_it_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn temp_names_are_recognised() {
        let name = OsStr::new("run.json");
        let p = temp_prefix(name, 4242);
        let mut f = p.into_vec();
        f.extend_from_slice(b"Ab3dE9xZ01.partial");
        let f = OsString::from_vec(f);
        assert_eq!(temp_pid(&f, name), Some(4242));
        assert!(is_temp_name(&f));
        assert_eq!(
            temp_pid(OsStr::new(".run.json.4242-short.partial"), name),
            None
        );
        assert_eq!(temp_pid(&f, OsStr::new("other.json")), None);
        // A very long name is cut, and still recognised.
        let long = OsString::from("x".repeat(250));
        let mut f = temp_prefix(&long, 7).into_vec();
        assert!(f.len() < 200);
        f.extend_from_slice(b"0123456789.partial");
        assert_eq!(temp_pid(&OsString::from_vec(f), &long), Some(7));
    }

    #[test]
    fn the_stale_temp_of_a_dead_process_is_swept_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let name = OsStr::new("run.json");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = |pid: u32| {
            let mut f = temp_prefix(name, pid).into_vec();
            f.extend_from_slice(b"abcdefghij.partial");
            dir.path().join(OsString::from_vec(f))
        };
        fs::write(stale(dead), "half").unwrap();
        fs::write(stale(1), "init is alive").unwrap();
        write_atomic(&dir.path().join("run.json"), b"{}").unwrap();
        assert!(!stale(dead).exists());
        assert!(stale(1).exists());
    }
}
