//! Exercises graded like unit tests: the shapes, the shortcut type and the order of layers.
use super::draft::BlockDraft;
use crate::nn::{LayerSpec, Shape, Shortcut};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExerciseId {
    Identity,
    Conv,
    Bottleneck,
}

impl ExerciseId {
    pub const ALL: [ExerciseId; 3] = [
        ExerciseId::Identity,
        ExerciseId::Conv,
        ExerciseId::Bottleneck,
    ];

    /// The word lessons use in `try: build ...` and `check: exercise-...`.
    pub fn key(self) -> &'static str {
        match self {
            ExerciseId::Identity => "identity",
            ExerciseId::Conv => "conv",
            ExerciseId::Bottleneck => "bottleneck",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.key() == key)
    }
}

/// What one layer of the expected main path must be.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Conv { out: usize, k: usize, stride: usize },
    BatchNorm,
    ReLU,
}

pub struct Exercise {
    pub id: ExerciseId,
    pub title: &'static str,
    pub task: &'static str,
    pub input: Shape,
    shortcut: Shortcut,
    body: Vec<Want>,
}

/// The verdict: passed, or every problem found, each a sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct Grade {
    pub problems: Vec<String>,
}

impl Grade {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

fn describe(w: &Want) -> String {
    match w {
        Want::Conv { out, k, stride: 1 } => format!("Conv {k}x{k} with {out} filters"),
        Want::Conv { out, k, stride } => format!("Conv {k}x{k} stride {stride} with {out} filters"),
        Want::BatchNorm => "BatchNorm".into(),
        Want::ReLU => "ReLU".into(),
    }
}

impl Exercise {
    pub fn get(id: ExerciseId) -> Exercise {
        let conv = |out, k, stride| Want::Conv { out, k, stride };
        use Want::{BatchNorm as B, ReLU as R};
        match id {
            ExerciseId::Identity => Exercise {
                id,
                title: "Identity block",
                task: "Build an identity block for a 16x28x28 input: Conv 3x3 (16), BatchNorm, ReLU, Conv 3x3 (16), BatchNorm on the main path, an identity shortcut, and a ReLU after the addition.",
                input: Shape::new(16, 28, 28),
                shortcut: Shortcut::Identity,
                body: vec![conv(16, 3, 1), B, R, conv(16, 3, 1), B],
            },
            ExerciseId::Conv => Exercise {
                id,
                title: "Convolutional block",
                task: "Build a convolutional block from 16 to 32 channels with stride 2 (16x28x28 in, 32x14x14 out): Conv 3x3 stride 2 (32), BatchNorm, ReLU, Conv 3x3 (32), BatchNorm, a 1x1 projection shortcut, and a ReLU after the addition.",
                input: Shape::new(16, 28, 28),
                shortcut: Shortcut::Projection,
                body: vec![conv(32, 3, 2), B, R, conv(32, 3, 1), B],
            },
            ExerciseId::Bottleneck => Exercise {
                id,
                title: "Bottleneck identity block",
                task: "Build the bottleneck identity block 256->64->64->256 for a 256x14x14 input: Conv 1x1 (64), BatchNorm, ReLU, Conv 3x3 (64), BatchNorm, ReLU, Conv 1x1 (256), BatchNorm, an identity shortcut, and a ReLU after the addition.",
                input: Shape::new(256, 14, 14),
                shortcut: Shortcut::Identity,
                body: vec![
                    conv(64, 1, 1),
                    B,
                    R,
                    conv(64, 3, 1),
                    B,
                    R,
                    conv(256, 1, 1),
                    B,
                ],
            },
        }
    }

    /// A draft to start from: the exercise's input and nothing else.
    pub fn start(&self) -> BlockDraft {
        BlockDraft {
            input: self.input,
            body: Vec::new(),
            shortcut: Shortcut::Identity,
            residual_scale: 1.0,
            relu_after: false,
        }
    }

    pub fn grade(&self, d: &BlockDraft) -> Grade {
        let mut problems = Vec::new();
        if d.input != self.input {
            problems.push(format!(
                "The input should be {} (it is {}).",
                self.input, d.input
            ));
        }
        let report = d.report();
        if let Some(e) = &report.error {
            problems.push(format!("The block does not compute yet: {e}"));
        }
        if d.shortcut != self.shortcut {
            problems.push(match self.shortcut {
                Shortcut::Projection => format!(
                    "The shortcut should be a 1x1 projection (it is {}): the shapes change, and this exercise asks for the convolutional block.",
                    d.shortcut
                ),
                _ => format!(
                    "The shortcut should be the identity (it is {}): input and output have the same shape, so nothing needs to change on the skip path.",
                    d.shortcut
                ),
            });
        }
        if !d.relu_after {
            problems
                .push("Add the ReLU after the addition: g in a[l+2] = g(z[l+2] + a[l]).".into());
        }
        if d.residual_scale != 1.0 {
            problems.push(format!(
                "Leave the residual scale at 1 (it is {}).",
                d.residual_scale
            ));
        }
        for (i, want) in self.body.iter().enumerate() {
            let Some(have) = d.body.get(i) else {
                problems.push(format!(
                    "The main path stops after {} layers; layer {} should be {}.",
                    d.body.len(),
                    i + 1,
                    describe(want)
                ));
                break;
            };
            let ok = match (want, have) {
                (Want::BatchNorm, LayerSpec::BatchNorm) | (Want::ReLU, LayerSpec::ReLU) => true,
                (
                    Want::Conv { out, k, stride },
                    LayerSpec::Conv {
                        out: o,
                        k: kk,
                        stride: s,
                        pad,
                    },
                ) => {
                    // The kind of layer is right; report each wrong detail on its own.
                    let n = i + 1;
                    if kk != k {
                        problems.push(format!(
                            "Layer {n}: the kernel should be {k}x{k} (it is {kk}x{kk})."
                        ));
                    }
                    if s != stride {
                        problems.push(format!(
                            "Layer {n}: the stride should be {stride} (it is {s})."
                        ));
                    }
                    if o != out {
                        problems.push(format!(
                            "Layer {n}: it should have {out} filters (it has {o})."
                        ));
                    }
                    if *pad != k / 2 {
                        problems.push(format!(
                            "Layer {n}: the padding should be {} to keep the size (it is {pad}).",
                            k / 2
                        ));
                    }
                    true
                }
                _ => false,
            };
            if !ok {
                problems.push(format!(
                    "Layer {} should be {} (it is {}).",
                    i + 1,
                    describe(want),
                    have.label()
                ));
            }
        }
        if d.body.len() > self.body.len() {
            problems.push(format!(
                "The main path has {} layers; this block needs {}. Remove the extra ones.",
                d.body.len(),
                self.body.len()
            ));
        }
        Grade { problems }
    }
}
