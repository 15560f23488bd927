//! Frame timing, to check that training never stalls the window. Enabled with the environment
//! variable `RESNET_LAB_FRAME_STATS=1`; the summary goes to stderr when the app closes.
use web_time::{Duration, Instant};

#[derive(Default)]
pub struct FrameStats {
    enabled: bool,
    /// Time spent building each frame (our code and egui's layout), while a run was training.
    busy: Vec<Duration>,
    idle: Vec<Duration>,
    /// Gaps between consecutive frames while training (includes painting).
    gaps: Vec<Duration>,
    last_start: Option<Instant>,
}

impl FrameStats {
    pub fn from_env() -> Self {
        Self {
            enabled: std::env::var_os("RESNET_LAB_FRAME_STATS").is_some_and(|v| v != "0"),
            ..Self::default()
        }
    }

    pub fn start(&mut self, training: bool) -> Option<Instant> {
        if !self.enabled {
            return None;
        }
        let now = Instant::now();
        if training && let Some(prev) = self.last_start {
            self.gaps.push(now - prev);
        }
        self.last_start = Some(now);
        Some(now)
    }

    pub fn end(&mut self, started: Option<Instant>, training: bool) {
        if let Some(t) = started {
            let d = t.elapsed();
            if training {
                self.busy.push(d);
            } else {
                self.idle.push(d);
            }
        }
    }

    pub fn summary(&self) -> Option<String> {
        if !self.enabled {
            return None;
        }
        fn describe(name: &str, v: &[Duration]) -> String {
            if v.is_empty() {
                return format!("{name}: none");
            }
            let mut ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1e3).collect();
            ms.sort_by(f64::total_cmp);
            let p99 = ms[(ms.len() * 99 / 100).min(ms.len() - 1)];
            let over = ms.iter().filter(|&&m| m > 50.0).count();
            format!(
                "{name}: {} frames, median {:.1} ms, p99 {p99:.1} ms, max {:.1} ms, {over} over 50 ms",
                ms.len(),
                ms[ms.len() / 2],
                ms[ms.len() - 1]
            )
        }
        Some(format!(
            "frame stats\n  {}\n  {}\n  {}",
            describe("ui pass while training", &self.busy),
            describe(
                "frame-to-frame while training (includes waiting for the next event)",
                &self.gaps
            ),
            describe("ui pass while idle", &self.idle)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_slow_frames() {
        let mut s = FrameStats {
            enabled: true,
            ..FrameStats::default()
        };
        for ms in [5, 7, 60, 9] {
            s.busy.push(Duration::from_millis(ms));
        }
        let text = s.summary().unwrap();
        assert!(text.contains("ui pass while training: 4 frames"), "{text}");
        assert!(text.contains("max 60.0 ms, 1 over 50 ms"), "{text}");
        assert!(
            FrameStats::default().summary().is_none(),
            "off unless asked for"
        );
    }
}
