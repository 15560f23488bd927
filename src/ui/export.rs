//! Writes charts and experiments to disk as background tasks and reports where they went.
use crate::plot::{self, Chart, Grid};
use crate::task::{Task, Wake};
use std::path::{Path, PathBuf};
use web_time::{Duration, Instant};

/// How long "Saved ..." stays on screen; a failure stays longer, it needs reading.
pub const NOTICE_SECS: u64 = 8;
pub const ERROR_NOTICE_SECS: u64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Png,
    Csv,
}

/// Queue of background writes and the notices they leave.
#[derive(Default)]
pub struct Exporter {
    /// Folder typed by the learner; empty means the current directory.
    pub dir: String,
    writing: Vec<Task<PathBuf>>,
    pub notice: Option<Result<PathBuf, String>>,
    /// When the notice arrived: notices expire, so "Saved x.csv" does not linger over later runs.
    notice_at: Option<Instant>,
}

impl Exporter {
    pub fn folder(&self) -> PathBuf {
        if self.dir.trim().is_empty() {
            PathBuf::from(".")
        } else {
            PathBuf::from(self.dir.trim())
        }
    }

    pub fn is_busy(&self) -> bool {
        !self.writing.is_empty()
    }

    /// Draws and writes `chart` off the UI thread; `wake` redraws when it is done.
    pub fn export(&mut self, chart: Chart, kind: Kind, wake: Wake) {
        let ext = match kind {
            Kind::Png => "png",
            Kind::Csv => "csv",
        };
        let path = self.folder().join(format!("{}.{ext}", chart.slug()));
        self.spawn(path, wake, move || match kind {
            Kind::Png => plot::to_png(&chart, plot::DEFAULT_SIZE),
            Kind::Csv => Ok(plot::to_csv(&chart).into_bytes()),
        });
    }

    /// Draws and writes a heatmap off the UI thread.
    pub fn export_grid(&mut self, grid: Grid, kind: Kind, wake: Wake) {
        let ext = match kind {
            Kind::Png => "png",
            Kind::Csv => "csv",
        };
        let path = self.folder().join(format!("{}.{ext}", grid.slug()));
        self.spawn(path, wake, move || match kind {
            Kind::Png => plot::grid_to_png(&grid, plot::DEFAULT_SIZE),
            Kind::Csv => Ok(plot::grid_to_csv(&grid).into_bytes()),
        });
    }

    /// Writes whatever `make` produces to `path` on a worker thread.
    pub fn spawn(
        &mut self,
        path: PathBuf,
        wake: Wake,
        make: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static,
    ) {
        self.writing.push(Task::run("export", wake, move || {
            make().and_then(|bytes| write(&path, &bytes))
        }));
    }

    pub fn poll(&mut self) {
        let mut i = 0;
        while i < self.writing.len() {
            match self.writing[i].poll() {
                Some(r) => {
                    self.writing.remove(i);
                    self.notice = Some(r);
                    self.notice_at = Some(Instant::now());
                }
                None => i += 1,
            }
        }
        let limit = match &self.notice {
            Some(Ok(_)) => NOTICE_SECS,
            _ => ERROR_NOTICE_SECS,
        };
        if self
            .notice_at
            .is_some_and(|t| t.elapsed() >= Duration::from_secs(limit))
        {
            self.clear_notice();
        }
    }

    /// Forgets the last notice (a new run makes it old news).
    pub fn clear_notice(&mut self) {
        self.notice = None;
        self.notice_at = None;
    }

    /// Seconds until the current notice expires, for scheduling a repaint.
    pub fn notice_expires_in(&self) -> Option<Duration> {
        let limit = match self.notice.as_ref()? {
            Ok(_) => NOTICE_SECS,
            Err(_) => ERROR_NOTICE_SECS,
        };
        Some(Duration::from_secs(limit).saturating_sub(self.notice_at?.elapsed()))
    }

    pub fn notice_text(&self) -> Option<String> {
        self.notice.as_ref().map(|n| match n {
            Ok(p) => format!("Saved {}", p.display()),
            Err(e) => format!("Could not save: {e}"),
        })
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<PathBuf, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::util::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    crate::util::write_atomic(path, bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
}
