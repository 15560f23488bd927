//! A lesson's claims: every sentence of its text that predicts what the learner will see, as
//! data the harness checks on every seed and the lesson panel checks on the learner's own runs.
//!
//! A claim is one front-matter line, `claim: EXPRESSION | QUOTE`. The quote is a piece of the
//! sentence it backs, copied from the body (the parser refuses a quote the body lacks). The
//! expression compares two figures, each a figure of one net of the Try it (or a number):
//!
//! ```text
//! claim: train-err(plain-56) >= train-err(plain-20) + 10 | plain-56 hardly moves
//! claim: grad-range(plain-56) >= grad-range(resnet-56) * 10 | over a very wide range
//! claim: train-err(resnet-56+zeroinit) > train-err(plain-8) throughout | lags behind plain-8
//! ```
//!
//! Figures ([`Figure`]) are what the lesson's plots show: training error (the curve's windowed
//! mean, in %), test error (the last test pass, in %), the first steps' loss, the first-batch
//! gradient spread and tilt, the activation growth through the blocks on the first batch, and
//! for a lesson that computes surfaces the trained loss, its rise to the grid's edge in the
//! flattest direction, and the share of the grid below chance. Without a `@`, a figure is read
//! at the end: the last step all the Try it's runs reached, and only when every run finished its
//! budget (a stopped, diverged or failed run is no evidence). `throughout` requires the
//! comparison at every step from [`super::check::MIN_STEPS`] on, by the same windowed error.
use super::check::MIN_STEPS;
use crate::identity::Preset;
use crate::landscape::Landscape;
use crate::train::{RunHistory, RunStatus};

/// What a claim compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Figure {
    /// Training error in %: the mean over the trailing window, as the curve and the checks.
    TrainErr,
    /// The last test pass's error in %.
    TestErr,
    /// Mean loss over the first five steps.
    StartLoss,
    /// First-batch gradient norms: largest over smallest across layers.
    GradRange,
    /// First-batch gradient norms: decades between the input-side third and the output side.
    GradTilt,
    /// First batch: spread of the signal after the last block over that after the first.
    ActGrowth,
    /// Loss at the trained point of the net's surface (eval mode).
    TrainedLoss,
    /// How far the loss rises from the trained point to the grid's edge, in the flattest of
    /// the eight directions (the smallest rise).
    Rise,
    /// Share of the grid's points (in %) whose loss is below chance (ln of the classes).
    BelowChance,
}

impl Figure {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "train-err" => Self::TrainErr,
            "test-err" => Self::TestErr,
            "start-loss" => Self::StartLoss,
            "grad-range" => Self::GradRange,
            "grad-tilt" => Self::GradTilt,
            "act-growth" => Self::ActGrowth,
            "trained-loss" => Self::TrainedLoss,
            "rise" => Self::Rise,
            "below-chance" => Self::BelowChance,
            _ => return None,
        })
    }

    /// How the figure is written for people.
    fn show(self, v: f64) -> String {
        match self {
            Self::TrainErr | Self::TestErr | Self::BelowChance => format!("{v:.0}%"),
            Self::StartLoss | Self::TrainedLoss | Self::Rise => format!("{v:.2}"),
            Self::GradRange | Self::ActGrowth => format!("{v:.1}x"),
            Self::GradTilt => format!("{v:+.1} decades"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::TrainErr => "training error",
            Self::TestErr => "test error",
            Self::StartLoss => "loss over the first 5 steps",
            Self::GradRange => "first-batch gradient spread",
            Self::GradTilt => "first-batch gradient tilt (input side over output side)",
            Self::ActGrowth => "activation growth through the blocks on the first batch",
            Self::TrainedLoss => "loss at the trained point",
            Self::Rise => "rise of the loss in the flattest direction",
            Self::BelowChance => "share of the grid below chance loss",
        }
    }

    fn needs_surfaces(self) -> bool {
        matches!(self, Self::TrainedLoss | Self::Rise | Self::BelowChance)
    }
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    Of(Figure, Preset),
    Number(f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Ge,
    Gt,
    Le,
    Lt,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Ge => a >= b,
            Op::Gt => a > b,
            Op::Le => a <= b,
            Op::Lt => a < b,
        }
    }
}

