//! Exercises graded like unit tests: the shapes, the shortcut type and the order of layers.
use super::draft::{BlockDraft, Edit};
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

/// A mistake the grader recognises by its pattern, named in a sentence, with a fix.
#[derive(Clone, Debug, PartialEq)]
pub struct Mistake {
    pub kind: MistakeKind,
    /// What is wrong and why it matters, in one or two sentences.
    pub sentence: String,
    /// The edits that correct it, applied as one undo step.
    pub fix: Option<GradeFix>,
}

/// The mistakes learners make building a residual block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MistakeKind {
    /// The main path ends with a ReLU and nothing follows the addition: ReLU(z) + a[l], the
    /// shortcut joins after the ReLU.
    ShortcutAfterRelu { at: usize },
    /// A ReLU just before the + as well as g after it.
    ReluBeforeAdd { at: usize },
    /// No g = ReLU after the addition.
    NoReluAfterAdd,
    /// The stride belongs on one conv and sits on another.
    StrideOnWrongConv { have: usize, want: usize },
    /// A conv strides where the block should keep (or already changes) the size.
    ExtraStride { at: usize },
    /// ReLU placed before the BatchNorm that should precede it.
    ReluBeforeBn { at: usize },
    /// No ReLU between a BatchNorm and the next conv.
    MissingRelu { at: usize },
    /// The wrong kind of shortcut.
    WrongShortcut,
}

/// A one-click correction offered beside a named mistake.
#[derive(Clone, Debug, PartialEq)]
pub struct GradeFix {
    pub label: String,
    pub edits: Vec<Edit>,
}

/// The verdict: passed, or every problem found, each a sentence. Recognised mistakes come first
/// (with their fixes); the other problems are what remains once those are corrected, so one
/// misplaced layer does not also show up as "layer 6 should be ..." and "remove the extra".
#[derive(Clone, Debug, PartialEq)]
pub struct Grade {
    pub problems: Vec<String>,
    pub mistakes: Vec<Mistake>,
}

impl Grade {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn kinds(&self) -> Vec<MistakeKind> {
        self.mistakes.iter().map(|m| m.kind).collect()
    }
}

fn conv_with_stride(l: &LayerSpec, stride: usize) -> Option<LayerSpec> {
    match l {
        LayerSpec::Conv { out, k, pad, .. } => Some(LayerSpec::Conv {
            out: *out,
            k: *k,
            stride,
            pad: *pad,
        }),
        _ => None,
    }
}

fn stride_of(l: &LayerSpec) -> usize {
    match l {
        LayerSpec::Conv { stride, .. } => *stride,
        _ => 1,
    }
}

