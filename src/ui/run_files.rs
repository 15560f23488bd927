//! Runs on disk from the app: Save runs / Open run for the learner's own folders, the app's own
//! copy of every finished run (so a restart brings the runs back), and the restore at start.
//! Every read and write runs as a background job; the UI only moves results in and out.
use crate::data::Dataset;
use crate::task::{Slot, Task, Wake};
use crate::train::eval;
use crate::train::run_dir::{self, SavedRun, Snapshot};
use crate::train::{RunId, RunStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A reopened run, with the data set it trained on (or why that could not be loaded).
pub struct Reopened {
    pub run: SavedRun,
    pub data: Result<Arc<Dataset>, String>,
}

/// What Save runs / Open run / the restore hand back.
pub enum Done {
    Saved(Vec<PathBuf>),
    Opened(Vec<Reopened>),
    Restored(Vec<Result<Reopened, String>>),
}

/// Opens run folders with the data sets they trained on (runs of one data set share it), so
/// Inspect and Landscape can look inside them at once. Slow: a background task's work.
fn reopen(dirs: &[PathBuf]) -> Vec<Result<Reopened, String>> {
    let mut loaded: Vec<(String, Result<Arc<Dataset>, String>)> = Vec::new();
    dirs.iter()
        .map(|d| {
            let run = run_dir::open(d)?;
            let data = match &run.history.data {
                None => Err(format!(
                    "{} does not record the data set it trained on",
                    d.display()
                )),
                Some(info) => {
                    let key = serde_json::to_string(info).unwrap_or_default();
                    match loaded.iter().find(|(k, _)| *k == key) {
                        Some((_, ds)) => ds.clone(),
                        None => {
                            let ds = eval::reload(info, &Default::default()).map(Arc::new);
                            loaded.push((key, ds.clone()));
                            ds
                        }
                    }
                }
            };
            Ok(Reopened { run, data })
        })
        .collect()
}

#[derive(Default)]
pub struct RunFiles {
    /// The learner's run folder (Save runs writes one sub-folder per run here; Open run reads a
    /// run folder, or every run folder inside it).
    pub path: String,
    /// Where the app keeps its own copies of finished runs; `None` keeps nothing (tests).
    pub data_dir: Option<PathBuf>,
    /// One manual save/open at a time.
    manual: Slot<Done>,
    browsing: Slot<Option<PathBuf>>,
    /// The app's own copies being written: run, folder.
    autosaving: Vec<Task<(RunId, PathBuf)>>,
    cleaning: Option<Task<()>>,
    pub message: Option<String>,
}

/// A folder name from a run's label: letters, digits, `-` and `_`.
pub fn slug(label: &str) -> String {
    let s: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('_').to_string();
    if s.is_empty() { "run".into() } else { s }
}

fn snapshot(store: &mut RunStore, id: RunId) -> Option<Snapshot> {
    let run = store.get(id)?;
    // A worker that panicked while holding the lock left a net of unknown state: save none.
    let mut guard = run.model.as_ref().and_then(|m| m.lock().ok());
    Snapshot::of(&run.history, guard.as_deref_mut()).ok()
}

/// A run folder, or a folder of run folders: the runs to open, in name order.
pub fn run_folders(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if dir.join(run_dir::NET_FILE).is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("could not read the folder {}: {e}", dir.display()))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(run_dir::NET_FILE).is_file())
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(format!(
            "{} holds no saved run (a run folder has {})",
            dir.display(),
            run_dir::NET_FILE
        ));
    }
    Ok(found)
}

impl RunFiles {
    pub fn is_busy(&self) -> bool {
        self.manual.is_busy()
    }

    pub fn is_browsing(&self) -> bool {
        self.browsing.is_busy()
    }

    pub fn folder(&self) -> PathBuf {
        let p = self.path.trim();
        PathBuf::from(if p.is_empty() { "runs" } else { p })
    }

