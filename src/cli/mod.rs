//! The headless command line: the same experiments as the app, reproducible and scriptable.
mod bench;
mod export;
mod export_data;
pub mod flags;
mod inspect;
mod landscape;
pub mod lessons;
mod progress;
mod torch;

use crate::data::{self, Format, LoadOptions, Source};
use crate::identity::{NetIdentity, Origin, Preset};
use crate::nn::Model;
use crate::nn::presets::{self, ShortcutOption};
use crate::nn::{ModelOptions, NetSpec};
use crate::train::{DataInfo, Hyper, NetEntry, RunHistory, RunInputs, run_dir, store};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "resnet-lab",
    version,
    about = "Build residual networks, train them, and watch why skip connections work."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train one network and write its history as JSON.
    Train(TrainArgs),
    /// Train plain and residual nets at several depths; one JSON per run and a CSV summary.
    Sweep(SweepArgs),
    /// Measure training throughput (forward + backward + update) on random 1x28x28 data.
    Bench(bench::BenchArgs),
    /// Draw the app's plots (PNG + CSV) from run JSON files.
    Export(export::ExportArgs),
    /// Run every lesson's Try it headless: time its effect (--check) or make its reference curves.
    Lessons(lessons::LessonsArgs),
    /// Write a data set as IDX, CIFAR binary or an image folder (e.g. the built-in set for PyTorch).
    ExportData(export_data::ExportDataArgs),
    /// Write a saved run as a PyTorch module (model.py), its weights and a torchrun train.py.
    ExportTorch(torch::ExportTorchArgs),
    /// Read a PyTorch state dict (safetensors) back into a saved run.
    ImportTorch(torch::ImportTorchArgs),
    /// Developer tool for tests/torch/compare.py: forward, backward and SGD steps on given batches.
    #[command(hide = true)]
    DevStep(torch::DevStepArgs),
    /// Classify a data set with a saved run: error, per-class error, most confused pairs, and
    /// the confusion matrix as CSV.
    Eval(inspect::EvalArgs),
    /// Classify image files with a saved run: the class and its confidence for each.
    Predict(inspect::PredictArgs),
    /// The loss landscape around saved runs (Li et al. 2018): contour and 3-D plots on shared
    /// levels, the initial-to-trained line, CSV and convexity figures.
    Landscape(landscape::LandscapeArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    Plain,
    Resnet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShortcutArg {
    A,
    B,
}

#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// `builtin` for the generated shapes data set, or a folder / file of images.
    #[arg(long, default_value = "builtin")]
    pub data: String,
    /// Format of --data PATH (detected when omitted).
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    #[arg(long, value_enum, default_value = "a")]
    pub shortcut: ShortcutArg,
    /// Channels of the first stage (doubled in each later stage).
    #[arg(long, default_value_t = 16, value_parser = flags::width)]
    pub width: usize,
    #[arg(long, default_value_t = 3, value_parser = flags::epochs)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128, value_parser = flags::batch)]
    pub batch: usize,
    #[arg(long, default_value_t = 0.1, value_parser = flags::lr)]
    pub lr: f32,
    #[arg(long, default_value_t = 0.9, value_parser = flags::momentum)]
    pub momentum: f32,
    #[arg(long, default_value_t = 1e-4, value_parser = flags::weight_decay)]
    pub wd: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute threads (default: one per core).
    #[arg(long, default_value_t = 0, value_parser = flags::threads)]
    pub threads: usize,
    /// Stop after this many steps.
    #[arg(long, value_parser = flags::steps)]
    pub max_steps: Option<usize>,
    /// Steps at a tenth of the learning rate first.
    #[arg(long, default_value_t = 0, value_parser = flags::warmup)]
    pub warmup: usize,
    /// Zero the last batch-norm gamma of every residual block.
    #[arg(long)]
    pub zero_init: bool,
    /// Multiply every residual branch by this before the addition.
    #[arg(long, default_value_t = 1.0, value_parser = flags::residual_scale)]
    pub residual_scale: f32,
    /// Random crop with 4 pixels of padding and horizontal flips.
    #[arg(long)]
    pub augment: bool,
    /// Record probes every N steps (0 = off).
    #[arg(long, default_value_t = 1, value_parser = flags::probe_every)]
    pub probe_every: usize,
    /// Keep at most this many training images per class.
    #[arg(long, value_parser = flags::per_class)]
    pub max_per_class: Option<usize>,
    /// Resize images to this size: N (square) or WxH. Default: the images' own size when it is
    /// at most 64x64 and shared by all, else 32x32.
    #[arg(long, value_parser = flags::size, value_name = "N|WxH")]
    pub size: Option<(usize, usize)>,
    /// Most memory a run may use, e.g. 2G, 512M or 50% (default: 70% of RAM, or 90% of what
    /// is free if less; also RESNET_LAB_MEM_LIMIT). Runs that would need more are refused
    /// before they start, with what to change.
    #[arg(long, value_parser = flags::mem_limit, value_name = "SIZE")]
    pub mem_limit: Option<u64>,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[arg(long, value_enum, default_value = "resnet")]
    pub arch: Arch,
    /// 6n+2: 8, 14, 20, 26, 32, 44, 56, 110, ... up to 1202.
    #[arg(long, default_value_t = 20, value_parser = flags::depth)]
    pub depth: usize,
    /// Train this NetSpec JSON instead of a preset.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Write the history JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Save the run to this folder: net.json, history.json and the trained weights
    /// (weights.safetensors), for `eval`, `predict`, `export-torch` and the app's Open run.
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Each 6n+2; all are checked (and their memory estimated) before the first run.
    #[arg(long, num_args = 1.., default_values_t = [20, 32, 44, 56], value_parser = flags::depth)]
    pub depths: Vec<usize>,
    #[arg(long, value_enum, num_args = 1.., default_values_t = [Arch::Plain, Arch::Resnet])]
    pub arch: Vec<Arch>,
    #[arg(long, default_value = "sweep")]
    pub out: PathBuf,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

/// Runs a subcommand; the error is a sentence for the terminal.
pub fn run(cmd: Command) -> Result<(), String> {
    match cmd {
        Command::Train(a) => train(a),
        Command::Sweep(a) => sweep(a),
        Command::Bench(a) => bench::run(a),
        Command::Export(a) => export::run(a),
        Command::Lessons(a) => lessons::run(a),
        Command::ExportData(a) => export_data::run(a),
        Command::ExportTorch(a) => torch::export(a),
        Command::ImportTorch(a) => torch::import(a),
        Command::DevStep(a) => torch::dev_step(a),
        Command::Eval(a) => inspect::eval(a),
        Command::Predict(a) => inspect::predict(a),
        Command::Landscape(a) => landscape::run(a),
    }
}

impl CommonArgs {
    fn hyper(&self) -> Hyper {
        Hyper {
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            momentum: self.momentum,
            weight_decay: self.wd,
            seed: self.seed,
            threads: self.threads,
            max_steps: self.max_steps,
            warmup_steps: self.warmup,
            probe_every: self.probe_every,
            model: ModelOptions {
                zero_init_residual: self.zero_init,
            },
            augment: data::Augment {
                pad_crop: if self.augment { 4 } else { 0 },
                hflip: self.augment,
            },
            ..Hyper::default()
        }
    }

    /// Applies `--threads` and `--mem-limit` for this process; a `RESNET_LAB_MEM_LIMIT` that is
    /// not a size is an error here rather than silently ignored.
    fn apply_mem_limit(&self) -> Result<(), String> {
        if self.threads > 0 {
            // The CLI trains on the calling thread, so the global pool is the run's pool. It can
            // be set only once per process; a second call (tests) keeps the first.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .build_global();
        }
        if let Some(bytes) = self.mem_limit {
            crate::util::set_mem_limit(Some(crate::util::MemLimit {
                bytes,
                source: format!("--mem-limit {}", crate::util::bytes_text(bytes)),
            }));
        } else if let Ok(v) = std::env::var(crate::util::MEM_LIMIT_ENV) {
            crate::util::parse_mem_limit(&v)
                .map_err(|e| format!("{}={v}: {e}", crate::util::MEM_LIMIT_ENV))?;
        }
        Ok(())
    }

    fn load(&self) -> Result<(data::Dataset, DataInfo), String> {
        let source = if self.data == "builtin" {
            Source::Builtin
        } else {
            Source::Path(PathBuf::from(&self.data))
        };
        let opts = LoadOptions {
            format: self.format,
            seed: self.seed,
            max_per_class: self.max_per_class,
            size: self.size,
            ..LoadOptions::default()
        };
        let ds = progress::load_with_progress(&source, &opts)?;
        for w in &ds.warnings {
            eprintln!("warning: {w}");
        }
        eprintln!(
            "data: {} — {} classes, {}x{}x{}, {} train / {} test",
            ds.name,
            ds.classes.len(),
            ds.channels,
            ds.height,
            ds.width,
            ds.train.len(),
            ds.test.len()
        );
        let info = DataInfo::new(source, opts, &ds);
        Ok((ds, info))
    }

    fn option(&self) -> ShortcutOption {
        match self.shortcut {
            ShortcutArg::A => ShortcutOption::A,
            ShortcutArg::B => ShortcutOption::B,
        }
    }

    /// The frozen inputs of a preset run.
    fn preset_inputs(
        &self,
        arch: Arch,
        depth: usize,
        hyper: &Hyper,
        data: &DataInfo,
    ) -> Result<RunInputs, String> {
        let spec = self.preset(arch, depth, data.classes.len())?;
        let preset = Preset {
            residual: arch == Arch::Resnet,
            depth,
            shortcut: self.option(),
            zero_init: self.zero_init,
            scale: self.residual_scale,
            width: self.width,
        };
        Ok(RunInputs {
            identity: preset.identity(),
            lesson: None,
            net: NetEntry::new(spec),
            hyper: hyper.clone(),
            data: data.clone(),
        })
    }

    fn preset(&self, arch: Arch, depth: usize, classes: usize) -> Result<NetSpec, String> {
        let option = self.option();
        let spec = presets::cifar(depth, arch == Arch::Resnet, option, self.width, classes).ok_or_else(|| {
            format!("depth {depth} is not in the paper's 6n+2 family (8, 14, 20, 26, 32, 44, 56, 110, ...)")
        })?;
        Ok(if self.residual_scale != 1.0 {
            presets::with_residual_scale(&spec, self.residual_scale)
        } else {
            spec
        })
    }
}

/// Trains one run synchronously, drawing a progress bar on stderr; hands back its history and
/// the trained model.
pub fn train_one(inputs: &RunInputs, ds: &data::Dataset) -> (RunHistory, Option<Model>) {
    let mut bar = progress::Bar::new(&inputs.net.label);
    let (history, model) = store::run_blocking(inputs, ds, &mut |h, _| bar.update(h));
    bar.finish(&history);
    (history, model)
}

fn write_json(path: &Path, history: &RunHistory) -> Result<(), String> {
    let json = serde_json::to_string_pretty(history).map_err(|e| e.to_string())?;
    crate::util::write_atomic(path, json.as_bytes())
        .map_err(|e| format!("could not write {}: {e}", path.display()))
}

/// The run's name for messages ("the run" when it has none).
fn name_of(label: &str) -> &str {
    if label.trim().is_empty() {
        "the run"
    } else {
        label
    }
}

fn outcome(h: &RunHistory) -> Result<(), String> {
    match &h.status {
        crate::train::RunStatus::Finished => Ok(()),
        other => Err(format!("{}: {}", name_of(&h.label), other.describe())),
    }
}

/// Warns (on stderr) about a run that ended but learned nothing.
fn warn_verdict(h: &RunHistory) {
    if let Some(v) = h.verdict() {
        eprintln!("warning: {}: {v}", name_of(&h.label));
    }
}

/// Refuses a run that would not fit in memory, before anything is built.
fn check_budget(
    label: &str,
    spec: &NetSpec,
    hyper: &Hyper,
    ds: &data::Dataset,
) -> Result<(), String> {
    crate::train::budget::check(label, spec, hyper, ds)
        .map(|_| ())
        .map_err(|over| over.message(true))
}

/// Most bytes a network spec file may have.
const MAX_SPEC_FILE: u64 = 16 << 20;

/// Reads a NetSpec file and checks it against the data, every message naming the file.
fn read_spec(p: &Path, ds: &data::Dataset) -> Result<NetEntry, String> {
    let shown = p.display();
    let text = crate::util::read_regular_text(p, MAX_SPEC_FILE, "a network spec")
        .map_err(|e| format!("could not read {shown}: {e}"))?;
    let spec = NetSpec::from_json(&text)
        .map_err(|e| format!("{shown} is not a valid network spec: {e}"))?;
    let input = crate::nn::Shape::new(ds.channels, ds.height, ds.width);
    spec.validate(input)
        .map_err(|e| format!("{shown} cannot be trained on {input} images: {e}"))?;
    if spec.classes() != Some(ds.classes.len()) {
        return Err(format!(
            "{shown} ends in {} outputs but the data set has {} classes; set its last Linear layer to {}",
            spec.classes().unwrap_or(0),
            ds.classes.len(),
            ds.classes.len()
        ));
    }
    let mut entry = NetEntry::new(spec);
    if entry.label.trim().is_empty() {
        entry.label = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "custom net".into());
    }
    Ok(entry)
}

