//! `resnet-lab export`: the app's plots (PNG and CSV) from run JSON files written by `train`,
//! `sweep` or the app, without opening a window.
use crate::plot::{self, Chart, Grid, charts};
use crate::train::RunHistory;
use crate::util::write_atomic;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Run JSON files (from `train --out`, `sweep` or the app); their curves share each plot.
    #[arg(required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    #[arg(long, default_value = "plots")]
    pub out: PathBuf,
    /// Width of each PNG in pixels (64 to 8192).
    #[arg(long, default_value_t = plot::DEFAULT_SIZE.0, value_parser = super::flags::png_side)]
    pub width: u32,
    /// Height of each PNG in pixels (64 to 8192).
    #[arg(long, default_value_t = plot::DEFAULT_SIZE.1, value_parser = super::flags::png_side)]
    pub height: u32,
}

/// Writes `<slug>.png` and `<slug>.csv` for a chart; returns the PNG's path.
pub fn write_chart(dir: &Path, chart: &Chart, size: (u32, u32)) -> Result<PathBuf, String> {
    let png = dir.join(format!("{}.png", chart.slug()));
    write(&png, &plot::to_png(chart, size)?)?;
    write(
        &dir.join(format!("{}.csv", chart.slug())),
        plot::to_csv(chart).as_bytes(),
    )?;
    Ok(png)
}

fn write_grid(dir: &Path, grid: &Grid, size: (u32, u32)) -> Result<(), String> {
    write(
        &dir.join(format!("{}.png", grid.slug())),
        &plot::grid_to_png(grid, size)?,
    )?;
    write(
        &dir.join(format!("{}.csv", grid.slug())),
        plot::grid_to_csv(grid).as_bytes(),
    )
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomic(path, bytes).map_err(|e| format!("could not write {}: {e}", path.display()))
}

/// Most bytes a run history file may have (a long run probed every step is tens of MB).
const MAX_RUN_FILE: u64 = 1 << 30;

pub fn run(a: ExportArgs) -> Result<(), String> {
    super::out_dir(&a.out)?;
    let mut runs = Vec::new();
    for p in &a.runs {
        let text = crate::util::read_regular_text(p, MAX_RUN_FILE, "a run history")
            .map_err(|e| format!("could not read {}: {e}", p.display()))?;
        let h: RunHistory = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a run history written by resnet-lab: {e}",
                p.display()
            )
        })?;
        runs.push(h);
    }
    let size = (a.width, a.height);
    let mut written = 0;
    for chart in charts::all(&runs).iter().filter(|c| !c.is_empty()) {
        let png = write_chart(&a.out, chart, size)?;
        eprintln!("wrote {} (+ .csv)", png.display());
        written += 1;
    }
    for h in runs.iter().filter(|h| !h.grad_flow.is_empty()) {
        write_grid(&a.out, &charts::grad_heatmap(h, 400), size)?;
        written += 1;
    }
    if written == 0 {
        return Err("the runs hold no data to plot yet".into());
    }
    Ok(())
}
