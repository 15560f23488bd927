//! What an experiment is: nets, data source and hyper-parameters, all saved as JSON.
use crate::data::{Augment, Dataset, LoadOptions, Source};
use crate::nn::{ModelOptions, NetSpec, OptimizerKind, Schedule, Shape};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OptimizerChoice {
    #[default]
    Sgd,
    Adam,
}

/// Training hyper-parameters, with the paper's CIFAR values as defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hyper {
    pub epochs: usize,
    pub batch: usize,
    #[serde(with = "crate::util::json_float")]
    pub lr: f32,
    #[serde(with = "crate::util::json_float")]
    pub momentum: f32,
    #[serde(with = "crate::util::json_float")]
    pub weight_decay: f32,
    pub optimizer: OptimizerChoice,
    pub schedule: Schedule,
    /// Steps at a tenth of the learning rate before the real one (the paper's ResNet-110 trick).
    pub warmup_steps: usize,
    /// Stop after this many steps even if epochs remain (quick lesson runs).
    pub max_steps: Option<usize>,
    pub seed: u64,
    /// Worker threads for this run; 0 means one per core.
    pub threads: usize,
    pub augment: Augment,
    pub model: ModelOptions,
    /// Record gradient norms and activation statistics every this many steps (0 = never).
    pub probe_every: usize,
}

impl Default for Hyper {
    fn default() -> Self {
        Self {
            epochs: 3,
            batch: 128,
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 1e-4,
            optimizer: OptimizerChoice::Sgd,
            schedule: Schedule::Constant,
            warmup_steps: 0,
            max_steps: None,
            seed: 0,
            threads: 0,
            augment: Augment::default(),
            model: ModelOptions::default(),
            probe_every: 1,
        }
    }
}

impl Hyper {
    /// Refuses values that cannot train, in words a learner can act on.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.epochs == 0 || self.epochs > 1000 {
            problems.push(format!(
                "epochs must be between 1 and 1000 (got {})",
                self.epochs
            ));
        }
        if self.batch == 0 || self.batch > 4096 {
            problems.push(format!(
                "batch size must be between 1 and 4096 (got {})",
                self.batch
            ));
        }
        if !self.lr.is_finite() || self.lr <= 0.0 || self.lr > 10.0 {
            problems.push(format!(
                "learning rate must be above 0 and at most 10 (got {})",
                self.lr
            ));
        }
        if !self.momentum.is_finite() || !(0.0..1.0).contains(&self.momentum) {
            problems.push(format!(
                "momentum must be in [0, 1) (got {})",
                self.momentum
            ));
        }
        if !self.weight_decay.is_finite() || !(0.0..1.0).contains(&self.weight_decay) {
            problems.push(format!(
                "weight decay must be in [0, 1) (got {})",
                self.weight_decay
            ));
        }
        if self.threads > 256 {
            problems.push(format!(
                "{} threads is more than this app will start",
                self.threads
            ));
        }
        if self.max_steps == Some(0) {
            problems.push("a step budget of 0 trains nothing".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    pub fn optimizer_kind(&self) -> OptimizerKind {
        match self.optimizer {
            OptimizerChoice::Sgd => OptimizerKind::Sgd {
                momentum: self.momentum,
                weight_decay: self.weight_decay,
            },
            OptimizerChoice::Adam => OptimizerKind::Adam {
                beta1: self.momentum,
                beta2: 0.999,
                weight_decay: self.weight_decay,
            },
        }
    }
}

/// One network of an experiment, with the name its curves carry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetEntry {
    pub label: String,
    pub spec: NetSpec,
}

impl NetEntry {
    pub fn new(spec: NetSpec) -> Self {
        Self {
            label: spec.name.clone(),
            spec,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataConfig {
    pub source: Source,
    pub options: LoadOptions,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            source: Source::Builtin,
            options: LoadOptions::default(),
        }
    }
}

/// Everything needed to reproduce a comparison: the app saves it, the CLI can replay it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Experiment {
    pub nets: Vec<NetEntry>,
    pub data: DataConfig,
    pub hyper: Hyper,
}

impl Default for Experiment {
    fn default() -> Self {
        let res = crate::nn::presets::by_name("resnet-20", 16, 10).expect("resnet-20 is a preset");
        let plain = crate::nn::presets::plain_twin(&res);
        Self {
            nets: vec![NetEntry::new(plain), NetEntry::new(res)],
            data: DataConfig::default(),
            hyper: Hyper::default(),
        }
    }
}

/// The data a run trained on, frozen when it started: where it came from, and what the net saw
/// (input shape, class names, the normalisation), so a saved net can classify new images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataInfo {
    pub source: Source,
    pub options: LoadOptions,
    pub name: String,
    pub classes: Vec<String>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// Per channel, pixels scaled to [0, 1]: the net saw `(x / 255 - mean) / std`.
    #[serde(with = "crate::util::json_float")]
    pub mean: Vec<f32>,
    #[serde(with = "crate::util::json_float")]
    pub std: Vec<f32>,
    pub train_len: usize,
    pub test_len: usize,
}

impl Default for DataInfo {
    fn default() -> Self {
        Self {
            source: Source::Builtin,
            options: LoadOptions::default(),
            name: String::new(),
            classes: Vec::new(),
            channels: 0,
            height: 0,
            width: 0,
            mean: Vec::new(),
            std: Vec::new(),
            train_len: 0,
            test_len: 0,
        }
    }
}

impl DataInfo {
    pub fn new(source: Source, options: LoadOptions, ds: &Dataset) -> Self {
        Self {
            source,
            options,
            name: ds.name.clone(),
            classes: ds.classes.clone(),
            channels: ds.channels,
            height: ds.height,
            width: ds.width,
            mean: ds.mean.clone(),
            std: ds.std.clone(),
            train_len: ds.train.len(),
            test_len: ds.test.len(),
        }
    }

    /// The shape of one input image.
    pub fn input(&self) -> Shape {
        Shape::new(self.channels, self.height, self.width)
    }
}