    /// Saves every run that has a net into `folder/<label>`, on a worker.
    pub fn save_all(&mut self, store: &mut RunStore, wake: Wake) {
        let folder = self.folder();
        let mut jobs = Vec::new();
        let mut used = std::collections::HashSet::new();
        let ids: Vec<RunId> = store.runs().iter().map(|r| r.id).collect();
        for id in ids {
            let Some(snap) = snapshot(store, id) else {
                continue;
            };
            let base = slug(&snap.history.label);
            let mut name = base.clone();
            let mut k = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}-{k}");
                k += 1;
            }
            jobs.push((folder.join(name), snap));
        }
        if jobs.is_empty() {
            self.message = Some("There is no run with a network to save yet.".into());
            return;
        }
        self.message = None;
        self.manual.start("save runs", wake, move || {
            let mut saved = Vec::new();
            for (dir, snap) in jobs {
                snap.write(&dir)?;
                saved.push(dir);
            }
            Ok(Done::Saved(saved))
        });
    }

    /// Opens the run folder (or the run folders inside the folder) in the path field.
    pub fn open(&mut self, wake: Wake) {
        let folder = self.folder();
        self.message = None;
        self.manual.start("open runs", wake, move || {
            let runs = reopen(&run_folders(&folder)?)
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Done::Opened(runs))
        });
    }

    /// Reopens the app's runs from the last session.
    pub fn restore(&mut self, dirs: Vec<PathBuf>, wake: Wake) {
        if dirs.is_empty() {
            return;
        }
        self.manual
            .start("reopen the last session's runs", wake, move || {
                Ok(Done::Restored(reopen(&dirs)))
            });
    }

    pub fn browse(&mut self, wake: Wake) {
        self.browsing.start("folder dialog", wake, || {
            Ok(super::dialog::pick_folder("Choose a run folder"))
        });
    }

    /// Keeps the app's own copy of a run that has just ended, on a worker.
    pub fn autosave(&mut self, store: &mut RunStore, id: RunId, wake: Wake) {
        let Some(root) = self.data_dir.clone() else {
            return;
        };
        let Some(snap) = snapshot(store, id) else {
            return;
        };
        let stamp = web_time::SystemTime::now()
            .duration_since(web_time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let dir = root.join(format!("{stamp}-{id}-{}", slug(&snap.history.label)));
        self.autosaving
            .push(Task::run("keep the run", wake, move || {
                snap.write(&dir)?;
                Ok((id, dir))
            }));
    }

    /// Removes the app's own copies of runs that are no longer in the session (`keep` lists
    /// those that are). Only folders this app named (`<millis>-<id>-<label>`) under `data_dir`
    /// are touched.
    pub fn forget_others(&mut self, keep: Vec<PathBuf>, wake: Wake) {
        let Some(root) = self.data_dir.clone() else {
            return;
        };
        self.cleaning = Some(Task::run("remove old runs", wake, move || {
            let Ok(entries) = std::fs::read_dir(&root) else {
                return Ok(());
            };
            for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
                let ours = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    let mut parts = n.splitn(3, '-');
                    let digits = |s: Option<&str>| {
                        s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    };
                    digits(parts.next()) && digits(parts.next())
                });
                if ours && p.is_dir() && !keep.contains(&p) {
                    let _ = std::fs::remove_dir_all(&p);
                }
            }
            Ok(())
        }));
    }

    /// Whether the app's own copies are still being written.
    pub fn autosaving(&self) -> bool {
        !self.autosaving.is_empty()
    }

    /// Collects finished jobs: records where runs were kept, adds opened runs to `store`.
    pub fn poll(&mut self, store: &mut RunStore) {
        let mut still = Vec::new();
        for mut job in std::mem::take(&mut self.autosaving) {
            match job.poll() {
                None => still.push(job),
                Some(Ok((id, dir))) => {
                    if let Some(r) = store.get_mut(id) {
                        r.dir = Some(dir);
                    }
                }
                Some(Err(e)) => {
                    self.message = Some(format!("Could not keep a copy of the run: {e}"));
                }
            }
        }
        self.autosaving = still;
        if self.cleaning.as_mut().is_some_and(|j| j.poll().is_some()) {
            self.cleaning = None;
        }
        if let Some(answer) = self.browsing.poll() {
            match answer.ok().flatten() {
                Some(p) => self.path = p.display().to_string(),
                None => {
                    self.message = Some(
                        "No folder was chosen: the dialog was cancelled or could not open here. Type the path instead."
                            .into(),
                    )
                }
            }
        }
        match self.manual.poll() {
            None => {}
            Some(Err(e)) => self.message = Some(e),
            Some(Ok(Done::Saved(dirs))) => {
                self.message = Some(match &dirs[..] {
                    [one] => format!("Saved the run to {}.", one.display()),
                    _ => format!("Saved {} runs to {}.", dirs.len(), self.folder().display()),
                });
            }
            Some(Ok(Done::Opened(runs))) => {
                let n = runs.len();
                let mut no_data = Vec::new();
                for r in runs {
                    no_data.extend(add_replacing(store, r));
                }
                self.message = Some(format!(
                    "Opened {n} run{} from {}.{}",
                    if n == 1 { "" } else { "s" },
                    self.folder().display(),
                    data_note(&no_data)
                ));
            }
            Some(Ok(Done::Restored(results))) => {
                let mut failed = Vec::new();
                let mut no_data = Vec::new();
                for r in results {
                    match r {
                        Ok(r) => no_data.extend(add_replacing(store, r)),
                        Err(e) => failed.push(e),
                    }
                }
                let mut msg = String::new();
                if !failed.is_empty() {
                    msg = format!(
                        "Could not reopen {} run{} from the last session: {}.",
                        failed.len(),
                        if failed.len() == 1 { "" } else { "s" },
                        failed[0]
                    );
                }
                msg.push_str(&data_note(&no_data));
                if !msg.is_empty() {
                    self.message = Some(msg.trim().to_string());
                }
            }
        }
    }
}

/// What the learner is told about runs whose data set could not be loaded (their curves and
/// nets are back; Inspect and Landscape need the images).
fn data_note(no_data: &[String]) -> String {
    match no_data {
        [] => String::new(),
        [one] => format!(" {one}: Inspect and Landscape need it."),
        [one, ..] => format!(
            " {one} (and {} more): Inspect and Landscape need the data.",
            no_data.len() - 1
        ),
    }
}

/// Adds a reopened run with its data set, replacing a run opened earlier from the same
/// folder; returns why its data set is missing, if it is.
fn add_replacing(store: &mut RunStore, r: Reopened) -> Option<String> {
    if let Some(old) = store
        .runs()
        .iter()
        .find(|x| x.dir.as_deref() == Some(r.run.dir.as_path()) && !x.is_live())
        .map(|x| x.id)
    {
        store.remove(old);
    }
    let label = r.run.history.label.clone();
    let id = store.add_saved(r.run);
    match r.data {
        Ok(ds) => {
            if let Some(run) = store.get_mut(id) {
                run.data = Some(ds);
            }
            None
        }
        Err(e) => Some(format!("{label}: {e}")),
    }
}
