//! Looking inside a trained net: predictions over a split, the confusion matrix, per-class
//! error, the most confused pairs, feature maps after every block, and first-layer filters.
//!
//! Pure computation on the caller's thread (the app calls it from a worker, the CLI directly);
//! knows nothing of egui or files. Evaluation is in eval mode (running batch-norm statistics),
//! batched like [`super::trainer::evaluate`] and judged by the same `argmax`, so its error is the
//! test error the training curves show.
use super::experiment::DataInfo;
use crate::data::{ColorMode, Dataset, LoadOptions, Source, Split, SplitKind};
use crate::nn::ops::loss::argmax;
use crate::nn::spec::LayerSpec;
use crate::nn::{Model, Shape};
use crate::rng::Rng64;
use crate::util::csv_field;

/// Images per forward pass: the trainer's evaluation uses the same.
pub const BATCH: usize = 256;

/// What the net said about one image of the split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    /// The image's index in its split.
    pub index: usize,
    /// Its true class.
    pub label: usize,
    /// The class with the highest score.
    pub predicted: usize,
    /// Softmax probability of the predicted class, in [0, 1] (NaN when the logits were not finite).
    pub confidence: f32,
    /// Softmax probability of the true class.
    pub p_label: f32,
}

impl Prediction {
    pub fn correct(&self) -> bool {
        self.label == self.predicted
    }
}

/// Counts of (true class, predicted class): `counts[truth * classes + predicted]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    pub classes: usize,
    pub counts: Vec<u64>,
}

/// One off-diagonal cell of a confusion matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConfusedPair {
    pub truth: usize,
    pub predicted: usize,
    pub count: u64,
    /// Share of the true class's images that went to `predicted`.
    pub rate: f32,
}

impl Confusion {
    pub fn new(classes: usize) -> Self {
        Self {
            classes,
            counts: vec![0; classes * classes],
        }
    }

    /// Counts the pairs; labels or predictions not below `classes` are ignored.
    pub fn from_pairs(classes: usize, pairs: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut c = Self::new(classes);
        for (t, p) in pairs {
            c.add(t, p);
        }
        c
    }

    pub fn add(&mut self, truth: usize, predicted: usize) {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted] += 1;
        }
    }

    pub fn get(&self, truth: usize, predicted: usize) -> u64 {
        if truth < self.classes && predicted < self.classes {
            self.counts[truth * self.classes + predicted]
        } else {
            0
        }
    }

    /// Images whose true class is `truth`.
    pub fn row_total(&self, truth: usize) -> u64 {
        (0..self.classes).map(|p| self.get(truth, p)).sum()
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn wrong(&self) -> u64 {
        self.total() - (0..self.classes).map(|k| self.get(k, k)).sum::<u64>()
    }

    /// Share of all images classified wrongly; `None` without images.
    pub fn error(&self) -> Option<f32> {
        let n = self.total();
        (n > 0).then(|| self.wrong() as f32 / n as f32)
    }

    /// Per true class, the share of its images classified wrongly; `None` for a class without
    /// images in the split (an error of 0% would claim something nobody measured).
    pub fn per_class_error(&self) -> Vec<Option<f32>> {
        (0..self.classes)
            .map(|t| {
                let n = self.row_total(t);
                (n > 0).then(|| (n - self.get(t, t)) as f32 / n as f32)
            })
            .collect()
    }

    /// The `n` largest off-diagonal cells, largest first (ties: lower true class, then lower
    /// predicted class first); empty cells are never listed.
    pub fn most_confused(&self, n: usize) -> Vec<ConfusedPair> {
        let mut pairs: Vec<ConfusedPair> = (0..self.classes)
            .flat_map(|t| (0..self.classes).map(move |p| (t, p)))
            .filter(|&(t, p)| t != p && self.get(t, p) > 0)
            .map(|(t, p)| ConfusedPair {
                truth: t,
                predicted: p,
                count: self.get(t, p),
                rate: self.get(t, p) as f32 / self.row_total(t).max(1) as f32,
            })
            .collect();
        pairs.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.truth.cmp(&b.truth))
                .then(a.predicted.cmp(&b.predicted))
        });
        pairs.truncate(n);
        pairs
    }

    /// The matrix as CSV: a header of predicted classes, then one row per true class.
    pub fn to_csv(&self, names: &[String]) -> String {
        let name = |k: usize| csv_field(&class_name(names, k));
        let mut out = String::from("true \\ predicted");
        for p in 0..self.classes {
            out.push(',');
            out.push_str(&name(p));
        }
        out.push('\n');
        for t in 0..self.classes {
            out.push_str(&name(t));
            for p in 0..self.classes {
                out.push_str(&format!(",{}", self.get(t, p)));
            }
            out.push('\n');
        }
        out
    }

    /// Per-class error as CSV: `class,images,wrong,error %` (error empty for a class without images).
    pub fn per_class_csv(&self, names: &[String]) -> String {
        let mut out = String::from("class,images,wrong,error %\n");
        for (t, e) in self.per_class_error().into_iter().enumerate() {
            let n = self.row_total(t);
            out.push_str(&format!(
                "{},{n},{},{}\n",
                csv_field(&class_name(names, t)),
                n - self.get(t, t),
                e.map(|e| format!("{:.2}", e * 100.0)).unwrap_or_default()
            ));
        }
        out
    }
}

