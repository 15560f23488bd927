//! Bringing every image to the one size and channel count the network expects.
//!
//! All formats funnel through these functions, so a grey image looks the same whether it came
//! from a PNG, an IDX file or a CIFAR record: same grey formula, same resampling filter.

use image::{DynamicImage, ImageBuffer, Luma, imageops::FilterType};
use rayon::prelude::*;

/// (channels, height, width)
pub type Shape = (usize, usize, usize);

/// Converts a run of NCHW images from one shape to another, in parallel.
pub fn convert_images(images: &[u8], from: Shape, to: Shape) -> Vec<u8> {
    let n_from = from.0 * from.1 * from.2;
    let n_to = to.0 * to.1 * to.2;
    if from == to || n_from == 0 {
        return if from == to {
            images.to_vec()
        } else {
            Vec::new()
        };
    }
    let count = images.len() / n_from;
    let mut out = vec![0u8; count * n_to];
    out.par_chunks_mut(n_to.max(1))
        .zip(images.par_chunks(n_from))
        .for_each(|(dst, src)| dst.copy_from_slice(&convert_one(src, from, to)));
    out
}

/// Converts one CHW image. Grey is made before resizing (a third of the work) and colour
/// after it (the same reason).
pub fn convert_one(src: &[u8], from: Shape, to: Shape) -> Vec<u8> {
    let (c0, h0, w0) = from;
    let (c1, h1, w1) = to;
    if c0 == 0 || h0 * w0 == 0 || src.len() < c0 * h0 * w0 {
        return vec![0; c1 * h1 * w1];
    }
    let planes: Vec<&[u8]> = src.chunks(h0 * w0).take(c0).collect();
    let grey;
    let planes: Vec<&[u8]> = if c1 == 1 && c0 >= 3 {
        grey = luma_planes(planes[0], planes[1], planes[2]);
        vec![&grey[..]]
    } else {
        planes
    };
    let resized: Vec<Vec<u8>> = planes
        .iter()
        .map(|p| resize_plane(p, h0, w0, h1, w1))
        .collect();
    let mut out = Vec::with_capacity(c1 * h1 * w1);
    for c in 0..c1 {
        // One grey plane becomes all three colour planes; extra source planes are dropped.
        let p = &resized[c.min(resized.len() - 1)];
        out.extend_from_slice(p);
    }
    out
}

/// Rec. 709 luma with integer weights that sum to 10000, so grey-as-RGB maps back exactly.
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((2126 * r as u32 + 7152 * g as u32 + 722 * b as u32 + 5000) / 10000) as u8
}

fn luma_planes(r: &[u8], g: &[u8], b: &[u8]) -> Vec<u8> {
    r.iter()
        .zip(g)
        .zip(b)
        .map(|((&r, &g), &b)| luma(r, g, b))
        .collect()
}

fn resize_plane(p: &[u8], h0: usize, w0: usize, h1: usize, w1: usize) -> Vec<u8> {
    if (h0, w0) == (h1, w1) {
        return p.to_vec();
    }
    match ImageBuffer::<Luma<u8>, &[u8]>::from_raw(w0 as u32, h0 as u32, p) {
        Some(buf) => {
            image::imageops::resize(&buf, w1 as u32, h1 as u32, FilterType::Triangle).into_raw()
        }
        None => vec![0; h1 * w1],
    }
}

/// A decoded image as CHW bytes in its own shape: 1 channel if it is grey, else 3 (alpha is
/// dropped, as torchvision's `convert("RGB")` does).
pub fn dynamic_to_chw(img: &DynamicImage) -> (Vec<u8>, Shape) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if !img.color().has_color() {
        return (img.to_luma8().into_raw(), (1, h, w));
    }
    let rgb = img.to_rgb8();
    let plane = h * w;
    let mut out = vec![0u8; 3 * plane];
    for (i, px) in rgb.pixels().enumerate() {
        out[i] = px[0];
        out[plane + i] = px[1];
        out[2 * plane + i] = px[2];
    }
    (out, (3, h, w))
}
