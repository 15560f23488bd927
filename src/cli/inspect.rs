//! `resnet-lab eval` and `resnet-lab predict`: a saved run's verdict on a data set or on
//! single image files, with the same code the app's Inspect tab uses (`train::eval`).
use super::progress;
use crate::data::{self, Format, Source, SplitKind};
use crate::nn::Model;
use crate::train::eval::{self, class_name};
use crate::train::{DataInfo, SavedRun, run_dir};
use crate::util::write_atomic;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    Test,
    Train,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A run folder (from `train --save` or the app's Save run).
    pub run: PathBuf,
    /// `builtin` or a data set folder / file. Default: the data the run trained on.
    #[arg(long)]
    pub data: Option<String>,
    /// Format of --data PATH (detected when omitted).
    #[arg(long, value_parser = super::parse_format)]
    pub format: Option<Format>,
    /// Which split to classify.
    #[arg(long, value_enum, default_value = "test")]
    pub split: SplitArg,
    /// Keep at most this many images per class.
    #[arg(long, value_parser = super::flags::per_class)]
    pub max_per_class: Option<usize>,
    /// Write the confusion matrix (rows: true class, columns: predicted) as CSV here.
    #[arg(long, default_value = "confusion.csv")]
    pub out: PathBuf,
    /// Also write every image's prediction and confidence as CSV here.
    #[arg(long, value_name = "CSV")]
    pub predictions: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A run folder (from `train --save` or the app's Save run).
    pub run: PathBuf,
    /// Image files (PNG, JPEG, BMP, GIF, WebP, TIFF); each is brought to the net's input size
    /// and normalised as its training images were.
    #[arg(required = true, num_args = 1..)]
    pub images: Vec<PathBuf>,
    /// List the K most likely classes for each image.
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = top)]
    pub top: usize,
}

/// `--top K`: 1 to 1000 (more than the net's classes lists them all).
fn top(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(k) if (1..=1000).contains(&k) => Ok(k),
        _ => {
            Err("K (the classes listed per image) must be a whole number between 1 and 1000".into())
        }
    }
}

/// Refuses an output path now rather than after the work it could not save.
fn check_out(flag: &str, path: &Path) -> Result<(), String> {
    crate::util::check_writable(path)
        .map_err(|e| format!("cannot write {flag} {}: {e}", path.display()))
}

/// A saved run with its trained net and the data it trained on.
fn open_trained(dir: &Path) -> Result<(SavedRun, Model, DataInfo), String> {
    let mut run = run_dir::open(dir)?;
    let model = run.model.take().ok_or_else(|| {
        format!(
            "{} holds no trained weights ({} is missing): save the run with its model",
            dir.display(),
            run_dir::WEIGHTS_FILE
        )
    })?;
    let info = run.history.data.clone().ok_or_else(|| {
        format!(
            "{} does not record the data it trained on, so the size and normalisation of its images are unknown",
            dir.display()
        )
    })?;
    if info.input() != model.input_shape() {
        return Err(format!(
            "{}: the net takes {} images but its history says {}",
            dir.display(),
            model.input_shape(),
            info.input()
        ));
    }
    Ok((run, model, info))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomic(path, bytes).map_err(|e| format!("could not write {}: {e}", path.display()))
}

fn percent(v: Option<f32>) -> String {
    v.map(|e| format!("{:.2}%", e * 100.0))
        .unwrap_or_else(|| "n/a".into())
}

