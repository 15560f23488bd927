//! What a net is, as types: [`NetIdentity`] (recorded with every run), [`Preset`] (one of the
//! paper's CIFAR nets, as the Train view's pickers and a lesson's `try:` line name it),
//! [`NetChoice`] (a preset or a net built in the Build tab) and [`Family`] (plain or residual,
//! the hue every chart gives it).
//!
//! Labels are made here, once, for people to read; nothing parses a label back into an identity.
//! Knows `nn` only.
use crate::nn::presets::{self, ShortcutOption, valid_cifar_depth};
use crate::nn::{LayerSpec, NetSpec, Shortcut};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arch {
    Plain,
    Residual,
}

/// Where a net came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// One of the paper's CIFAR nets (`resnet-20`, `plain-56`, ...).
    Preset,
    /// Built in the Build tab (or a NetSpec file).
    Built,
    /// The plain twin of a built net: the same layers with every shortcut removed.
    Twin,
}

/// The two families every chart tells apart: plain nets in warm hues, residual nets in cool ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    Plain,
    Residual,
}

impl Family {
    pub fn of_spec(spec: &NetSpec) -> Family {
        if spec.has_shortcuts() {
            Family::Residual
        } else {
            Family::Plain
        }
    }
}

/// What a run's net is, as data: lesson checks, sweeps and plots read this, never a label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetIdentity {
    pub arch: Arch,
    /// Weighted layers (convs and Linear layers, projections excluded), as the paper counts.
    pub depth: usize,
    /// How the net crosses a change of width: option A (zero-pad) or B (projection); `None`
    /// when it has no shortcut that changes width (plain nets).
    pub shortcut: Option<ShortcutOption>,
    pub origin: Origin,
    /// Channels of the first conv.
    pub width: usize,
    /// Each residual block's last batch-norm gamma started at zero.
    pub zero_init: bool,
    /// The residual branches' scale (1 when not scaled).
    #[serde(with = "crate::util::json_float")]
    pub residual_scale: f32,
    /// A built net's name (empty for presets, whose label is made from the fields above).
    #[serde(default)]
    pub name: String,
}

impl NetIdentity {
    /// What a spec is, read from its layers.
    pub fn of_spec(spec: &NetSpec, origin: Origin, zero_init: bool) -> Self {
        fn walk(layers: &[LayerSpec], f: &mut dyn FnMut(&LayerSpec)) {
            for l in layers {
                f(l);
                if let LayerSpec::Block(b) = l {
                    walk(&b.body, f);
                }
            }
        }
        let (mut depth, mut width, mut residual) = (0, 0, false);
        let (mut option, mut scale) = (None, None);
        walk(&spec.layers, &mut |l| match l {
            LayerSpec::Conv { out, .. } => {
                depth += 1;
                if width == 0 {
                    width = *out;
                }
            }
            LayerSpec::Linear { .. } => depth += 1,
            LayerSpec::Block(b) if b.shortcut != Shortcut::None => {
                residual = true;
                scale.get_or_insert(b.residual_scale);
                match b.shortcut {
                    Shortcut::Projection => option = Some(ShortcutOption::B),
                    Shortcut::ZeroPadA if option.is_none() => option = Some(ShortcutOption::A),
                    _ => {}
                }
            }
            _ => {}
        });
        Self {
            arch: if residual {
                Arch::Residual
            } else {
                Arch::Plain
            },
            depth,
            shortcut: option,
            origin,
            width,
            zero_init: residual && zero_init,
            residual_scale: scale.unwrap_or(1.0),
            name: spec.name.clone(),
        }
    }

    pub fn is_residual(&self) -> bool {
        self.arch == Arch::Residual
    }

    pub fn family(&self) -> Family {
        if self.is_residual() {
            Family::Residual
        } else {
            Family::Plain
        }
    }

    /// The paper's net this is, when it is one (a built net named "plain-32" is not).
    pub fn preset(&self) -> Option<Preset> {
        (self.origin == Origin::Preset && valid_cifar_depth(self.depth)).then(|| Preset {
            residual: self.is_residual(),
            depth: self.depth,
            shortcut: self.shortcut.unwrap_or(ShortcutOption::A),
            zero_init: self.zero_init,
            scale: self.residual_scale,
            width: self.width,
        })
    }

