//! `resnet-lab landscape`: the loss landscape around saved runs (CSV + PNG), headless. Several
//! runs (a plain net and its residual twin) are drawn side by side on the same levels.
use super::progress;
use crate::data::{Dataset, Format, LoadOptions, Source};
use crate::landscape::{self, Event, Landscape, Settings, Status, Subject};
use crate::plot::{self, surface::View3};
use crate::train::{DataInfo, run_dir};
use crate::util::write_atomic;
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct LandscapeArgs {
    /// Saved run folders (`train --save DIR`). Two or more (a plain net and its residual twin)
    /// are drawn side by side on the same levels, with the same directions seed and images.
    #[arg(required = true, num_args = 1.., value_name = "RUN")]
    pub runs: Vec<PathBuf>,
    /// Points per side of the grid (odd keeps the trained net on the grid).
    #[arg(long, default_value_t = 25)]
    pub grid: usize,
    /// The grid spans [-range, range] along both directions.
    #[arg(long, default_value_t = 1.0)]
    pub range: f32,
    /// Training images every point is evaluated on.
    #[arg(long, default_value_t = 1000)]
    pub images: usize,
    /// Images per forward pass.
    #[arg(long, default_value_t = 250)]
    pub batch: usize,
    /// Seeds the two random directions and the choice of images.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Points on the line from the initial (alpha 0) to the trained (alpha 1) weights; 0 = none.
    #[arg(long, default_value_t = 41)]
    pub line_points: usize,
    /// Where the line starts and ends (alpha; beyond [0, 1] batch-norm statistics extrapolate).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub line_from: f32,
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub line_to: f32,
    /// Compute threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Evaluate on this data set instead of the one the run trained on (`builtin` or a path).
    #[arg(long)]
    pub data: Option<String>,
    /// Format of --data PATH (detected when omitted).
    #[arg(long, value_parser = super::parse_format)]
    pub format: Option<Format>,
    #[arg(long, default_value = "landscape")]
    pub out: PathBuf,
    /// Picture size in pixels.
    #[arg(long, default_value_t = 1800)]
    pub width: u32,
    #[arg(long, default_value_t = 900)]
    pub height: u32,
    /// The 3-D view: turn about the vertical axis, and height above the surface (degrees).
    #[arg(long, default_value_t = -50.0, allow_negative_numbers = true)]
    pub azimuth: f64,
    #[arg(long, default_value_t = 50.0)]
    pub elevation: f64,
}

impl LandscapeArgs {
    pub fn settings(&self) -> Settings {
        Settings {
            grid: self.grid,
            range: self.range,
            images: self.images,
            batch: self.batch,
            seed: self.seed,
            line_points: self.line_points,
            line_from: self.line_from,
            line_to: self.line_to,
            threads: self.threads,
        }
    }
}

/// A saved run as a subject: its trained net, and its initial weights rebuilt from its seed.
fn open(dir: &Path) -> Result<(Subject, Option<DataInfo>), String> {
    let run = run_dir::open(dir)?;
    let mut model = run.model.ok_or_else(|| {
        format!(
            "{} holds no trained weights; save the run with `train --save`",
            dir.display()
        )
    })?;
    model.set_probe(false);
    let h = &run.history;
    let initial =
        landscape::initial_weights(&run.spec, model.input_shape(), h.hyper.seed, h.hyper.model)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    let label = if h.label.is_empty() {
        run.spec.name.clone()
    } else {
        h.label.clone()
    };
    Ok((Subject::new(label, model, Some(initial)), h.data.clone()))
}

pub fn run(a: LandscapeArgs) -> Result<(), String> {
    let settings = a.settings();
    settings.validate()?;
    if a.width < 200 || a.height < 150 || a.width > 8000 || a.height > 8000 {
        return Err("--width and --height must be between 200x150 and 8000x8000 pixels".into());
    }
    if !a.azimuth.is_finite() || !(0.0..=90.0).contains(&a.elevation) {
        return Err("--azimuth must be a number and --elevation between 0 and 90 degrees".into());
    }
    let mut subjects = Vec::new();
    let mut infos = Vec::new();
    for dir in &a.runs {
        let (s, info) = open(dir)?;
        subjects.push(s);
        infos.push(info);
    }
    let (source, opts) = match (&a.data, &infos[0]) {
        (Some(d), _) => {
            let source = if d == "builtin" {
                Source::Builtin
            } else {
                Source::Path(PathBuf::from(d))
            };
            let opts = LoadOptions {
                format: a.format,
                size: Some((
                    subjects[0].model.input_shape().h,
                    subjects[0].model.input_shape().w,
                )),
                ..infos[0]
                    .as_ref()
                    .map(|i| i.options.clone())
                    .unwrap_or_default()
            };
            (source, opts)
        }
        (None, Some(info)) => (info.source.clone(), info.options.clone()),
        (None, None) => {
            return Err(format!(
                "{} does not record its data set; name one with --data",
                a.runs[0].display()
            ));
        }
    };
    if a.data.is_none()
        && infos
            .iter()
            .any(|i| i.as_ref().map(|i| (&i.source, &i.options)) != Some((&source, &opts)))
    {
        return Err(
            "the runs trained on different data sets; name the one to evaluate them on with --data"
                .into(),
        );
    }
    let data = progress::load_with_progress(&source, &opts)?;
    check_memory(&settings, &subjects, &data)?;
    let l = compute(&settings, &mut subjects, &data);
    match &l.status {
        Status::Finished { .. } => {}
        Status::Failed(reason) => return Err(reason.clone()),
        other => return Err(format!("the landscape did not finish ({other:?})")),
    }
    let view = View3 {
        azimuth: a.azimuth,
        elevation: a.elevation,
    };
    let files = write_outputs(&l, &a.out, (a.width, a.height), view)?;
    for f in &files {
        eprintln!("wrote {}", f.display());
    }
    print!("{}", summary(&l));
    Ok(())
}