/// What the right side's figure is shifted by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shift {
    None,
    Add(f64),
    Mul(f64),
}

impl Shift {
    fn apply(self, v: f64) -> f64 {
        match self {
            Shift::None => v,
            Shift::Add(k) => v + k,
            Shift::Mul(k) => v * k,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// At the last step every run reached, all runs finished.
    End,
    /// At every step from `MIN_STEPS` to the end (training error only).
    Throughout,
}

/// One claim of a lesson.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    pub left: Term,
    pub op: Op,
    pub right: Term,
    pub shift: Shift,
    pub when: When,
    /// The words of the lesson it backs.
    pub quote: String,
    /// The expression as written.
    pub text: String,
}

/// A claim judged on runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// `None`: the evidence is not there (yet); the `figures` say what is missing.
    pub holds: Option<bool>,
    /// The numbers it rests on, in words.
    pub figures: String,
}

fn term(s: &str) -> Result<Term, String> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return Ok(Term::Number(v));
    }
    let (f, rest) = s
        .split_once('(')
        .ok_or_else(|| format!("`{s}` is neither a number nor figure(net)"))?;
    let net = rest
        .strip_suffix(')')
        .ok_or_else(|| format!("`{s}`: no closing parenthesis"))?;
    let figure = Figure::parse(f.trim()).ok_or_else(|| format!("unknown figure `{f}`"))?;
    Ok(Term::Of(figure, Preset::parse(net.trim())?))
}