/// A class's name, or its number when the names run out.
/// A matrix row's label: "3 triangle", or only the name when it is the index itself (MNIST's
/// "3"), never "3 3".
pub fn class_label(names: &[String], k: usize) -> String {
    let name = class_name(names, k);
    if name == k.to_string() {
        name
    } else {
        format!("{k} {name}")
    }
}

pub fn class_name(names: &[String], k: usize) -> String {
    names
        .get(k)
        .cloned()
        .unwrap_or_else(|| format!("class {k}"))
}

/// A net's verdict on every image of one split.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub split: SplitKind,
    pub predictions: Vec<Prediction>,
    pub confusion: Confusion,
    /// Mean cross-entropy over the split.
    pub loss: f32,
    /// Images whose logits were not all finite (a diverged net); their predictions mean nothing.
    pub non_finite: usize,
}

impl Evaluation {
    pub fn error(&self) -> Option<f32> {
        self.confusion.error()
    }

    /// Indices into `predictions` of the images with this true and predicted class.
    pub fn cell(&self, truth: usize, predicted: usize) -> Vec<usize> {
        self.predictions
            .iter()
            .enumerate()
            .filter(|(_, p)| p.label == truth && p.predicted == predicted)
            .map(|(i, _)| i)
            .collect()
    }

    /// Every prediction as CSV: `image,true class,predicted class,confidence,correct`.
    pub fn predictions_csv(&self, names: &[String]) -> String {
        let mut out = String::from("image,true class,predicted class,confidence,correct\n");
        for p in &self.predictions {
            out.push_str(&format!(
                "{},{},{},{:.4},{}\n",
                p.index,
                csv_field(&class_name(names, p.label)),
                csv_field(&class_name(names, p.predicted)),
                p.confidence,
                p.correct()
            ));
        }
        out
    }
}

/// Softmax of one row of logits, computed stably (the largest logit is subtracted first).
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = logits.iter().map(|&v| ((v - max) as f64).exp()).collect();
    let z: f64 = e.iter().sum();
    e.iter().map(|v| (v / z) as f32).collect()
}

/// Why a net cannot be evaluated on a data set, in one sentence; `None` when it can.
pub fn mismatch(model: &Model, ds: &Dataset) -> Option<String> {
    let want = model.input_shape();
    let have = Shape::new(ds.channels, ds.height, ds.width);
    if want != have {
        return Some(format!(
            "the net takes {want} images but the data set {} has {have}",
            ds.name
        ));
    }
    if model.classes() != ds.classes.len() {
        return Some(format!(
            "the net has {} outputs but the data set {} has {} classes",
            model.classes(),
            ds.name,
            ds.classes.len()
        ));
    }
    None
}

/// What an evaluation reports while it runs: `(images done, images in all)`; returning `false`
/// cancels it.
pub type OnProgress<'a> = &'a mut dyn FnMut(usize, usize) -> bool;

