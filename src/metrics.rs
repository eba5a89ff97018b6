//! Process counters rendered as Prometheus text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use parking_lot::Mutex;

/// Counters of the API surface, by operation (the root field) and error code.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<String, u64>>,
    errors: Mutex<BTreeMap<(String, &'static str), u64>>,
}

/// A value read at scrape time from a module, e.g. the number of accounts.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Metric name (`herald_` prefixed).
    pub name: &'static str,
    /// One line of help text.
    pub help: &'static str,
    /// `gauge`, or `counter` for a total that only grows.
    pub kind: &'static str,
    /// Current value.
    pub value: f64,
}

impl Sample {
    /// A gauge.
    pub fn gauge(name: &'static str, help: &'static str, value: f64) -> Sample {
        Sample {
            name,
            help,
            kind: "gauge",
            value,
        }
    }

    /// A counter.
    pub fn counter(name: &'static str, help: &'static str, value: f64) -> Sample {
        Sample {
            name,
            help,
            kind: "counter",
            value,
        }
    }
}

impl Metrics {
    /// Counts one call of `operation`.
    pub fn request(&self, operation: &str) {
        *self
            .requests
            .lock()
            .entry(operation.to_owned())
            .or_default() += 1;
    }

    /// Counts one error of `operation` with its code.
    pub fn error(&self, operation: &str, code: &'static str) {
        *self
            .errors
            .lock()
            .entry((operation.to_owned(), code))
            .or_default() += 1;
    }

    /// Renders the counters and the given samples as Prometheus text exposition.
    pub fn render(&self, samples: &[Sample]) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP herald_graphql_requests_total GraphQL root fields called, by operation.\n",
        );
        out.push_str("# TYPE herald_graphql_requests_total counter\n");
        for (op, n) in self.requests.lock().iter() {
            let _ = writeln!(
                out,
                "herald_graphql_requests_total{{operation=\"{}\"}} {n}",
                escape(op)
            );
        }
        out.push_str("# HELP herald_graphql_errors_total GraphQL errors, by operation and code.\n");
        out.push_str("# TYPE herald_graphql_errors_total counter\n");
        for ((op, code), n) in self.errors.lock().iter() {
            let _ = writeln!(
                out,
                "herald_graphql_errors_total{{operation=\"{}\",code=\"{code}\"}} {n}",
                escape(op)
            );
        }
        for g in samples {
            let _ = writeln!(
                out,
                "# HELP {} {}\n# TYPE {} gauge\n{} {}",
                g.name, g.help, g.name, g.name, g.value
            );
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges() {
        let m = Metrics::default();
        m.request("addUserTags");
        m.request("addUserTags");
        m.error("addUserTags", "NOT_FOUND");
        let text = m.render(&[Sample::gauge("herald_accounts", "Accounts.", 3.0)]);
        assert!(text.contains("herald_graphql_requests_total{operation=\"addUserTags\"} 2"));
        assert!(text.contains(
            "herald_graphql_errors_total{operation=\"addUserTags\",code=\"NOT_FOUND\"} 1"
        ));
        assert!(text.contains("\nherald_accounts 3\n"));
    }
}