impl Claim {
    /// Parses `EXPRESSION | QUOTE`.
    pub fn parse(line: &str) -> Result<Claim, String> {
        let (expr, quote) = line
            .split_once('|')
            .ok_or_else(|| format!("claim `{line}` has no `| quote` of the words it backs"))?;
        let quote = quote.trim().to_string();
        if quote.is_empty() {
            return Err(format!("claim `{line}` quotes no words"));
        }
        let mut expr = expr.trim();
        let mut when = When::End;
        if let Some(e) = expr.strip_suffix("throughout") {
            when = When::Throughout;
            expr = e.trim();
        }
        let (op, at) = [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt)]
            .iter()
            .find_map(|(t, op)| expr.find(t).map(|i| ((*op, t.len()), i)))
            .map(|((op, n), i)| (op, (i, n)))
            .ok_or_else(|| format!("claim `{expr}` compares nothing (>=, >, <=, <)"))?;
        let (left, right) = (&expr[..at.0], &expr[at.0 + at.1..]);
        let right = right.trim();
        // A shift follows the right figure's closing parenthesis (net names hold + and -).
        let (right, shift) = match right.rfind(')') {
            Some(i) if i + 1 < right.len() => {
                let tail = right[i + 1..].trim();
                let (sign, k) = tail.split_at(1);
                let k: f64 = k
                    .trim()
                    .parse()
                    .map_err(|_| format!("claim `{expr}`: `{tail}` is not a shift by a number"))?;
                let shift = match sign {
                    "+" => Shift::Add(k),
                    "-" => Shift::Add(-k),
                    "*" => Shift::Mul(k),
                    _ => return Err(format!("claim `{expr}`: shift with +, - or *")),
                };
                (&right[..=i], shift)
            }
            _ => (right, Shift::None),
        };
        let claim = Claim {
            left: term(left)?,
            op,
            right: term(right)?,
            shift,
            when,
            quote,
            text: expr.to_string()
                + if when == When::Throughout {
                    " throughout"
                } else {
                    ""
                },
        };
        if when == When::Throughout
            && !matches!(
                (&claim.left, &claim.right),
                (Term::Of(Figure::TrainErr, _), Term::Of(Figure::TrainErr, _))
            )
        {
            return Err(format!(
                "claim `{expr}`: `throughout` compares two training errors"
            ));
        }
        Ok(claim)
    }

    /// Whether it reads the surfaces a lesson computes after training.
    pub fn needs_surfaces(&self) -> bool {
        [&self.left, &self.right]
            .iter()
            .any(|t| matches!(t, Term::Of(f, _) if f.needs_surfaces()))
    }

    /// The nets it names.
    pub fn nets(&self) -> Vec<&Preset> {
        [&self.left, &self.right]
            .into_iter()
            .filter_map(|t| match t {
                Term::Of(_, p) => Some(p),
                Term::Number(_) => None,
            })
            .collect()
    }

    /// The claim on `runs` (a Try it's own runs) and the surfaces computed after them.
    pub fn judge(
        &self,
        runs: &[impl std::borrow::Borrow<RunHistory>],
        surfaces: Option<&Landscape>,
    ) -> Verdict {
        let runs: Vec<&RunHistory> = runs.iter().map(|h| h.borrow()).collect();
        let missing = |why: String| Verdict {
            holds: None,
            figures: why,
        };
        let find = |p: &Preset| {
            runs.iter().copied().find(|h| {
                h.identity
                    .as_ref()
                    .and_then(|i| i.preset())
                    .is_some_and(|q| {
                        q.residual == p.residual
                            && q.depth == p.depth
                            && q.zero_init == p.zero_init
                            && q.scale == p.scale
                    })
            })
        };
        for p in self.nets() {
            if find(p).is_none() {
                return missing(format!("no run of {}", p.label()));
            }
        }
        let named: Vec<&RunHistory> = self.nets().into_iter().filter_map(find).collect();
        if let Some(h) = named.iter().find(|h| h.status != RunStatus::Finished) {
            return missing(format!(
                "{} {}: a claim is judged only on runs that trained their whole budget",
                h.label,
                if h.status.is_done() {
                    format!("ended {}", h.status.describe())
                } else {
                    "is still training".into()
                }
            ));
        }
        let end = named.iter().map(|h| h.steps_done()).min().unwrap_or(0);
        if named.iter().any(|h| h.steps_done() != end) {
            return missing("the runs trained unequal numbers of steps".into());
        }
        if self.needs_surfaces() {
            match surfaces {
                Some(l) if l.is_complete() => {}
                Some(_) => return missing("the surfaces are not complete".into()),
                None => return missing("the surfaces were not computed".into()),
            }
        }
        let value = |t: &Term, step: usize| -> Result<f64, String> {
            match t {
                Term::Number(v) => Ok(*v),
                Term::Of(f, p) => {
                    let h = find(p).ok_or_else(|| format!("no run of {}", p.label()))?;
                    figure(*f, h, step, surfaces)
                        .ok_or_else(|| format!("{} has no {}", h.label, f.name()))
                }
            }
        };
        let show = |t: &Term, v: f64| match t {
            Term::Number(_) => format!("{v}"),
            Term::Of(f, p) => format!("{} {}", p.label(), f.show(v)),
        };
        match self.when {
            When::End => {
                let (a, b) = match (value(&self.left, end), value(&self.right, end)) {
                    (Ok(a), Ok(b)) => (a, b),
                    (Err(e), _) | (_, Err(e)) => return missing(e),
                };
                let holds = self.op.holds(a, self.shift.apply(b));
                let at = if matches!(&self.left, Term::Of(Figure::TrainErr | Figure::TestErr, _)) {
                    format!(" at the end (step {end})")
                } else {
                    String::new()
                };
                Verdict {
                    holds: Some(holds),
                    figures: format!("{} vs {}{at}", show(&self.left, a), show(&self.right, b)),
                }
            }
            When::Throughout => {
                if end < MIN_STEPS {
                    return missing(format!("only {end} steps"));
                }
                let mut worst: Option<(usize, f64, f64)> = None;
                for s in MIN_STEPS..=end {
                    let (Ok(a), Ok(b)) = (value(&self.left, s), value(&self.right, s)) else {
                        return missing("no training error".into());
                    };
                    if !self.op.holds(a, self.shift.apply(b)) {
                        worst = Some((s, a, b));
                        break;
                    }
                }
                match worst {
                    Some((s, a, b)) => Verdict {
                        holds: Some(false),
                        figures: format!(
                            "not at step {s}: {} vs {}",
                            show(&self.left, a),
                            show(&self.right, b)
                        ),
                    },
                    None => Verdict {
                        holds: Some(true),
                        figures: format!(
                            "at every step {MIN_STEPS}-{end}; at the end {} vs {}",
                            show(&self.left, value(&self.left, end).unwrap_or(f64::NAN)),
                            show(&self.right, value(&self.right, end).unwrap_or(f64::NAN))
                        ),
                    },
                }
            }
        }
    }
}