fn train(a: TrainArgs) -> Result<(), String> {
    let hyper = a.common.hyper();
    hyper.validate()?;
    a.common.apply_mem_limit()?;
    if let Some(out) = &a.out {
        // Refused now rather than after the training it could not save.
        crate::util::check_writable(out)
            .map_err(|e| format!("cannot write --out {}: {e}", out.display()))?;
    }
    let (ds, info) = a.common.load()?;
    let inputs = match &a.spec {
        Some(p) => {
            let entry = read_spec(p, &ds)?;
            RunInputs {
                identity: NetIdentity::of_spec(&entry.spec, Origin::Built, a.common.zero_init),
                lesson: None,
                net: entry,
                hyper: hyper.clone(),
                data: info.clone(),
            }
        }
        None => a.common.preset_inputs(a.arch, a.depth, &hyper, &info)?,
    };
    check_budget(&inputs.net.label, &inputs.net.spec, &hyper, &ds)?;
    let (history, mut model) = train_one(&inputs, &ds);
    warn_verdict(&history);
    if let Some(out) = &a.out {
        write_json(out, &history)?;
        eprintln!("wrote {}", out.display());
    }
    if let Some(dir) = &a.save {
        run_dir::save(dir, &history, model.as_mut())?;
        eprintln!("saved the run to {}", dir.display());
    }
    outcome(&history)
}

