//! Showing a sweep's progress: a progress bar on a terminal, plain lines otherwise (at most one
//! every few seconds, and one whenever tasks change state), so logs of batch jobs stay short.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sweep_proto::v1;

/// How often plain progress lines are printed.
const LINE_INTERVAL: Duration = Duration::from_secs(5);

/// Progress display for one sweep.
pub struct ProgressView {
    bar: Option<ProgressBar>,
    last_line: Option<Instant>,
    last_counts: Option<v1::TaskCounts>,
}

fn counts_text(s: &v1::SweepStatus) -> String {
    let c = s.tasks.unwrap_or_default();
    format!(
        "{}/{} points, tasks: {} done, {} running, {} waiting{}{}",
        s.points_done,
        s.points,
        c.done,
        c.leased,
        c.pending,
        if c.failed > 0 {
            format!(", {} failed", c.failed)
        } else {
            String::new()
        },
        if c.cancelled > 0 {
            format!(", {} cancelled", c.cancelled)
        } else {
            String::new()
        },
    )
}

/// One line describing a status.
pub fn status_line(s: &v1::SweepStatus) -> String {
    let state = v1::SweepState::try_from(s.state).unwrap_or(v1::SweepState::Unspecified);
    let pct = if s.steps_total > 0 {
        100.0 * s.steps_done as f64 / s.steps_total as f64
    } else {
        0.0
    };
    let mut line = format!(
        "sweep {} ({}): {} {:5.1}%  {}",
        s.sweep,
        s.name,
        state.word(),
        pct,
        counts_text(s)
    );
    if !s.last_error.is_empty() {
        line.push_str(&format!("; last error: {}", s.last_error));
    }
    line
}

impl ProgressView {
    /// A bar if stderr is a terminal, lines otherwise.
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(1);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% eta {eta} {msg}",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            last_line: None,
            last_counts: None,
        }
    }

    /// Shows a status update.
    pub fn update(&mut self, s: &v1::SweepStatus) {
        if let Some(bar) = &self.bar {
            bar.set_length(s.steps_total.max(1));
            bar.set_position(s.steps_done.min(s.steps_total));
            bar.set_message(counts_text(s));
            return;
        }
        let counts_changed = self.last_counts != s.tasks;
        let due = self.last_line.is_none_or(|t| t.elapsed() >= LINE_INTERVAL);
        if counts_changed || due {
            eprintln!("{}", status_line(s));
            self.last_line = Some(Instant::now());
            self.last_counts = s.tasks;
        }
    }

    /// Ends the display with a final line.
    pub fn finish(&mut self, s: &v1::SweepStatus) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!("{}", status_line(s));
    }
}

impl Default for ProgressView {
    fn default() -> Self {
        Self::new()
    }
}
