//! Softmax cross-entropy, the loss every classifier here trains on.

/// Mean loss over the batch, the gradient w.r.t. the logits, and how many predictions were wrong.
/// A non-finite logit yields a non-finite loss, which the trainer reports as divergence.
pub fn cross_entropy(
    n: usize,
    classes: usize,
    logits: &[f32],
    labels: &[usize],
) -> (f32, Vec<f32>, usize) {
    let mut grad = vec![0.0; n * classes];
    let mut total = 0.0f64;
    let mut wrong = 0;
    for i in 0..n {
        let row = &logits[i * classes..(i + 1) * classes];
        let g = &mut grad[i * classes..(i + 1) * classes];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut z = 0.0f64;
        for (gv, &v) in g.iter_mut().zip(row) {
            let e = ((v - max) as f64).exp();
            *gv = e as f32;
            z += e;
        }
        let label = labels[i];
        total += z.ln() - (row[label] - max) as f64;
        for gv in g.iter_mut() {
            *gv = (*gv as f64 / z / n as f64) as f32;
        }
        g[label] -= 1.0 / n as f32;
        let arg = argmax(row);
        if arg != label {
            wrong += 1;
        }
    }
    ((total / n as f64) as f32, grad, wrong)
}

/// Index of the largest value; NaN never wins.
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] || row[best].is_nan() {
            best = j;
        }
    }
    best
}