    /// The name people read: a preset in the lessons' `try:` notation (`resnet-20+zeroinit
    /// (B)`), a built net by its name.
    pub fn label(&self) -> String {
        match self.preset() {
            Some(p) => p.label(),
            None if self.name.is_empty() => "built net".into(),
            None => self.name.clone(),
        }
    }
}

/// One of the paper's CIFAR nets (`presets::cifar`), with the variations the lessons use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preset {
    pub residual: bool,
    /// 6n+2 weighted layers.
    pub depth: usize,
    pub shortcut: ShortcutOption,
    /// Each residual block's last batch-norm gamma starts at zero.
    pub zero_init: bool,
    /// Residual branch scale; 1.0 when not scaled.
    #[serde(with = "crate::util::json_float")]
    pub scale: f32,
    /// Channels of the first stage.
    pub width: usize,
}

impl Default for Preset {
    fn default() -> Self {
        Self {
            residual: true,
            depth: 20,
            shortcut: ShortcutOption::A,
            zero_init: false,
            scale: 1.0,
            width: 16,
        }
    }
}

impl Preset {
    pub fn new(residual: bool, depth: usize) -> Self {
        Self {
            residual,
            depth,
            ..Self::default()
        }
    }

    /// Reads a net of a lesson's `try:` line: `plain-D` or `resnet-D` (D = 6n+2), with the
    /// suffixes `+zeroinit` and `+scaleX` (X in 0.1-1.0). Width 16 until the lesson sets it.
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
        let mut net = Preset::new(residual, depth);
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
            if !residual {
                return Err(format!("`{s}`: only a resnet takes `+{suffix}`"));
            }
        }
        Ok(net)
    }

    /// The same net at another width.
    pub fn with_width(mut self, width: usize) -> Self {
        self.width = width;
        self
    }

    pub fn family(&self) -> Family {
        if self.residual {
            Family::Residual
        } else {
            Family::Plain
        }
    }

    /// The name its curves carry, in the lessons' `try:` notation.
    pub fn label(&self) -> String {
        let mut s = format!(
            "{}-{}",
            if self.residual { "resnet" } else { "plain" },
            self.depth
        );
        if self.residual && self.zero_init {
            s.push_str("+zeroinit");
        }
        if self.residual && self.scale != 1.0 {
            s.push_str(&format!("+scale{}", self.scale));
        }
        if self.residual && self.shortcut == ShortcutOption::B {
            s.push_str(" (B)");
        }
        s
    }

    /// The net for a data set of `classes` classes.
    pub fn spec(&self, classes: usize) -> Result<NetSpec, String> {
        let spec = presets::cifar(
            self.depth,
            self.residual,
            self.shortcut,
            self.width.max(1),
            classes.max(1),
        )
        .ok_or_else(|| format!("depth {} is not of the form 6n+2", self.depth))?;
        Ok(if self.residual && self.scale != 1.0 {
            presets::with_residual_scale(&spec, self.scale)
        } else {
            spec
        })
    }

    pub fn identity(&self) -> NetIdentity {
        let residual = self.residual;
        NetIdentity {
            arch: if residual {
                Arch::Residual
            } else {
                Arch::Plain
            },
            depth: self.depth,
            shortcut: residual.then_some(self.shortcut),
            origin: Origin::Preset,
            width: self.width.max(1),
            zero_init: residual && self.zero_init,
            residual_scale: if residual { self.scale } else { 1.0 },
            name: String::new(),
        }
    }
}

/// A lesson's id (the `id:` of its front matter).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LessonId(pub String);

impl std::fmt::Display for LessonId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which lesson's Try it started a run, and which click of it: a lesson's check reads only the
/// runs its own Try it started, all from one click.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TryTag {
    pub lesson: LessonId,
    /// Distinct for every click (milliseconds since 1970 at the click).
    pub attempt: u64,
}

/// A net as the learner picks it: one of the paper's, or one built in the Build tab.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum NetChoice {
    Preset(Preset),
    /// Trained as it is; `twin` when it is the plain twin of a built net.
    Built {
        spec: NetSpec,
        twin: bool,
    },
}

impl Default for NetChoice {
    fn default() -> Self {
        NetChoice::Preset(Preset::default())
    }
}

