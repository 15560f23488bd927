//! Lessons: Markdown files with a small front matter, embedded in the binary at compile time.
//!
//! Parsing is strict about the front matter (an unknown diagram, try or check is an error a test
//! catches) and forgiving about the body, which the app renders with its own small Markdown subset.
pub mod check;
pub mod claims;
/// A Try it run as the app runs it and judged by its check; the `lessons --check` table.
pub mod harness;
pub mod markdown;
pub mod plan;
pub mod reference;
pub mod try_run;

use crate::identity::Preset;
use crate::nn::presets::valid_cifar_depth;
use std::fmt;

/// The lesson files, in the order the app shows them.
const SOURCES: [(&str, &str); 10] = [
    (
        "01-why-deeper.md",
        include_str!("../../lessons/01-why-deeper.md"),
    ),
    (
        "02-degradation.md",
        include_str!("../../lessons/02-degradation.md"),
    ),
    (
        "03-identity-argument.md",
        include_str!("../../lessons/03-identity-argument.md"),
    ),
    (
        "04-residual-block.md",
        include_str!("../../lessons/04-residual-block.md"),
    ),
    (
        "05-identity-vs-conv-block.md",
        include_str!("../../lessons/05-identity-vs-conv-block.md"),
    ),
    (
        "06-plain-vs-residual.md",
        include_str!("../../lessons/06-plain-vs-residual.md"),
    ),
    (
        "07-error-vs-depth.md",
        include_str!("../../lessons/07-error-vs-depth.md"),
    ),
    (
        "08-gradient-flow.md",
        include_str!("../../lessons/08-gradient-flow.md"),
    ),
    (
        "09-very-deep.md",
        include_str!("../../lessons/09-very-deep.md"),
    ),
    (
        "10-shape-of-the-loss.md",
        include_str!("../../lessons/10-shape-of-the-loss.md"),
    ),
];

/// The figures the app draws itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Diagram {
    DepthVsAccuracy,
    TrainingCurves,
    IdentityStack,
    ResidualBlock,
    BlockTypes,
    PlainVsResnet,
    ErrorVsDepth,
    GradientFlow,
    ResidualScaling,
    LossSurface,
}

impl Diagram {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "depth-vs-accuracy" => Self::DepthVsAccuracy,
            "training-curves" => Self::TrainingCurves,
            "identity-stack" => Self::IdentityStack,
            "residual-block" => Self::ResidualBlock,
            "block-types" => Self::BlockTypes,
            "plain-vs-resnet" => Self::PlainVsResnet,
            "error-vs-depth" => Self::ErrorVsDepth,
            "gradient-flow" => Self::GradientFlow,
            "residual-scaling" => Self::ResidualScaling,
            "loss-surface" => Self::LossSurface,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildExercise {
    Identity,
    Conv,
    Bottleneck,
}

/// What the "Try it" button sets up.
#[derive(Clone, Debug, PartialEq)]
pub enum TryAction {
    /// The paper's nets, trained side by side (their width is the lesson's `quick:` width).
    Train(Vec<Preset>),
    Sweep(Vec<usize>),
    Build(BuildExercise),
}

impl TryAction {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut words = s.split_whitespace();
        let verb = words.next().unwrap_or_default();
        let rest: Vec<&str> = words.collect();
        match verb {
            "train" if !rest.is_empty() => Ok(TryAction::Train(
                rest.iter()
                    .map(|w| Preset::parse(w))
                    .collect::<Result<_, _>>()?,
            )),
            "sweep" if !rest.is_empty() => {
                let depths = rest
                    .iter()
                    .map(|w| match w.parse::<usize>() {
                        Ok(d) if valid_cifar_depth(d) => Ok(d),
                        _ => Err(format!("sweep depth `{w}` is not 6n+2")),
                    })
                    .collect::<Result<_, _>>()?;
                Ok(TryAction::Sweep(depths))
            }
            "build" => match rest.as_slice() {
                ["identity"] => Ok(TryAction::Build(BuildExercise::Identity)),
                ["conv"] => Ok(TryAction::Build(BuildExercise::Conv)),
                ["bottleneck"] => Ok(TryAction::Build(BuildExercise::Bottleneck)),
                _ => Err(format!("unknown build exercise `{}`", rest.join(" "))),
            },
            _ => Err(format!("unknown try line `{s}`")),
        }
    }
}

