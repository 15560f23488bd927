//! The nets a landscape can look at: runs in the run store (their trained models kept there)
//! and runs opened from their folders (`train --save DIR`, or saved from the app). Everything
//! slow (reading weights, loading a data set, copying a net, rebuilding its initial weights)
//! runs in the background task. UI-free: the Landscape tab, a lesson's Try it and the CLI
//! start landscapes here.
use crate::data::{Dataset, Progress};
use crate::landscape::{self, Subject, Weights};
use crate::train::RunStore;
use crate::train::store::SharedModel;
use crate::train::{DataInfo, Hyper, run_dir};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where a net comes from. Indices are checked against the label every frame, so a list that
/// changed under a choice drops the choice instead of swapping nets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetRef {
    /// The session's run at this index.
    Trained(crate::train::store::RunId),
    /// The opened run folder at this index.
    Folder(usize),
}

/// A net on offer in the pickers.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub id: NetRef,
    pub label: String,
    pub residual: bool,
}

/// A run opened from its folder.
pub struct OpenedRun {
    pub dir: PathBuf,
    pub label: String,
    pub residual: bool,
    pub model: SharedModel,
    pub initial: Option<Weights>,
    pub data: Arc<Dataset>,
    pub info: Option<DataInfo>,
}

/// Reads a run folder, its trained net and the data set it trained on, and rebuilds its
/// initial weights from its seed (as the CLI does). Slow: call it on a worker.
pub fn open_folder(dir: &Path) -> Result<OpenedRun, String> {
    let run = run_dir::open(dir)?;
    let mut model = run.model.ok_or_else(|| {
        format!(
            "{} holds no trained weights (save the run with its weights)",
            dir.display()
        )
    })?;
    model.set_probe(false);
    let info = run.history.data.clone().ok_or_else(|| {
        format!(
            "{} does not record the data set it trained on",
            dir.display()
        )
    })?;
    let h = &run.history.hyper;
    let initial = landscape::initial_weights(&run.spec, model.input_shape(), h.seed, h.model)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let data = crate::train::eval::reload(&info, &Progress::default())
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let label = if run.history.label.is_empty() {
        run.spec.name.clone()
    } else {
        run.history.label.clone()
    };
    Ok(OpenedRun {
        dir: dir.to_path_buf(),
        label,
        residual: run.spec.has_shortcuts(),
        model: Arc::new(Mutex::new(model)),
        initial: Some(initial),
        data: Arc::new(data),
        info: Some(info),
    })
}

/// Every net with trained weights: the session's runs first, then the opened folders.
pub fn candidates(store: &RunStore, folders: &[OpenedRun]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for r in store.runs() {
        let (Some(_), Some(net)) = (&r.model, &r.history.net) else {
            continue;
        };
        let mut label = r.history.label.clone();
        if !matches!(r.history.status, crate::train::RunStatus::Finished) {
            label.push_str(&format!(" ({})", r.history.status.describe()));
        }
        out.push(Candidate {
            id: NetRef::Trained(r.id),
            label,
            residual: net.spec.has_shortcuts(),
        });
    }
    for (i, f) in folders.iter().enumerate() {
        out.push(Candidate {
            id: NetRef::Folder(i),
            label: format!("{} (folder {})", f.label, short_dir(&f.dir)),
            residual: f.residual,
        });
    }
    out
}

