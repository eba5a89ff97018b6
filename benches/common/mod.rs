//! Helpers shared by the benchmarks: synthetic popularity, settings from the environment,
//! and what the process costs. Each bench uses a part of it.

#![allow(dead_code)]

use herald::directory::{Directory, NewAccount};
use rand::Rng;
use rand::rngs::SmallRng;

/// Imports accounts `user0` .. `user{n-1}` through the directory API, `batch` per call.
pub(crate) fn import_users(d: &Directory, n: usize, batch: usize) {
    for start in (0..n).step_by(batch) {
        let accounts: Vec<NewAccount> = (start..(start + batch).min(n))
            .map(|i| NewAccount {
                id: format!("user{i}"),
                nick: None,
            })
            .collect();
        d.import_accounts(&accounts).expect("import");
    }
}

/// Zipf-like popularity (s = 1) over `n` tags: a cumulative table to sample from.
pub(crate) fn zipf_table(n: usize) -> Vec<f64> {
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = (1..=n)
        .map(|k| {
            acc += 1.0 / k as f64;
            acc
        })
        .collect();
    for x in &mut cdf {
        *x /= acc;
    }
    cdf
}

/// One draw from a [`zipf_table`]: the index of the tag.
pub(crate) fn pick(cdf: &[f64], rng: &mut SmallRng) -> usize {
    let u: f64 = rng.random();
    cdf.partition_point(|&c| c < u).min(cdf.len() - 1)
}

/// A number from the environment variable `name`, else `default`; a value that is not a
/// number stops the bench with a message naming it.
pub(crate) fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a number"))
        })
        .unwrap_or(default)
}

/// This process's resident memory in MiB (0 where /proc is missing).
pub(crate) fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
