//! A training run as bytes: what a browser's Web Worker is handed (the net, its settings, the
//! data set) and what it hands back (events, the trained weights). Workers in a page share no
//! memory with the page, so a run travels as data; the same training loop runs at both ends.
//!
//! Every decoder takes untrusted bytes: a wrong length, a truncated section or a header that
//! does not parse is one sentence, never a panic or an unbounded allocation.
use super::experiment::{Hyper, NetEntry};
use super::trainer::Event;
use crate::data::{Dataset, Split};
use crate::nn::{Model, Shape};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a worker trains: the net and its settings (JSON, the format of a run's net.json).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainJob {
    pub net: NetEntry,
    pub hyper: Hyper,
}

impl TrainJob {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a job serialises")
    }

    pub fn decode(bytes: &[u8]) -> Result<TrainJob, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("the training job did not parse: {e}"))
    }
}

/// Everything of a data set but its pixels and labels.
#[derive(Serialize, Deserialize)]
struct DataHeader {
    name: String,
    classes: Vec<String>,
    channels: usize,
    height: usize,
    width: usize,
    train: usize,
    test: usize,
    mean: Vec<f32>,
    std: Vec<f32>,
    warnings: Vec<String>,
}

/// A data set as bytes: a length-prefixed JSON header, then the train and test images (u8) and
/// labels (u16 little-endian).
pub fn encode_dataset(d: &Dataset) -> Vec<u8> {
    let header = DataHeader {
        name: d.name.clone(),
        classes: d.classes.clone(),
        channels: d.channels,
        height: d.height,
        width: d.width,
        train: d.train.len(),
        test: d.test.len(),
        mean: d.mean.clone(),
        std: d.std.clone(),
        warnings: d.warnings.clone(),
    };
    let h = serde_json::to_vec(&header).expect("a header serialises");
    let mut out = Vec::with_capacity(
        8 + h.len()
            + d.train.images.len()
            + d.test.images.len()
            + 2 * (d.train.len() + d.test.len()),
    );
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    for s in [&d.train, &d.test] {
        out.extend_from_slice(&s.images);
        for l in &s.labels {
            out.extend_from_slice(&l.to_le_bytes());
        }
    }
    out
}

/// The data set [`encode_dataset`] wrote.
pub fn decode_dataset(bytes: &[u8]) -> Result<Dataset, String> {
    let bad = |why: &str| format!("the data set's bytes are damaged ({why})");
    let hl = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        .ok_or_else(|| bad("no header"))?;
    let h = bytes
        .get(8..8usize.saturating_add(hl))
        .ok_or_else(|| bad("header cut short"))?;
    let h: DataHeader = serde_json::from_slice(h).map_err(|e| bad(&e.to_string()))?;
    let per = h
        .channels
        .checked_mul(h.height)
        .and_then(|v| v.checked_mul(h.width))
        .ok_or_else(|| bad("image size overflows"))?;
    let mut at = 8 + hl;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let end = at.checked_add(n).ok_or_else(|| bad("size overflows"))?;
        let s = bytes.get(at..end).ok_or_else(|| bad("cut short"))?;
        at = end;
        Ok(s)
    };
    let mut split = |n: usize| -> Result<Split, String> {
        let images = take(n.checked_mul(per).ok_or_else(|| bad("size overflows"))?)?.to_vec();
        let labels = take(n.checked_mul(2).ok_or_else(|| bad("size overflows"))?)?
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect::<Vec<u16>>();
        if labels.iter().any(|&l| l as usize >= h.classes.len()) {
            return Err(bad("a label beyond the classes"));
        }
        Ok(Split { images, labels })
    };
    let train = split(h.train)?;
    let test = split(h.test)?;
    if at != bytes.len() {
        return Err(bad("bytes left over"));
    }
    if h.mean.len() != h.channels || h.std.len() != h.channels {
        return Err(bad("statistics for another channel count"));
    }
    Ok(Dataset {
        name: h.name,
        classes: h.classes,
        channels: h.channels,
        height: h.height,
        width: h.width,
        train,
        test,
        mean: h.mean,
        std: h.std,
        warnings: h.warnings,
    })
}

/// One event of the run (bincode: NaN and infinities survive, unlike JSON).
pub fn encode_event(e: &Event) -> Vec<u8> {
    bincode::serialize(e).expect("an event serialises")
}

pub fn decode_event(bytes: &[u8]) -> Result<Event, String> {
    bincode::deserialize(bytes).map_err(|e| format!("a training event did not parse: {e}"))
}

/// The trained weights (every parameter and batch-norm buffer) as safetensors bytes.
pub fn encode_model(model: &mut Model) -> Vec<u8> {
    super::safetensors::encode(&model.params(), &BTreeMap::new())
}

/// The net `job` describes for `data`'s images, with the weights [`encode_model`] wrote.
pub fn decode_model(bytes: &[u8], job: &TrainJob, data: &Dataset) -> Result<Model, String> {
    let input = Shape::new(data.channels, data.height, data.width);
    let mut model = Model::new(&job.net.spec, input, job.hyper.seed, job.hyper.model)
        .map_err(|e| e.to_string())?;
    let contents = super::safetensors::decode(bytes, "the trained weights")?;
    model.load(&contents.tensors)?;
    Ok(model)
}