fn ordinal(i: usize) -> &'static str {
    ["first", "second", "third", "fourth", "fifth"]
        .get(i)
        .copied()
        .unwrap_or("next")
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

    /// The mistakes of `d` this exercise recognises by their pattern.
    pub fn mistakes(&self, d: &BlockDraft) -> Vec<Mistake> {
        let mut out = Vec::new();
        let body = &d.body;
        let n = body.len();
        let want_last_relu = matches!(self.body.last(), Some(Want::ReLU));
        let ends_with_relu = matches!(body.last(), Some(LayerSpec::ReLU));
        if ends_with_relu && !want_last_relu {
            let at = n - 1;
            if d.relu_after {
                out.push(Mistake {
                    kind: MistakeKind::ReluBeforeAdd { at },
                    sentence: format!(
                        "Layer {} is a ReLU just before the +, and g = ReLU follows the addition as well. A ReLU at the end of the main path lets the branch only add non-negative values: it can never lower a[l]. Remove layer {}.",
                        at + 1,
                        at + 1
                    ),
                    fix: Some(GradeFix {
                        label: format!("Remove layer {} (the ReLU before the +)", at + 1),
                        edits: vec![Edit::Remove { at }],
                    }),
                });
            } else {
                out.push(Mistake {
                    kind: MistakeKind::ShortcutAfterRelu { at },
                    sentence: format!(
                        "The ReLU (layer {}) comes before the +, so the shortcut joins after the ReLU: your block computes ReLU(z) + a[l]. In a residual block g comes after the addition, a[l+2] = g(z[l+2] + a[l]): move the ReLU after the +.",
                        at + 1
                    ),
                    fix: Some(GradeFix {
                        label: "Move the ReLU after the +".into(),
                        edits: vec![Edit::Remove { at }, Edit::SetReluAfter(true)],
                    }),
                });
            }
        } else if !d.relu_after {
            out.push(Mistake {
                kind: MistakeKind::NoReluAfterAdd,
                sentence: "Add the ReLU after the addition: g in a[l+2] = g(z[l+2] + a[l]).".into(),
                fix: Some(GradeFix {
                    label: "Add g = ReLU after the +".into(),
                    edits: vec![Edit::SetReluAfter(true)],
                }),
            });
        }
        // A ReLU right after a conv and right before a BatchNorm: the two are swapped.
        for i in 1..n.saturating_sub(1) {
            if matches!(body[i - 1], LayerSpec::Conv { .. })
                && body[i] == LayerSpec::ReLU
                && body[i + 1] == LayerSpec::BatchNorm
            {
                out.push(Mistake {
                    kind: MistakeKind::ReluBeforeBn { at: i },
                    sentence: format!(
                        "Layers {} and {} are swapped: batch norm comes straight after the conv and the ReLU after it (conv, BatchNorm, ReLU).",
                        i + 1,
                        i + 2
                    ),
                    fix: Some(GradeFix {
                        label: format!("Swap layers {} and {}", i + 1, i + 2),
                        edits: vec![Edit::Move { from: i, to: i + 1 }],
                    }),
                });
            }
        }
        // A BatchNorm followed by a conv with no ReLU between, where the task has one.
        let want_relu_between = self
            .body
            .windows(3)
            .any(|w| matches!(w, [Want::BatchNorm, Want::ReLU, Want::Conv { .. }]));
        if want_relu_between {
            for i in 1..n {
                // (A ReLU just before that BatchNorm is the swapped pair found above.)
                if body[i - 1] == LayerSpec::BatchNorm
                    && matches!(body[i], LayerSpec::Conv { .. })
                    && (i < 2 || body[i - 2] != LayerSpec::ReLU)
                {
                    out.push(Mistake {
                        kind: MistakeKind::MissingRelu { at: i },
                        sentence: format!(
                            "There is no ReLU between the BatchNorm (layer {i}) and the conv after it: without it the two convs act as one linear map."
                        ),
                        fix: Some(GradeFix {
                            label: format!("Insert a ReLU after layer {i}"),
                            edits: vec![Edit::Insert {
                                at: i,
                                layer: LayerSpec::ReLU,
                            }],
                        }),
                    });
                }
            }
        }
        // Strides: the k-th conv of the draft against the k-th conv of the task.
        let have: Vec<usize> = (0..n)
            .filter(|&i| matches!(body[i], LayerSpec::Conv { .. }))
            .collect();
        let want: Vec<usize> = self
            .body
            .iter()
            .filter_map(|w| match w {
                Want::Conv { stride, .. } => Some(*stride),
                _ => None,
            })
            .collect();
        let misplaced: Vec<usize> = (0..have.len().min(want.len()))
            .filter(|&k| stride_of(&body[have[k]]) > 1 && want[k] == 1)
            .collect();
        let missing: Vec<usize> = (0..have.len().min(want.len()))
            .filter(|&k| want[k] > 1 && stride_of(&body[have[k]]) == 1)
            .collect();
        let mut used = Vec::new();
        for &k in &missing {
            if let Some(&j) = misplaced.iter().find(|j| !used.contains(*j)) {
                used.push(j);
                let (from, to) = (have[j], have[k]);
                let s = stride_of(&body[from]);
                let edits = [
                    conv_with_stride(&body[to], s).map(|layer| Edit::Replace { at: to, layer }),
                    conv_with_stride(&body[from], 1).map(|layer| Edit::Replace { at: from, layer }),
                ]
                .into_iter()
                .flatten()
                .collect();
                out.push(Mistake {
                    kind: MistakeKind::StrideOnWrongConv { have: from, want: to },
                    sentence: format!(
                        "The stride {s} is on layer {} (the {} conv); it belongs on layer {}, the {} conv, so the block halves the map as it enters and the stride-{s} shortcut lines up with it.",
                        from + 1,
                        ordinal(j),
                        to + 1,
                        ordinal(k)
                    ),
                    fix: Some(GradeFix {
                        label: format!("Move the stride to layer {}", to + 1),
                        edits,
                    }),
                });
            }
        }
        for &j in misplaced.iter().filter(|j| !used.contains(*j)) {
            let at = have[j];
            let what = if want.iter().any(|s| *s > 1) {
                "the block already downsamples once, at its first conv"
            } else {
                "an identity block keeps its input's size, so every conv has stride 1"
            };
            out.push(Mistake {
                kind: MistakeKind::ExtraStride { at },
                sentence: format!(
                    "Layer {} has stride {}, which shrinks the map again: {what}.",
                    at + 1,
                    stride_of(&body[at])
                ),
                fix: conv_with_stride(&body[at], 1).map(|layer| GradeFix {
                    label: format!("Give layer {} stride 1", at + 1),
                    edits: vec![Edit::Replace { at, layer }],
                }),
            });
        }
        if d.shortcut != self.shortcut {
            out.push(Mistake {
                kind: MistakeKind::WrongShortcut,
                sentence: match self.shortcut {
                    Shortcut::Projection => format!(
                        "The shortcut should be a 1x1 projection (it is {}): the shapes change, and this exercise asks for the convolutional block.",
                        d.shortcut
                    ),
                    _ => format!(
                        "The shortcut should be the identity (it is {}): input and output have the same shape, so nothing needs to change on the skip path.",
                        d.shortcut
                    ),
                },
                fix: Some(GradeFix {
                    label: format!("Use the {} shortcut", self.shortcut),
                    edits: vec![Edit::SetShortcut(self.shortcut)],
                }),
            });
        }
        out
    }

    pub fn grade(&self, d: &BlockDraft) -> Grade {
        let mistakes = self.mistakes(d);
        // Grade the rest on the draft with every named mistake corrected, so they are not
        // reported twice. Edits that keep the length go first; inserts and removes go from the
        // end backwards so earlier indices stay valid.
        let mut fixed = d.clone();
        let edits: Vec<&Edit> = mistakes
            .iter()
            .filter_map(|m| m.fix.as_ref())
            .flat_map(|f| &f.edits)
            .collect();
        let shifting = |e: &Edit| matches!(e, Edit::Insert { .. } | Edit::Remove { .. });
        for e in edits.iter().filter(|e| !shifting(e)) {
            let _ = fixed.apply(e);
        }
        let mut shifts: Vec<&Edit> = edits.into_iter().filter(|e| shifting(e)).collect();
        shifts.sort_by_key(|e| match e {
            Edit::Insert { at, .. } | Edit::Remove { at } => std::cmp::Reverse(*at),
            _ => std::cmp::Reverse(0),
        });
        for e in shifts {
            let _ = fixed.apply(e);
        }
        let mut problems: Vec<String> = mistakes.iter().map(|m| m.sentence.clone()).collect();
        if d.input != self.input {
            problems.push(format!(
                "The input should be {} (it is {}).",
                self.input, d.input
            ));
        }
        let report = fixed.report();
        if let Some(e) = &report.error {
            problems.push(format!("The block does not compute yet: {e}"));
        }
        if d.residual_scale != 1.0 {
            problems.push(format!(
                "Leave the residual scale at 1 (it is {}).",
                d.residual_scale
            ));
        }
        let d = &fixed;
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
        Grade { problems, mistakes }
    }

    /// How many layers the task's main path has.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }
}