/// How a lesson's Try it is sized so its effect shows within a minute (front matter `quick:`),
/// e.g. `quick: image 16, width 8, per-class 200, batch 32, steps 80-400, seconds 40, warmup 20`.
///
/// The speed probe picks the step count between `min_steps` and `max_steps` so the run takes
/// about `seconds` on the learner's machine; the reference curves are complete runs at `max_steps`.
#[derive(Clone, Debug, PartialEq)]
pub struct Quick {
    /// Side of the (square) images the built-in shapes are resized to.
    pub image: usize,
    /// Channels of the first stage.
    pub width: usize,
    /// Training images per class.
    pub per_class: usize,
    /// Test images per class (each epoch ends with a pass over them).
    pub test_per_class: usize,
    pub batch: usize,
    pub min_steps: usize,
    pub max_steps: usize,
    /// Target length of the whole run on this machine.
    pub seconds: f64,
    pub probe_every: usize,
    /// Steps at a tenth of the learning rate first (the paper's ResNet-110 warm-up): without it
    /// a deep residual net at batch 32 spends its first steps recovering from a loss spike.
    pub warmup: usize,
}

impl Default for Quick {
    fn default() -> Self {
        Self {
            image: 16,
            width: 8,
            per_class: 200,
            test_per_class: 50,
            batch: 32,
            min_steps: 80,
            max_steps: 400,
            seconds: 40.0,
            probe_every: 10,
            warmup: 20,
        }
    }
}

impl Quick {
    /// Parses `key value` pairs separated by commas; keys left out keep their defaults.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut q = Quick::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (key, value) = item
                .split_once(char::is_whitespace)
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| format!("quick: `{item}` is not `key value`"))?;
            let num = |v: &str| -> Result<usize, String> {
                v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("quick: `{key}` wants a positive whole number, not `{v}`")
                })
            };
            match key {
                "image" => q.image = num(value)?,
                "width" => q.width = num(value)?,
                "per-class" => q.per_class = num(value)?,
                "test-per-class" => q.test_per_class = num(value)?,
                "batch" => q.batch = num(value)?,
                "probe-every" => q.probe_every = num(value)?,
                "warmup" => {
                    q.warmup = value
                        .parse::<usize>()
                        .map_err(|_| format!("quick: warmup wants a whole number, not `{value}`"))?
                }
                "steps" => {
                    let (a, b) = value
                        .split_once('-')
                        .ok_or_else(|| format!("quick: steps are `MIN-MAX`, not `{value}`"))?;
                    q.min_steps = num(a.trim())?;
                    q.max_steps = num(b.trim())?;
                }
                "seconds" => {
                    q.seconds = value
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite() && *v > 0.0 && *v <= 600.0)
                        .ok_or_else(|| {
                            format!("quick: seconds must be in (0, 600], not `{value}`")
                        })?
                }
                _ => return Err(format!("quick: unknown key `{key}`")),
            }
        }
        if q.min_steps > q.max_steps {
            return Err(format!(
                "quick: the step range {}-{} runs backwards",
                q.min_steps, q.max_steps
            ));
        }
        if !(4..=64).contains(&q.image) || q.width > 64 || q.batch > 1024 {
            return Err("quick: image must be 4-64, width at most 64, batch at most 1024".into());
        }
        Ok(q)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Degradation,
    ResnetWins,
    IdentityInit,
    GradSpread,
    ActivationGrowth,
    SweepTrend,
    /// The residual net's loss surface is clearly more bowl-like than its plain twin's, judged
    /// on the surfaces the Try it computes after training (`landscape::check::bowl_check`).
    Bowl,
    Exercise(BuildExercise),
    None,
}