/// Refuses a grid whose evaluation would not fit the memory limit, before the job allocates.
fn check_memory(settings: &Settings, subjects: &[Subject], data: &Dataset) -> Result<(), String> {
    let specs: Vec<&crate::nn::NetSpec> = subjects.iter().map(|s| s.model.spec()).collect();
    let Some(input) = subjects.first().map(|s| s.model.input_shape()) else {
        return Ok(());
    };
    let need = landscape::job::memory_estimate(settings, &specs, input, data.train.len())
        .map_err(|e| e.to_string())?;
    let limit = crate::util::mem_limit();
    if need > limit.bytes {
        return Err(format!(
            "the landscape would need about {} of memory, more than the limit of {}; use fewer --images",
            crate::util::bytes_text(need),
            limit.describe()
        ));
    }
    Ok(())
}

/// Computes the landscape of `subjects` on `data`, a progress line on stderr.
pub fn compute(settings: &Settings, subjects: &mut [Subject], data: &Dataset) -> Landscape {
    let mut l = Landscape::new();
    let started = Instant::now();
    let mut last: Option<Instant> = None;
    let mut show = |l: &Landscape, force: bool| {
        let now = Instant::now();
        if !force && last.is_some_and(|t| now - t < Duration::from_millis(250)) {
            return;
        }
        last = Some(now);
        let width = 24;
        let fill = (l.progress() * width as f32) as usize;
        let elapsed = started.elapsed().as_secs_f64();
        let eta = if l.done > 0 {
            elapsed / l.done as f64 * (l.total - l.done.min(l.total)) as f64
        } else {
            0.0
        };
        eprint!(
            "\r   landscape [{}{}] {}/{} points, {elapsed:.0}s, eta {eta:.0}s   ",
            "#".repeat(fill.min(width)),
            " ".repeat(width - fill.min(width)),
            l.done,
            l.total
        );
        let _ = std::io::stderr().flush();
    };
    let never = AtomicBool::new(false);
    match rayon::ThreadPoolBuilder::new()
        .num_threads(settings.threads)
        .build()
    {
        Ok(pool) => pool.install(|| {
            landscape::run(settings, subjects, data, &never, &mut |e: Event| {
                l.apply(&e);
                show(&l, !matches!(e, Event::Line { .. } | Event::Grid { .. }));
            })
        }),
        Err(e) => l.apply(&Event::Failed {
            reason: format!("could not start worker threads: {e}"),
        }),
    }
    eprintln!();
    l
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomic(path, bytes).map_err(|e| format!("could not write {}: {e}", path.display()))
}

/// Writes every table and picture of `l` into `dir`; returns the files written.
pub fn write_outputs(
    l: &Landscape,
    dir: &Path,
    size: (u32, u32),
    view: View3,
) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    let mut put = |name: &str, bytes: &[u8]| -> Result<(), String> {
        let p = dir.join(name);
        write(&p, bytes)?;
        files.push(p);
        Ok(())
    };
    put("surface.csv", plot::landscape::surface_csv(l).as_bytes())?;
    put("figures.csv", plot::landscape::figures_csv(l).as_bytes())?;
    let levels = plot::landscape::shared_levels(l);
    let title = plot::landscape::title(l);
    let contours = plot::landscape::contour_plots(l, &levels);
    put(
        "contours.png",
        &plot::contours_to_png(&title, &contours, size)?,
    )?;
    let scenes = plot::landscape::surface_scenes(l, &levels, view);
    put(
        "surface-3d.png",
        &plot::surfaces_to_png(&title, &scenes, &levels, size)?,
    )?;
    let slice = plot::landscape::slice_chart(l);
    put("slice.png", &plot::to_png(&slice, size)?)?;
    if l.nets.iter().any(|n| n.line.is_some()) {
        put("line.csv", plot::landscape::line_csv(l).as_bytes())?;
        for (name, error) in [("line-loss.png", false), ("line-error.png", true)] {
            let chart = plot::landscape::line_chart(l, error);
            put(name, &plot::to_png(&chart, size)?)?;
        }
    }
    Ok(files)
}

/// The figures table for the terminal.
pub fn summary(l: &Landscape) -> String {
    let mut out = format!(
        "{:<14} {:>10} {:>8} {:>11} {:>10} {:>7} {:>10}\n",
        "net", "centre loss", "error %", "non-convex", "curv ratio", "minima", "roughness"
    );
    for n in &l.nets {
        let c = n.surface.centre();
        let f = landscape::figures(&n.surface.coords, &n.surface.loss_f64());
        let num = |v: Option<f64>, d: usize| v.map(|v| format!("{v:.d$}")).unwrap_or("-".into());
        out += &format!(
            "{:<14} {:>10} {:>8} {:>11} {:>10} {:>7} {:>10}\n",
            n.label,
            num(c.map(|p| p.loss as f64), 4),
            num(c.map(|p| p.error as f64 * 100.0), 2),
            num(f.map(|f| f.nonconvex_share * 100.0), 1) + "%",
            num(f.map(|f| f.curvature_ratio), 3),
            f.map(|f| f.local_minima.to_string()).unwrap_or("-".into()),
            num(f.map(|f| f.roughness), 3),
        );
    }
    if let Status::Finished { wall_secs } = l.status {
        out += &format!(
            "{} evaluations of {} images in {wall_secs:.1}s\n",
            l.done, l.images
        );
    }
    out
}