/// Runs `model` over every image of `split` in eval mode, `batch` images at a time.
///
/// Errors (one sentence) when the net does not fit the data set or when `progress` cancels.
pub fn evaluate(
    model: &mut Model,
    ds: &Dataset,
    split: SplitKind,
    batch: usize,
    progress: OnProgress,
) -> Result<Evaluation, String> {
    if let Some(why) = mismatch(model, ds) {
        return Err(why);
    }
    let len = ds.split(split).len();
    let classes = model.classes();
    let mut rng = Rng64::new(0);
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    let mut predictions = Vec::with_capacity(len);
    let mut confusion = Confusion::new(classes);
    let (mut loss, mut non_finite) = (0.0f64, 0usize);
    let idx: Vec<usize> = (0..len).collect();
    if !progress(0, len) {
        return Err("the evaluation was cancelled".into());
    }
    for chunk in idx.chunks(batch.max(1)) {
        ds.batch(split, chunk, None, &mut rng, &mut x, &mut labels);
        let logits = model.forward(std::mem::take(&mut x), chunk.len(), false);
        for (k, (&i, &label)) in chunk.iter().zip(&labels).enumerate() {
            let row = &logits[k * classes..(k + 1) * classes];
            let predicted = argmax(row);
            let p = softmax(row);
            if !row.iter().all(|v| v.is_finite()) {
                non_finite += 1;
            }
            loss -= (p[label].max(1e-30) as f64).ln();
            predictions.push(Prediction {
                index: i,
                label,
                predicted,
                confidence: p[predicted],
                p_label: p[label],
            });
            confusion.add(label, predicted);
        }
        if !progress(predictions.len(), len) {
            return Err("the evaluation was cancelled".into());
        }
    }
    Ok(Evaluation {
        split,
        predictions,
        confusion,
        loss: if len > 0 {
            (loss / len as f64) as f32
        } else {
            f32::NAN
        },
        non_finite,
    })
}

/// Class probabilities (softmax) for each of `n` normalised images in `x` (NCHW), eval mode.
pub fn probabilities(model: &mut Model, x: Vec<f32>, n: usize) -> Vec<Vec<f32>> {
    let classes = model.classes();
    let logits = model.forward(x, n, false);
    logits.chunks(classes.max(1)).map(softmax).collect()
}

/// Raw CHW images (u8, already at the net's size) normalised exactly as the training batches
/// were: `(x / 255 - mean[c]) / std[c]`, through the data set's own batch code.
pub fn normalise(images: Vec<u8>, shape: Shape, mean: &[f32], std: &[f32]) -> Vec<f32> {
    let n = images.len() / shape.len().max(1);
    let ds = Dataset {
        name: String::new(),
        classes: Vec::new(),
        channels: shape.c,
        height: shape.h,
        width: shape.w,
        train: Split::default(),
        test: Split {
            images,
            labels: vec![0; n],
        },
        mean: mean.to_vec(),
        std: std.to_vec(),
        warnings: Vec::new(),
    };
    let idx: Vec<usize> = (0..n).collect();
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    ds.batch(
        SplitKind::Test,
        &idx,
        None,
        &mut Rng64::new(0),
        &mut x,
        &mut labels,
    );
    x
}

/// One image's signal after a block (or the stem before the first block).
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureMap {
    /// The block's name in the spec (`stage2.block1`), or `stem`.
    pub name: String,
    pub shape: Shape,
    /// C*H*W values, one plane per channel.
    pub values: Vec<f32>,
    pub mean: f32,
    /// Standard deviation over all of the map's values: how big the signal is at this depth.
    pub std: f32,
}

impl FeatureMap {
    fn new(name: String, shape: Shape, values: Vec<f32>) -> Self {
        let (mean, std) = moments(&values);
        Self {
            name,
            shape,
            values,
            mean,
            std,
        }
    }

    /// Channel `c`'s plane (H*W values).
    pub fn channel(&self, c: usize) -> &[f32] {
        let plane = self.shape.h * self.shape.w;
        self.values.get(c * plane..(c + 1) * plane).unwrap_or(&[])
    }
}

/// Population mean and standard deviation, accumulated in f64.
pub fn moments(v: &[f32]) -> (f32, f32) {
    if v.is_empty() {
        return (f32::NAN, f32::NAN);
    }
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean as f32, var.sqrt() as f32)
}

