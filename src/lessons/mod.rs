//! Lessons: Markdown files with a small front matter, embedded in the binary at compile time.
//!
//! Parsing is strict about the front matter (an unknown diagram, try or check is an error a test
//! catches) and forgiving about the body, which the app renders with its own small Markdown subset.
pub mod check;
pub mod markdown;

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
            _ => return None,
        })
    }
}

/// One net named in a `try: train ...` line.
#[derive(Clone, Debug, PartialEq)]
pub struct TryNet {
    pub residual: bool,
    pub depth: usize,
    pub zero_init: bool,
    /// Residual branch scale; 1.0 when not given.
    pub scale: f32,
}

impl TryNet {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = s.split('+');
        let base = parts.next().unwrap_or_default();
        let (residual, depth) = if let Some(d) = base.strip_prefix("plain-") {
            (false, d)
        } else if let Some(d) = base.strip_prefix("resnet-") {
            (true, d)
        } else {
            return Err(format!("`{s}`: a net is plain-D or resnet-D"));
        };
        let depth: usize = depth
            .parse()
            .map_err(|_| format!("`{s}`: the depth is not a number"))?;
        if !valid_cifar_depth(depth) {
            return Err(format!("`{s}`: depth {depth} is not 6n+2"));
        }
        let mut net = TryNet {
            residual,
            depth,
            zero_init: false,
            scale: 1.0,
        };
        for suffix in parts {
            if suffix == "zeroinit" {
                net.zero_init = true;
            } else if let Some(x) = suffix.strip_prefix("scale") {
                let v: f32 = x.parse().map_err(|_| format!("`{s}`: bad scale `{x}`"))?;
                if !(0.1..=1.0).contains(&v) {
                    return Err(format!("`{s}`: the scale must be between 0.1 and 1.0"));
                }
                net.scale = v;
            } else {
                return Err(format!("`{s}`: unknown suffix `+{suffix}`"));
            }
        }
        Ok(net)
    }

    /// The label the net's curves carry, matching the `try:` line.
    pub fn label(&self) -> String {
        let mut s = format!(
            "{}-{}",
            if self.residual { "resnet" } else { "plain" },
            self.depth
        );
        if self.zero_init {
            s.push_str("+zeroinit");
        }
        if self.scale != 1.0 {
            s.push_str(&format!("+scale{}", self.scale));
        }
        s
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
    Train(Vec<TryNet>),
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
                    .map(|w| TryNet::parse(w))
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Degradation,
    ResnetWins,
    IdentityInit,
    GradSpread,
    SweepTrend,
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
            "sweep-trend" => Self::SweepTrend,
            "exercise-identity" => Self::Exercise(BuildExercise::Identity),
            "exercise-conv" => Self::Exercise(BuildExercise::Conv),
            "exercise-bottleneck" => Self::Exercise(BuildExercise::Bottleneck),
            "none" => Self::None,
            _ => return None,
        })
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
    pub check: Check,
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
    Ok(Lesson {
        file: file.into(),
        id,
        title,
        diagram,
        try_action,
        try_line,
        check,
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