fn short_dir(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// What a job needs of one net, gathered on the UI thread without copying anything big.
pub struct Material {
    pub label: String,
    pub model: SharedModel,
    /// The initial weights, or how to rebuild them.
    pub initial: Initial,
    pub data: Arc<Dataset>,
    pub info: Option<DataInfo>,
}

pub enum Initial {
    Known(Option<Weights>),
    FromSeed(Hyper),
}

/// The material of `id`, or why there is none.
pub fn material(id: NetRef, store: &RunStore, folders: &[OpenedRun]) -> Result<Material, String> {
    match id {
        NetRef::Trained(id) => {
            let r = store.get(id).ok_or("that run is gone; choose again")?;
            let (Some(model), Some(data)) = (&r.model, &r.data) else {
                return Err(format!("{} has no trained net to look at", r.history.label));
            };
            Ok(Material {
                label: r.history.label.clone(),
                model: model.clone(),
                initial: Initial::FromSeed(r.history.hyper.clone()),
                data: data.clone(),
                info: r.history.data.clone(),
            })
        }
        NetRef::Folder(i) => {
            let f = folders
                .get(i)
                .ok_or("that run folder is gone; open it again")?;
            Ok(Material {
                label: f.label.clone(),
                model: f.model.clone(),
                initial: Initial::Known(f.initial.clone()),
                data: f.data.clone(),
                info: f.info.clone(),
            })
        }
    }
}

/// Refuses a pair that trained on different data (the pictures would not compare).
pub fn same_data(m: &[Material]) -> Result<(), String> {
    let key = |m: &Material| {
        m.info
            .as_ref()
            .map(|i| (i.source.clone(), i.options.clone()))
    };
    if let [a, b] = m
        && !Arc::ptr_eq(&a.data, &b.data)
        && (key(a).is_none() || key(a) != key(b))
    {
        return Err(format!(
            "{} and {} trained on different data sets; look at nets trained on the same data",
            a.label, b.label
        ));
    }
    Ok(())
}

/// Starts computing the landscapes of `ids` (a plain net and its residual twin, or one net) on
/// the landscape worker: the Landscape tab's ▶ Compute, a lesson's Try it once its pair has
/// finished, and the `lessons --check` harness all start it here.
pub fn spawn_job(
    ids: &[NetRef],
    store: &RunStore,
    folders: &[OpenedRun],
    settings: landscape::Settings,
    wake: crate::task::Wake,
) -> Result<landscape::JobHandle, String> {
    if ids.is_empty() {
        return Err("choose a trained net first (train one, or open a run folder)".into());
    }
    let materials = ids
        .iter()
        .map(|id| material(*id, store, folders))
        .collect::<Result<Vec<_>, String>>()?;
    same_data(&materials)?;
    settings.validate()?;
    check_memory(&materials, &settings)?;
    Ok(landscape::spawn_prepared(
        settings,
        move || subjects(materials),
        wake,
    ))
}

/// Refuses a job that would not fit the memory limit, before anything is copied.
fn check_memory(materials: &[Material], settings: &landscape::Settings) -> Result<(), String> {
    let mut nets = Vec::new();
    for m in materials {
        let src = m
            .model
            .lock()
            .map_err(|_| format!("{} is unreadable after an earlier failure", m.label))?;
        nets.push((src.spec().clone(), src.input_shape()));
    }
    let Some(input) = nets.first().map(|n| n.1) else {
        return Ok(());
    };
    let specs: Vec<&crate::nn::NetSpec> = nets.iter().map(|n| &n.0).collect();
    let train = materials.first().map_or(0, |m| m.data.train.len());
    let need = landscape::job::memory_estimate(settings, &specs, input, train)
        .map_err(|e| e.to_string())?;
    let limit = crate::util::mem_limit();
    if need > limit.bytes {
        let names: Vec<&str> = materials.iter().map(|m| m.label.as_str()).collect();
        return Err(format!(
            "the landscape of {} would need about {} of memory, more than the limit of {}; use fewer images",
            names.join(" and "),
            crate::util::bytes_text(need),
            limit.describe()
        ));
    }
    Ok(())
}

/// Copies each net (the job moves its weights; the session's copy stays as it is) and finds
/// its initial weights. Runs on the landscape worker.
pub fn subjects(materials: Vec<Material>) -> Result<(Vec<Subject>, Arc<Dataset>), String> {
    let data = materials
        .first()
        .map(|m| m.data.clone())
        .ok_or("choose a net to look at")?;
    let mut out = Vec::new();
    for m in materials {
        let mut model = {
            let mut src = m
                .model
                .lock()
                .map_err(|_| format!("{} is unreadable after an earlier failure", m.label))?;
            let tensors = src.params();
            run_dir::model_with_weights(src.spec(), src.input_shape(), &tensors)
                .map_err(|e| format!("{}: {e}", m.label))?
        };
        model.set_probe(false);
        let initial = match m.initial {
            Initial::Known(w) => w,
            Initial::FromSeed(h) => Some(
                landscape::initial_weights(model.spec(), model.input_shape(), h.seed, h.model)
                    .map_err(|e| format!("{}: {e}", m.label))?,
            ),
        };
        out.push(Subject::new(m.label, model, initial));
    }
    Ok((out, data))
}

/// A landscape being computed in the background: the job, what has arrived, and the nets it
/// is of. The Landscape tab and a lesson's Try it both hold one.
pub struct Computation {
    job: Option<landscape::JobHandle>,
    /// What has been computed so far (status, surfaces, lines).
    pub result: landscape::Landscape,
    /// The nets it looks at.
    pub of: Vec<NetRef>,
    pub started: web_time::Instant,
    /// Seconds from start to end, once it ended.
    pub secs: Option<f64>,
}

impl Computation {
    /// Starts computing the landscapes of `ids` (see [`spawn_job`]); refused in a sentence when
    /// the nets cannot be looked at together.
    pub fn start(
        ids: &[NetRef],
        store: &RunStore,
        folders: &[OpenedRun],
        settings: landscape::Settings,
        wake: crate::task::Wake,
    ) -> Result<Self, String> {
        let job = spawn_job(ids, store, folders, settings, wake)?;
        Ok(Self {
            job: Some(job),
            result: landscape::Landscape::new(),
            of: ids.to_vec(),
            started: web_time::Instant::now(),
            secs: None,
        })
    }

    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// Moves what arrived into `result`; returns whether the job ended now. A job that ended
    /// without its last word (a panic, a worker that never started) ends the result as failed,
    /// with the sentence.
    pub fn poll(&mut self) -> bool {
        let Some(job) = &self.job else {
            return false;
        };
        // Read before draining: a job that had ended by now has sent all its events.
        let finished = job.is_finished();
        for e in job.drain() {
            self.result.apply(&e);
        }
        if !finished {
            return false;
        }
        if let Some(job) = self.job.take() {
            let ended = job.join();
            if !self.result.status.is_done() {
                let reason = ended
                    .err()
                    .unwrap_or_else(|| "the worker stopped without saying why".into());
                self.result.apply(&landscape::Event::Failed { reason });
            }
        }
        self.secs = Some(self.started.elapsed().as_secs_f64());
        true
    }

    /// Blocks until the job has ended (the CLI), then polls.
    pub fn wait(&mut self) {
        if let Some(job) = &self.job {
            while let Some(e) = job.recv() {
                self.result.apply(&e);
            }
        }
        // Its events are all in; the end follows at once.
        while self.job.is_some() && !self.poll() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Asks the job to stop; it reports `Cancelled` with what it computed.
    pub fn cancel(&self) {
        if let Some(job) = &self.job {
            job.cancel();
        }
    }
}