/// The signal of one normalised image (`x`, C*H*W) after every block, in eval mode, from
/// [`Model::trace`]: first the stem (the output of the last top-level layer before the first
/// block), then each block's output as the next block receives it (after the ReLU that follows
/// the block, when one does). A net without blocks gives every top-level ReLU's output.
///
/// A plain net and its residual twin share block names, so their maps line up by name.
pub fn feature_maps(model: &mut Model, x: &[f32]) -> Vec<FeatureMap> {
    let trace = model.trace(x, 1);
    let spec = model.spec().clone();
    let Ok(info) = spec.infer(model.input_shape()) else {
        return Vec::new();
    };
    // Top-level layers in spec order, each with its trace entry (matched by its unique key).
    let top: Vec<(&LayerSpec, &crate::nn::LayerOutput)> = info
        .layers
        .iter()
        .filter(|l| l.depth == 0)
        .zip(&spec.layers)
        .filter_map(|(l, s)| Some((s, trace.iter().find(|t| t.key == l.key)?)))
        .collect();
    let spatial = |t: &crate::nn::LayerOutput| t.shape.h * t.shape.w > 1;
    let mut out = Vec::new();
    let has_blocks = top.iter().any(|(s, _)| matches!(s, LayerSpec::Block(_)));
    if !has_blocks {
        for (s, t) in &top {
            if matches!(s, LayerSpec::ReLU) && spatial(t) {
                out.push(FeatureMap::new(t.name.clone(), t.shape, t.values.clone()));
            }
        }
        return out;
    }
    let first_block = top
        .iter()
        .position(|(s, _)| matches!(s, LayerSpec::Block(_)))
        .unwrap_or(0);
    if first_block > 0 {
        let (_, t) = top[first_block - 1];
        if spatial(t) {
            out.push(FeatureMap::new("stem".into(), t.shape, t.values.clone()));
        }
    }
    for (i, (s, t)) in top.iter().enumerate() {
        let LayerSpec::Block(b) = s else { continue };
        let name = if b.name.is_empty() {
            t.name.clone()
        } else {
            b.name.clone()
        };
        let after = match top.get(i + 1) {
            Some((LayerSpec::ReLU, r)) => r,
            _ => t,
        };
        out.push(FeatureMap::new(name, after.shape, after.values.clone()));
    }
    out
}

/// The weights of the net's first convolution: `count` filters of `channels` x `k` x `k`.
#[derive(Clone, Debug, PartialEq)]
pub struct Filters {
    /// The tensor's name (`conv1.weight`).
    pub name: String,
    pub count: usize,
    pub channels: usize,
    pub k: usize,
    /// `count * channels * k * k` values, PyTorch's layout.
    pub values: Vec<f32>,
}

impl Filters {
    /// Filter `i`'s weights (`channels * k * k`).
    pub fn filter(&self, i: usize) -> &[f32] {
        let n = self.channels * self.k * self.k;
        self.values.get(i * n..(i + 1) * n).unwrap_or(&[])
    }
}

/// The first convolution's filters (the first 4-d weight in [`Model::params`]), if the net has one.
pub fn first_filters(model: &mut Model) -> Option<Filters> {
    model
        .params()
        .into_iter()
        .find(|t| t.shape.len() == 4 && t.shape[2] == t.shape[3])
        .and_then(|t| {
            let values = t.as_f32()?.to_vec();
            Some(Filters {
                count: t.shape[0],
                channels: t.shape[1],
                k: t.shape[2],
                name: t.name,
                values,
            })
        })
}

/// How to load a data set for a net that trained on `info`: the net's own image size and
/// channel count and, when `source` is the one it trained on, the same split seed, held-out
/// share and cap, so its test split is the one it was tested on.
pub fn load_options(info: &DataInfo, source: &Source) -> LoadOptions {
    let mut o = if *source == info.source {
        info.options.clone()
    } else {
        LoadOptions::default()
    };
    o.format = if *source == info.source {
        o.format
    } else {
        None
    };
    o.size = Some((info.height, info.width));
    o.color = if info.channels == 1 {
        ColorMode::Gray
    } else {
        ColorMode::Rgb
    };
    o
}