pub fn eval(a: EvalArgs) -> Result<(), String> {
    check_out("--out", &a.out)?;
    if let Some(p) = &a.predictions {
        check_out("--predictions", p)?;
    }
    let (run, mut model, info) = open_trained(&a.run)?;
    let source = match &a.data {
        Some(s) => s.parse::<Source>().unwrap_or(Source::Builtin),
        None => info.source.clone(),
    };
    let mut opts = eval::load_options(&info, &source);
    if a.format.is_some() {
        opts.format = a.format;
    }
    if a.max_per_class.is_some() {
        opts.max_per_class = a.max_per_class;
    }
    let mut ds = progress::load_with_progress(&source, &opts)?;
    for w in &ds.warnings {
        eprintln!("warning: {w}");
    }
    for w in eval::prepare(&mut ds, &info).map_err(|e| format!("{source}: {e}"))? {
        eprintln!("warning: {w}");
    }
    let split = match a.split {
        SplitArg::Test => SplitKind::Test,
        SplitArg::Train => SplitKind::Train,
    };
    let which = match split {
        SplitKind::Test => "test",
        SplitKind::Train => "training",
    };
    let n = ds.split(split).len();
    if n == 0 {
        return Err(format!("{source} has no {which} images to classify"));
    }
    let mut last = std::time::Instant::now();
    let mut show = |done: usize, total: usize| {
        if last.elapsed().as_millis() >= 250 {
            last = std::time::Instant::now();
            eprint!("\rclassifying {done}/{total}");
            let _ = std::io::stderr().flush();
        }
        true
    };
    let e = eval::evaluate(&mut model, &ds, split, eval::BATCH, &mut show)?;
    eprint!("\r{}\r", " ".repeat(30));
    let names = &ds.classes;
    let c = &e.confusion;
    let label = if run.history.label.is_empty() {
        run.spec.name.clone()
    } else {
        run.history.label.clone()
    };
    let mut out = format!(
        "{label} on {} ({which} split, {n} images): error {} ({} wrong), mean loss {:.4}\n",
        ds.name,
        percent(e.error()),
        c.wrong(),
        e.loss
    );
    if e.non_finite > 0 {
        out += &format!(
            "warning: the net's outputs were not finite for {} images (a diverged run); its predictions there mean nothing\n",
            e.non_finite
        );
    }
    out += "per-class error:\n";
    let width = names.iter().map(|s| s.chars().count()).max().unwrap_or(5);
    for (k, err) in c.per_class_error().into_iter().enumerate() {
        let total = c.row_total(k);
        out += &format!(
            "  {:<width$}  {:>7}  ({} of {total})\n",
            class_name(names, k),
            percent(err),
            total - c.get(k, k)
        );
    }
    let pairs = c.most_confused(5);
    if !pairs.is_empty() {
        out += "most confused (true -> predicted):\n";
        for p in pairs {
            out += &format!(
                "  {} -> {}: {} ({:.1}% of {})\n",
                class_name(names, p.truth),
                class_name(names, p.predicted),
                p.count,
                p.rate * 100.0,
                class_name(names, p.truth)
            );
        }
    }
    print!("{out}");
    write(&a.out, c.to_csv(names).as_bytes())?;
    eprintln!("wrote {}", a.out.display());
    if let Some(p) = &a.predictions {
        write(p, e.predictions_csv(names).as_bytes())?;
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

pub fn predict(a: PredictArgs) -> Result<(), String> {
    let (_, mut model, info) = open_trained(&a.run)?;
    let shape = model.input_shape();
    let top = a.top.clamp(1, model.classes().max(1));
    let mut failed = 0;
    for path in &a.images {
        let bytes = match data::decode_file(path, (shape.c, shape.h, shape.w)) {
            Ok(b) => b,
            Err(why) => {
                eprintln!("error: {}: {why}", path.display());
                failed += 1;
                continue;
            }
        };
        let x = eval::normalise(bytes, shape, &info.mean, &info.std);
        let probs = eval::probabilities(&mut model, x, 1).remove(0);
        if !probs.iter().all(|p| p.is_finite()) {
            eprintln!(
                "error: {}: the net's outputs are not finite (was the run diverged?)",
                path.display()
            );
            failed += 1;
            continue;
        }
        let mut order: Vec<usize> = (0..probs.len()).collect();
        // Most likely first; ties keep the lower class first, as argmax does.
        order.sort_by(|&i, &j| probs[j].total_cmp(&probs[i]).then(i.cmp(&j)));
        let guesses: Vec<String> = order
            .iter()
            .take(top)
            .map(|&k| {
                format!(
                    "{} ({:.1}%)",
                    class_name(&info.classes, k),
                    probs[k] * 100.0
                )
            })
            .collect();
        println!("{}: {}", path.display(), guesses.join(", "));
    }
    if failed > 0 {
        return Err(format!(
            "{failed} of {} images could not be classified",
            a.images.len()
        ));
    }
    Ok(())
}