/// Figure `f` of run `h` at step `step`.
pub fn figure(f: Figure, h: &RunHistory, step: usize, surfaces: Option<&Landscape>) -> Option<f64> {
    match f {
        Figure::TrainErr => h.train_err_at(step).map(|e| e as f64 * 100.0),
        Figure::TestErr => h
            .epochs
            .last()
            .map(|e| e.test_err as f64 * 100.0)
            .filter(|v| v.is_finite()),
        Figure::StartLoss => {
            (h.step_loss.len() >= 5).then(|| h.step_loss[..5].iter().sum::<f32>() as f64 / 5.0)
        }
        Figure::GradRange => super::check::spread_and_tilt(&h.grad_norms_init).map(|v| v.0 as f64),
        Figure::GradTilt => super::check::spread_and_tilt(&h.grad_norms_init).map(|v| v.1 as f64),
        Figure::ActGrowth => super::check::activation_growth_of(h).map(|v| v as f64),
        Figure::TrainedLoss | Figure::Rise | Figure::BelowChance => {
            let residual = h.identity.as_ref()?.is_residual();
            let net = surfaces?.nets.iter().find(|n| n.residual == residual)?;
            let classes = h.net.as_ref()?.spec.classes()?;
            let shape = net.surface.basin(classes)?;
            Some(match f {
                Figure::TrainedLoss => shape.trained_loss,
                Figure::Rise => shape.min_rise,
                _ => shape.below_chance * 100.0,
            })
        }
    }
}

/// Parses the `claim:` lines of a front matter, checking each quote against the body.
pub fn parse_all(lines: &[&str], body: &str) -> Result<Vec<Claim>, String> {
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let body = flat(body);
    lines
        .iter()
        .map(|l| {
            let c = Claim::parse(l)?;
            if !body.contains(&flat(&c.quote)) {
                return Err(format!(
                    "claim `{}` quotes words the lesson does not contain: `{}`",
                    c.text, c.quote
                ));
            }
            Ok(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_parse_their_parts() {
        let c =
            Claim::parse("train-err(plain-56) >= train-err(plain-20) + 10 | hardly moves").unwrap();
        assert_eq!(c.op, Op::Ge);
        assert_eq!(c.shift, Shift::Add(10.0));
        assert_eq!(c.when, When::End);
        assert_eq!(c.quote, "hardly moves");
        let c = Claim::parse("grad-range(plain-56) >= grad-range(resnet-56) * 10 | wide").unwrap();
        assert_eq!(c.shift, Shift::Mul(10.0));
        let c =
            Claim::parse("train-err(resnet-56+zeroinit) > train-err(plain-8) throughout | lags")
                .unwrap();
        assert_eq!(c.when, When::Throughout);
        let c = Claim::parse("trained-loss(resnet-56) < 0.5 | low").unwrap();
        assert_eq!(c.right, Term::Number(0.5));
        assert!(c.needs_surfaces());
        assert!(
            Claim::parse("train-err(plain-56) >= 10").is_err(),
            "no quote"
        );
        assert!(
            Claim::parse("loss(plain-56) >= 10 | x").is_err(),
            "unknown figure"
        );
        assert!(Claim::parse("start-loss(plain-8) > 1 throughout | x").is_err());
        assert!(parse_all(&["train-err(plain-8) < 50 | not in the text"], "some text").is_err());
        assert!(
            parse_all(
                &["train-err(plain-8) < 50 | in the\n text"],
                "words in the text"
            )
            .is_ok()
        );
    }
}