/// Gives a loaded data set the normalisation the net trained with, and checks it has the net's
/// image shape and number of classes. Returns warnings (class names that differ).
pub fn prepare(ds: &mut Dataset, info: &DataInfo) -> Result<Vec<String>, String> {
    let have = Shape::new(ds.channels, ds.height, ds.width);
    if have != info.input() {
        return Err(format!(
            "the data set {} has {have} images but the net takes {}",
            ds.name,
            info.input()
        ));
    }
    if ds.classes.len() != info.classes.len() {
        return Err(format!(
            "the net was trained on {} classes but the data set {} has {}",
            info.classes.len(),
            ds.name,
            ds.classes.len()
        ));
    }
    if info.mean.len() != ds.channels || info.std.len() != ds.channels {
        return Err(format!(
            "the run records a normalisation for {} channels but its images have {}",
            info.mean.len(),
            ds.channels
        ));
    }
    ds.mean = info.mean.clone();
    ds.std = info.std.clone();
    let mut warnings = Vec::new();
    if ds.classes != info.classes {
        let show = |c: &[String]| {
            let mut s = c.iter().take(4).cloned().collect::<Vec<_>>().join(", ");
            if c.len() > 4 {
                s.push_str(", ...");
            }
            s
        };
        warnings.push(format!(
            "the data set's classes ({}) are not named like the net's ({}); they are matched by position",
            show(&ds.classes),
            show(&info.classes)
        ));
    }
    Ok(warnings)
}

/// The data set a run trained on, as its `DataInfo` records it: loaded with its options,
/// normalised as the net saw it, and with the test split trimmed to the first images of each
/// class when the run had fewer (a lesson's Try it keeps a few per class). Slow: a background
/// task's work. The error names the data set and where it was.
pub fn reload(info: &DataInfo, progress: &crate::data::Progress) -> Result<Dataset, String> {
    let opts = load_options(info, &info.source);
    let mut ds = crate::data::load(&info.source, &opts, progress).map_err(|e| {
        format!(
            "its data set {} ({}) could not be loaded: {e}",
            info.name, info.source
        )
    })?;
    prepare(&mut ds, info).map_err(|e| format!("{}: {e}", info.source))?;
    let classes = ds.classes.len().max(1);
    if ds.test.len() > info.test_len && info.test_len.is_multiple_of(classes) {
        let len = ds.image_len();
        ds.test = ds
            .test
            .first_per_class(classes, info.test_len / classes, len);
    }
    Ok(ds)
}

/// Several nets' predictions on the same images as one CSV: `image,true class`, then per net
/// `<label> predicted,<label> confidence`. Rows follow the first net's predictions.
pub fn side_by_side_csv(names: &[String], nets: &[(String, &Evaluation)]) -> String {
    let mut out = String::from("image,true class");
    for (label, _) in nets {
        let l = csv_field(label);
        out.push_str(&format!(",{l} predicted,{l} confidence"));
    }
    out.push('\n');
    let Some((_, first)) = nets.first() else {
        return out;
    };
    for (row, p) in first.predictions.iter().enumerate() {
        out.push_str(&format!(
            "{},{}",
            p.index,
            csv_field(&class_name(names, p.label))
        ));
        for (_, e) in nets {
            match e.predictions.get(row) {
                Some(q) => out.push_str(&format!(
                    ",{},{:.4}",
                    csv_field(&class_name(names, q.predicted)),
                    q.confidence
                )),
                None => out.push_str(",,"),
            }
        }
        out.push('\n');
    }
    out
}

/// Several nets' per-class error as one CSV: `class,images`, then one `<label> error %` per net.
pub fn per_class_side_by_side_csv(names: &[String], nets: &[(String, &Confusion)]) -> String {
    let mut out = String::from("class,images");
    for (label, _) in nets {
        out.push_str(&format!(",{} error %", csv_field(label)));
    }
    out.push('\n');
    let classes = nets.iter().map(|(_, c)| c.classes).max().unwrap_or(0);
    let errors: Vec<Vec<Option<f32>>> = nets.iter().map(|(_, c)| c.per_class_error()).collect();
    for k in 0..classes {
        let images = nets.first().map(|(_, c)| c.row_total(k)).unwrap_or(0);
        out.push_str(&format!("{},{images}", csv_field(&class_name(names, k))));
        for e in &errors {
            out.push(',');
            if let Some(Some(v)) = e.get(k) {
                out.push_str(&format!("{:.2}", v * 100.0));
            }
        }
        out.push('\n');
    }
    out
}
