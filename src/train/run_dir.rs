//! A run on disk: a folder with `net.json` (the NetSpec), `history.json` (every curve, the
//! hyper-parameters and the data it trained on) and `weights.safetensors` (the trained net,
//! tensor names equal to the generated PyTorch module's `state_dict` keys).
//!
//! Every file is written atomically, so a crash mid-save leaves the previous good file.
use super::history::RunHistory;
use super::safetensors::{self, Contents};
use crate::nn::{Model, ModelOptions, NetSpec, Shape, Tensor};
use crate::util::write_atomic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const NET_FILE: &str = "net.json";
pub const HISTORY_FILE: &str = "history.json";
pub const WEIGHTS_FILE: &str = "weights.safetensors";

/// Larger JSON files are refused unread (a history of a million steps is about 50 MB).
pub const MAX_JSON_BYTES: u64 = 512 << 20;
/// Larger weight files are refused unread (ResNet-110 is 7 MB).
pub const MAX_WEIGHTS_BYTES: u64 = 4 << 30;

/// A reopened run.
#[derive(Debug)]
pub struct SavedRun {
    pub dir: PathBuf,
    pub spec: NetSpec,
    pub history: RunHistory,
    /// The trained net, when the run was saved with one.
    pub model: Option<Model>,
}

/// The safetensors bytes of a model's parameters and buffers. The metadata records the input
/// shape, so the file alone is enough to rebuild the net from its spec.
pub fn weights_bytes(model: &mut Model) -> Vec<u8> {
    let name = model.spec().name.clone();
    weights_file(&model.params(), model.input_shape(), &name)
}

/// What a save writes, taken from a run in a moment (so the writing can happen on a worker
/// while the model stays where it is).
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub spec: NetSpec,
    pub history: RunHistory,
    /// The trained net's tensors and its input shape.
    pub weights: Option<(Vec<Tensor>, Shape)>,
}

impl Snapshot {
    pub fn of(history: &RunHistory, model: Option<&mut Model>) -> Result<Self, String> {
        let spec = match (&model, &history.net) {
            (Some(m), _) => m.spec().clone(),
            (None, Some(net)) => net.spec.clone(),
            (None, None) => {
                return Err(format!("{}: the run has no network to save", history.label));
            }
        };
        Ok(Self {
            spec,
            history: history.clone(),
            weights: model.map(|m| (m.params(), m.input_shape())),
        })
    }

    /// Writes the snapshot to `dir` (see [`save`]).
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        crate::util::create_dir_all(dir)
            .map_err(|e| format!("could not create the folder {}: {e}", dir.display()))?;
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            write_atomic(&p, bytes).map_err(|e| format!("could not write {}: {e}", p.display()))
        };
        write(NET_FILE, self.spec.to_json().as_bytes())?;
        let json = serde_json::to_vec_pretty(&self.history).map_err(|e| {
            format!(
                "could not encode the history of {}: {e}",
                self.history.label
            )
        })?;
        write(HISTORY_FILE, &json)?;
        match &self.weights {
            Some((tensors, input)) => write(
                WEIGHTS_FILE,
                &weights_file(tensors, *input, &self.spec.name),
            )?,
            None => {
                let p = dir.join(WEIGHTS_FILE);
                if p.exists() {
                    std::fs::remove_file(&p)
                        .map_err(|e| format!("could not remove the old {}: {e}", p.display()))?;
                }
            }
        }
        Ok(())
    }
}

fn weights_file(tensors: &[Tensor], input: Shape, net: &str) -> Vec<u8> {
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    meta.insert("producer".to_string(), "resnet-lab".to_string());
    meta.insert("input".to_string(), input.to_string());
    if !net.is_empty() {
        meta.insert("net".to_string(), net.to_string());
    }
    safetensors::encode(tensors, &meta)
}

/// Writes `dir/net.json`, `dir/history.json` and, with a model, `dir/weights.safetensors`
/// (creating `dir`). Without a model a stale weights file from an earlier save is removed, so
/// the folder never pairs a history with another run's weights.
pub fn save(dir: &Path, history: &RunHistory, model: Option<&mut Model>) -> Result<(), String> {
    Snapshot::of(history, model)?.write(dir)
}

/// Reads a whole regular file of at most `max` bytes (a FIFO or device would block or never end).
pub fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if meta.len() > max {
        return Err(format!(
            "{} is {} MB, more than the {} MB this app reads",
            path.display(),
            meta.len() >> 20,
            max >> 20
        ));
    }
    std::fs::read(path).map_err(|e| format!("could not read {}: {e}", path.display()))
}

/// Reads a safetensors file.
pub fn read_weights(path: &Path) -> Result<Contents, String> {
    let bytes = read_limited(path, MAX_WEIGHTS_BYTES)?;
    safetensors::decode(&bytes, &path.display().to_string())
}

/// Builds `spec` for `input` and loads `tensors` into it.
pub fn model_with_weights(
    spec: &NetSpec,
    input: Shape,
    tensors: &[Tensor],
) -> Result<Model, String> {
    let mut m = Model::new(spec, input, 0, ModelOptions::default()).map_err(|e| e.to_string())?;
    m.load(tensors)?;
    Ok(m)
}

/// Parses `CxHxW` as written in the weights' metadata.
pub fn parse_shape(s: &str) -> Option<Shape> {
    let v: Vec<usize> = s
        .split('x')
        .map(|p| p.trim().parse().ok())
        .collect::<Option<_>>()?;
    match v[..] {
        [c, h, w] if c > 0 && h > 0 && w > 0 => Some(Shape::new(c, h, w)),
        _ => None,
    }
}

/// Reopens a run folder: its spec, its history and, when present, its trained net.
pub fn open(dir: &Path) -> Result<SavedRun, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a run folder", dir.display()));
    }
    let net_path = dir.join(NET_FILE);
    let text = read_limited(&net_path, MAX_JSON_BYTES)?;
    let spec: NetSpec = serde_json::from_slice(&text)
        .map_err(|e| format!("{} is not a network spec: {e}", net_path.display()))?;
    let hist_path = dir.join(HISTORY_FILE);
    let history: RunHistory = serde_json::from_slice(&read_limited(&hist_path, MAX_JSON_BYTES)?)
        .map_err(|e| format!("{} is not a run history: {e}", hist_path.display()))?;
    if let Some(net) = &history.net
        && net.spec != spec
    {
        return Err(format!(
            "{} and {} describe different networks",
            net_path.display(),
            hist_path.display()
        ));
    }
    let weights_path = dir.join(WEIGHTS_FILE);
    let model = if weights_path.exists() {
        let contents = read_weights(&weights_path)?;
        let input = history
            .data
            .as_ref()
            .map(|d| d.input())
            .filter(|s| !s.is_empty())
            .or_else(|| contents.metadata.get("input").and_then(|s| parse_shape(s)))
            .ok_or_else(|| {
                format!(
                    "{} does not say what size of image the net takes",
                    dir.display()
                )
            })?;
        let model = model_with_weights(&spec, input, &contents.tensors)
            .map_err(|e| format!("{}: {e}", weights_path.display()))?;
        if let Some(d) = &history.data
            && !d.classes.is_empty()
            && d.classes.len() != model.classes()
        {
            return Err(format!(
                "{}: the net has {} outputs but its data set had {} classes",
                dir.display(),
                model.classes(),
                d.classes.len()
            ));
        }
        Some(model)
    } else {
        None
    };
    Ok(SavedRun {
        dir: dir.to_path_buf(),
        spec,
        history,
        model,
    })
}
