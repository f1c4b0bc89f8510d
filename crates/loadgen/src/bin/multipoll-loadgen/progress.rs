//! The live progress line: elapsed time, phase, messages, rate and failed connections,
//! redrawn in place on stderr while the run goes on. indicatif draws nothing when stderr
//! is not a terminal, so piped or logged runs keep only the report.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use multipoll_loadgen::Progress;

/// A spinner-less status line on stderr, fed by [`multipoll_loadgen::run_with_progress`].
pub(crate) struct Line {
    bar: ProgressBar,
    last: (Duration, u64),
}

impl Line {
    /// A line on stderr (hidden unless stderr is a terminal).
    pub(crate) fn stderr() -> Line {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{msg}").expect("a valid template"));
        Line { bar, last: (Duration::ZERO, 0) }
    }

    /// Redraws the line for `p`; the rate is over the time since the last call.
    pub(crate) fn show(&mut self, p: Progress) {
        let (then, count) = self.last;
        let dt = p.elapsed.saturating_sub(then).as_secs_f64();
        let rate = if dt > 0.0 { p.messages.saturating_sub(count) as f64 / dt } else { 0.0 };
        self.last = (p.elapsed, p.messages);
        let phase = if p.measuring { "measuring" } else { "warming up" };
        self.bar.set_message(format!(
            "{:6.1} s  {phase}  {} messages  {rate:.0} msg/s  {} failed connections",
            p.elapsed.as_secs_f64(),
            p.messages,
            p.failed
        ));
    }

    /// Erases the line, so the report starts on a clean one.
    pub(crate) fn finish(self) {
        self.bar.finish_and_clear();
    }
}
