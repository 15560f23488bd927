//! `resnet-lab export-data`: any data set the app reads, written as IDX, CIFAR binary or an image
//! folder, so PyTorch (train.py, tests/torch) can train on exactly the images this app did.
use super::progress;
use crate::data::{self, Format, LoadOptions, Source};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ExportDataArgs {
    /// `builtin` for the generated shapes data set, or a folder / file of images.
    #[arg(long, default_value = "builtin")]
    pub data: String,
    /// Format of --data PATH (detected when omitted).
    #[arg(long, value_parser = super::parse_format)]
    pub format: Option<Format>,
    /// What to write: idx (grey), cifar (3x32x32) or imagefolder (PNG files).
    #[arg(long, value_parser = super::parse_format)]
    pub to: Format,
    /// Seeds the built-in set and any held-out split, as in `train --seed`.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keep at most this many images per class in each split.
    #[arg(long)]
    pub max_per_class: Option<usize>,
    /// Compress IDX files with gzip.
    #[arg(long)]
    pub gzip: bool,
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: ExportDataArgs) -> Result<(), String> {
    let source: Source = a.data.parse().unwrap_or(Source::Builtin);
    let opts = LoadOptions {
        format: a.format,
        seed: a.seed,
        max_per_class: a.max_per_class,
        ..LoadOptions::default()
    };
    let ds = progress::load_with_progress(&source, &opts)?;
    let written = match a.to {
        Format::Idx => data::write_idx(&a.out, &ds, a.gzip),
        Format::Cifar => data::write_cifar(&a.out, &ds),
        Format::ImageFolder => data::write_image_folder(&a.out, &ds),
    };
    written.map_err(|e| format!("could not write {}: {e}", a.out.display()))?;
    eprintln!(
        "wrote {} ({} train / {} test images, {} classes) to {} as {}",
        ds.name,
        ds.train.len(),
        ds.test.len(),
        ds.classes.len(),
        a.out.display(),
        a.to
    );
    Ok(())
}