impl Check {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "degradation" => Self::Degradation,
            "resnet-wins" => Self::ResnetWins,
            "identity-init" => Self::IdentityInit,
            "grad-spread" => Self::GradSpread,
            "activation-growth" => Self::ActivationGrowth,
            "sweep-trend" => Self::SweepTrend,
            "bowl" => Self::Bowl,
            "exercise-identity" => Self::Exercise(BuildExercise::Identity),
            "exercise-conv" => Self::Exercise(BuildExercise::Conv),
            "exercise-bottleneck" => Self::Exercise(BuildExercise::Bottleneck),
            "none" => Self::None,
            _ => return None,
        })
    }
}

/// The loss landscape a Try it computes once its plain/residual pair has finished training
/// (front matter `landscape:`, e.g. `landscape: grid 15, range 1, images 200, line 21`).
///
/// Sized like `quick:`: the surfaces of both nets must be drawn within the lesson's minute, on
/// the same fixed training images and the same random directions for both nets.
#[derive(Clone, Debug, PartialEq)]
pub struct LandscapeQuick {
    /// Points per side (odd, so the trained net is the middle point).
    pub grid: usize,
    /// The grid spans [-range, range] along both directions.
    pub range: f32,
    /// Training images every point is evaluated on.
    pub images: usize,
    /// Points on the initial-to-trained line (0: none).
    pub line: usize,
}

impl Default for LandscapeQuick {
    fn default() -> Self {
        Self {
            grid: 15,
            range: 1.0,
            images: 200,
            line: 21,
        }
    }
}

