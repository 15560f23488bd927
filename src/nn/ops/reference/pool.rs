//! Global average pooling: each channel plane becomes its mean.
pub fn forward(n: usize, c: usize, hw: usize, x: &[f32], y: &mut [f32]) {
    for (yv, plane) in y[..n * c].iter_mut().zip(x.chunks(hw)) {
        *yv = plane.iter().sum::<f32>() / hw as f32;
    }
}

pub fn backward(n: usize, c: usize, hw: usize, dy: &[f32], dx: &mut [f32]) {
    for (&d, plane) in dy[..n * c].iter().zip(dx.chunks_mut(hw)) {
        plane.fill(d / hw as f32);
    }
}