/// A folder to write into: created if missing, refused if something else is there.
pub(crate) fn out_dir(dir: &Path) -> Result<(), String> {
    if let Ok(m) = std::fs::metadata(dir)
        && !m.is_dir()
    {
        return Err(format!(
            "--out {} is {}, not a folder",
            dir.display(),
            crate::util::kind_of(m.file_type())
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("could not create {}: {e}", dir.display()))
}

fn sweep(a: SweepArgs) -> Result<(), String> {
    let hyper = a.common.hyper();
    hyper.validate()?;
    a.common.apply_mem_limit()?;
    out_dir(&a.out)?;
    let (ds, info) = a.common.load()?;
    // Every run is built and checked before the first one trains.
    let mut plan = Vec::new();
    for &depth in &a.depths {
        for &arch in &a.arch {
            let inputs = a.common.preset_inputs(arch, depth, &hyper, &info)?;
            check_budget(&inputs.net.spec.name, &inputs.net.spec, &hyper, &ds)?;
            plan.push((depth, arch, inputs));
        }
    }
    let mut csv = String::from("depth,arch,final_train_err,final_test_err,status\n");
    let mut failures = Vec::new();
    let mut points = Vec::new();
    for (depth, arch, inputs) in plan {
        let (h, _) = train_one(&inputs, &ds);
        warn_verdict(&h);
        write_json(&a.out.join(format!("{}.json", h.label)), &h)?;
        let f = |v: Option<f32>| v.map(|e| format!("{e:.4}")).unwrap_or_default();
        let arch_name = if arch == Arch::Plain {
            "plain"
        } else {
            "resnet"
        };
        csv += &format!(
            "{depth},{arch_name},{},{},{}\n",
            f(h.final_train_err()),
            f(h.final_test_err()),
            crate::util::csv_field(&match h.verdict() {
                Some(v) => format!("{}: {v}", h.status.describe()),
                None => h.status.describe(),
            })
        );
        match (outcome(&h), h.sweep_point()) {
            (Err(e), _) => failures.push(e),
            (Ok(()), Some(p)) => points.push(p),
            (Ok(()), None) => {}
        }
    }
    let chart = crate::plot::charts::sweep(&points);
    if !chart.is_empty() {
        let png = export::write_chart(&a.out, &chart, crate::plot::DEFAULT_SIZE)?;
        eprintln!("wrote {}", png.display());
    }
    let path = a.out.join("summary.csv");
    crate::util::write_atomic(&path, csv.as_bytes())
        .map_err(|e| format!("could not write {}: {e}", path.display()))?;
    eprintln!("wrote {}", path.display());
    print!("{csv}");
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}