impl LandscapeQuick {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut q = LandscapeQuick::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (key, value) = item
                .split_once(char::is_whitespace)
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| format!("landscape: `{item}` is not `key value`"))?;
            let num = |v: &str| -> Result<usize, String> {
                v.parse::<usize>()
                    .map_err(|_| format!("landscape: `{key}` wants a whole number, not `{v}`"))
            };
            match key {
                "grid" => q.grid = num(value)?,
                "images" => q.images = num(value)?,
                "line" => q.line = num(value)?,
                "range" => {
                    q.range = value
                        .parse::<f32>()
                        .map_err(|_| format!("landscape: range wants a number, not `{value}`"))?
                }
                _ => return Err(format!("landscape: unknown key `{key}`")),
            }
        }
        if q.grid % 2 == 0 {
            return Err(format!(
                "landscape: the grid must be odd so the trained net is its middle point (got {})",
                q.grid
            ));
        }
        q.settings(0)
            .validate()
            .map_err(|e| format!("landscape: {e}"))?;
        Ok(q)
    }

    /// The landscape job's settings; `seed` picks the directions and the images (the same for
    /// both nets).
    pub fn settings(&self, seed: u64) -> crate::landscape::Settings {
        crate::landscape::Settings {
            grid: self.grid,
            range: self.range,
            images: self.images,
            batch: self.images.clamp(1, 250),
            seed,
            line_points: self.line,
            ..crate::landscape::Settings::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    pub file: String,
    pub id: String,
    pub title: String,
    pub diagram: Diagram,
    pub try_action: TryAction,
    pub try_line: String,
    /// Present exactly when the Try it trains (`train` or `sweep`).
    pub quick: Option<Quick>,
    pub check: Check,
    /// The surfaces the Try it computes after training (only with a `train` pair).
    pub landscape: Option<LandscapeQuick>,
    /// What the text predicts the learner will see, as checkable claims (`claim:` lines).
    pub claims: Vec<claims::Claim>,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LessonError {
    pub file: String,
    pub reason: String,
}

impl fmt::Display for LessonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

impl std::error::Error for LessonError {}

/// Parses one lesson file: front matter between `---` lines, then the Markdown body.
pub fn parse(file: &str, text: &str) -> Result<Lesson, LessonError> {
    let err = |reason: String| LessonError {
        file: file.into(),
        reason,
    };
    let text = text.replace("\r\n", "\n");
    let rest = text
        .strip_prefix("---\n")
        .ok_or_else(|| err("the file does not start with a `---` front matter line".into()))?;
    let end = rest
        .find("\n---")
        .ok_or_else(|| err("the front matter has no closing `---` line".into()))?;
    let (front, body) = (&rest[..end], &rest[end + 4..]);
    let body = body.strip_prefix('\n').unwrap_or(body);
    let field = |key: &str| -> Result<String, LessonError> {
        front
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
            .ok_or_else(|| err(format!("the front matter has no `{key}:` line")))
    };
    let id = field("id")?;
    let title = field("title")?;
    let diagram_name = field("diagram")?;
    let try_line = field("try")?;
    let check_name = field("check")?;
    let diagram = Diagram::parse(&diagram_name)
        .ok_or_else(|| err(format!("unknown diagram `{diagram_name}`")))?;
    let try_action = TryAction::parse(&try_line).map_err(err)?;
    let check =
        Check::parse(&check_name).ok_or_else(|| err(format!("unknown check `{check_name}`")))?;
    let quick = match (&try_action, field("quick")) {
        (TryAction::Build(_), Ok(_)) => {
            return Err(err("a `build` Try it has no `quick:` line".into()));
        }
        (TryAction::Build(_), Err(_)) => None,
        (_, Ok(q)) => Some(Quick::parse(&q).map_err(err)?),
        (_, Err(e)) => return Err(e),
    };
    let landscape = match field("landscape") {
        Ok(l) => {
            let pair = matches!(&try_action, TryAction::Train(n)
                if n.iter().any(|n| n.residual) && n.iter().any(|n| !n.residual));
            if !pair {
                return Err(err(
                    "a `landscape:` line needs a Try it that trains a plain and a residual net"
                        .into(),
                ));
            }
            Some(LandscapeQuick::parse(&l).map_err(err)?)
        }
        Err(_) => None,
    };
    let claim_lines: Vec<&str> = front
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim() == "claim")
        .map(|(_, v)| v.trim())
        .collect();
    let claims = claims::parse_all(&claim_lines, body).map_err(err)?;
    for c in &claims {
        let named = |p: &Preset| match &try_action {
            TryAction::Train(nets) => nets.iter().any(|n| {
                n.residual == p.residual
                    && n.depth == p.depth
                    && n.zero_init == p.zero_init
                    && n.scale == p.scale
            }),
            TryAction::Sweep(depths) => depths.contains(&p.depth) && !p.zero_init && p.scale == 1.0,
            TryAction::Build(_) => false,
        };
        if let Some(p) = c.nets().into_iter().find(|p| !named(p)) {
            return Err(err(format!(
                "claim `{}` names {}, which the Try it does not train",
                c.text,
                p.label()
            )));
        }
        if c.needs_surfaces() && landscape.is_none() {
            return Err(err(format!(
                "claim `{}` reads surfaces, but the lesson has no `landscape:` line",
                c.text
            )));
        }
    }
    if check == Check::Bowl && landscape.is_none() {
        return Err(err(
            "the `bowl` check needs a `landscape:` line (the surfaces it judges)".into(),
        ));
    }
    Ok(Lesson {
        file: file.into(),
        id,
        title,
        diagram,
        try_action,
        try_line,
        quick,
        check,
        landscape,
        claims,
        body: body.to_string(),
    })
}

/// Every embedded lesson, each parsed or with the reason it could not be.
pub fn parse_all() -> Vec<Result<Lesson, LessonError>> {
    SOURCES.iter().map(|(f, t)| parse(f, t)).collect()
}

/// The lessons that parse; a broken one is left out rather than stopping the app.
pub fn all() -> Vec<Lesson> {
    parse_all().into_iter().filter_map(Result::ok).collect()
}