impl NetChoice {
    pub fn preset(residual: bool, depth: usize) -> Self {
        NetChoice::Preset(Preset::new(residual, depth))
    }

    /// The name its curves carry.
    pub fn label(&self) -> String {
        match self {
            NetChoice::Preset(p) => p.label(),
            NetChoice::Built { spec, .. } if spec.name.is_empty() => "built net".into(),
            NetChoice::Built { spec, .. } => spec.name.clone(),
        }
    }

    /// The net for a data set of `classes` classes (a built net's classifier is resized to
    /// them, so a net built for one data set trains on another).
    pub fn spec(&self, classes: usize) -> Result<NetSpec, String> {
        match self {
            NetChoice::Preset(p) => p.spec(classes),
            NetChoice::Built { spec, .. } => {
                let mut s = spec.clone();
                if let Some(LayerSpec::Linear { out }) = s.layers.last_mut() {
                    *out = classes.max(1);
                }
                Ok(s)
            }
        }
    }

    /// Whether each residual block's last gamma starts at zero.
    pub fn zero_init(&self) -> bool {
        matches!(self, NetChoice::Preset(p) if p.residual && p.zero_init)
    }

    /// What the net built from this choice (`spec`) is.
    pub fn identity(&self, spec: &NetSpec) -> NetIdentity {
        match self {
            NetChoice::Preset(p) => p.identity(),
            NetChoice::Built { twin, .. } => NetIdentity::of_spec(
                spec,
                if *twin { Origin::Twin } else { Origin::Built },
                false,
            ),
        }
    }
}

/// Reads the current form, and the struct every earlier version persisted (`custom`, `twin`,
/// `residual`, `depth`, ...), so an update keeps the learner's nets.
impl<'de> Deserialize<'de> for NetChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        enum Current {
            Preset(Preset),
            Built { spec: NetSpec, twin: bool },
        }
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Earlier {
            custom: Option<NetSpec>,
            twin: bool,
            #[serde(flatten)]
            preset: Preset,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            Current(Current),
            Earlier(Earlier),
        }
        Ok(match Any::deserialize(d)? {
            Any::Current(Current::Preset(p)) => NetChoice::Preset(p),
            Any::Current(Current::Built { spec, twin }) => NetChoice::Built { spec, twin },
            Any::Earlier(Earlier {
                custom: Some(spec),
                twin,
                ..
            }) => NetChoice::Built { spec, twin },
            Any::Earlier(e) => NetChoice::Preset(e.preset),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_made_from_the_fields() {
        let mut p = Preset::new(true, 56).with_width(8);
        p.zero_init = true;
        p.scale = 0.2;
        assert_eq!(p.label(), "resnet-56+zeroinit+scale0.2");
        assert_eq!(p.identity().label(), p.label());
        assert_eq!(p.identity().preset(), Some(p.clone()));
        assert_eq!(Preset::parse("resnet-56+zeroinit+scale0.2"), {
            let mut q = p.clone();
            q.width = 16;
            Ok(q)
        });
        assert!(Preset::parse("plain-20+zeroinit").is_err());
        assert!(Preset::parse("resnet-21").is_err());
    }

    #[test]
    fn a_built_net_named_like_a_preset_is_not_one() {
        let mut spec = presets::cifar(32, false, ShortcutOption::A, 8, 10).unwrap();
        spec.name = "plain-32".into();
        let id = NetIdentity::of_spec(&spec, Origin::Built, false);
        assert_eq!(id.preset(), None);
        assert_eq!(id.label(), "plain-32");
        assert_eq!(id.family(), Family::Plain);
    }

    #[test]
    fn earlier_persisted_choices_still_read() {
        let old = r#"{"custom":null,"twin":false,"residual":false,"depth":56,"shortcut":"A","zero_init":false,"scale":1.0,"width":8}"#;
        let c: NetChoice = serde_json::from_str(old).unwrap();
        assert_eq!(c, NetChoice::Preset(Preset::new(false, 56).with_width(8)));
        let now = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<NetChoice>(&now).unwrap(), c);
        let spec = presets::cifar(8, true, ShortcutOption::A, 4, 10).unwrap();
        let built = NetChoice::Built { spec, twin: true };
        let json = serde_json::to_string(&built).unwrap();
        assert_eq!(serde_json::from_str::<NetChoice>(&json).unwrap(), built);
    }
}
