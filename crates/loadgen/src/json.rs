//! [`Report::to_json`]: one JSON object per run, for scripts (no serde needed for a flat
//! record of numbers and two strings).

use std::fmt::Write;

use crate::report::{Report, micros};

/// Writes `s` as a JSON string literal.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Report {
    /// The report as one line of JSON. Latencies are in microseconds (`*_us`).
    ///
    /// ```
    /// # use multipoll_loadgen::{Report, Latency, Failures};
    /// # let report = Report {
    /// #     backend: multipoll::Backend::Poll, connections: 1, connected: 1, idle: 0, size: 64,
    /// #     pipeline: 1, messages: 10, elapsed: std::time::Duration::from_secs(1),
    /// #     latency: Latency::default(), failures: Failures::default(),
    /// # };
    /// let json = report.to_json();
    /// assert!(json.starts_with("{\"ok\":true,\"backend\":\"poll\""));
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        let _ = write!(out, "{{\"ok\":{},\"backend\":", self.is_ok());
        string(&mut out, self.backend.name());
        let _ = write!(
            out,
            ",\"connections\":{},\"connected\":{},\"idle\":{},\"size\":{},\"pipeline\":{},\
             \"messages\":{},\"elapsed_s\":{:.6},\"msgs_per_sec\":{:.1},\"mib_per_sec\":{:.3}",
            self.connections,
            self.connected,
            self.idle,
            self.size,
            self.pipeline,
            self.messages,
            self.elapsed.as_secs_f64(),
            self.messages_per_sec(),
            self.mib_per_sec()
        );
        let l = &self.latency;
        let _ = write!(
            out,
            ",\"latency\":{{\"p50_us\":{:.2},\"p90_us\":{:.2},\"p99_us\":{:.2},\
             \"p999_us\":{:.2},\"max_us\":{:.2},\"mean_us\":{:.2}}}",
            micros(l.p50),
            micros(l.p90),
            micros(l.p99),
            micros(l.p999),
            micros(l.max),
            micros(l.mean)
        );
        let f = &self.failures;
        let _ = write!(
            out,
            ",\"failures\":{{\"refused\":{},\"connect_failed\":{},\"reset\":{},\"closed\":{},\
             \"corrupt\":{},\"missing\":{},\"other\":{},\"first\":",
            f.refused, f.connect_failed, f.reset, f.closed, f.corrupt, f.missing, f.other
        );
        match &f.first {
            Some(first) => string(&mut out, first),
            None => out.push_str("null"),
        }
        out.push_str("}}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::string;

    #[test]
    fn escapes() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\nd\u{1}");
        assert_eq!(out, r#""a\"b\\c\nd\u0001""#);
    }
}
