//! Directory benchmark: import N accounts (default 1M) with 5 tags and 3 attributes each
//! through the directory API in batches of 1,000, then restart and measure.
//!
//! `cargo bench --bench directory` (N from `HERALD_BENCH_ACCOUNTS`; `HERALD_BENCH_DIR` keeps
//! the data dir for a later `--restart DIR` run). Prints: user-tag ops/s,
//! import and attribute rates, data dir size, time from start to ready on restart, and RSS
//! of the restarted process (a fresh process, so the import's memory does not count).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

mod common;

use common::{env_usize, import_users, pick, rss_mib, zipf_table};
use herald::config::Limits;
use herald::directory::{Directory, UserAttributes, UserTags};
use herald::store::Store;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const BATCH: usize = 1000;
const TAGS: usize = 1000;
const CACHE: usize = 64 << 20;

fn open(dir: &Path) -> Directory {
    let store = Arc::new(Store::open(&dir.join("herald.redb"), CACHE).expect("open store"));
    Directory::open(store, Limits::default(), "administrator").expect("open directory")
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The child process: open the data dir, report time to ready and RSS.
fn restart(dir: &Path) {
    let start = Instant::now();
    let d = open(dir);
    let ready = start.elapsed();
    println!(
        "RESTART {} {:.3} {:.1}",
        d.account_count(),
        ready.as_secs_f64(),
        rss_mib()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--restart") {
        restart(Path::new(&args[i + 1]));
        return;
    }
    let n = env_usize("HERALD_BENCH_ACCOUNTS", 1_000_000);
    // HERALD_BENCH_DIR keeps the data dir (it must not exist yet), e.g. to profile a restart.
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir: PathBuf = std::env::var_os("HERALD_BENCH_DIR")
        .map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("data dir");
    let d = open(&dir);
    d.set_attribute_names(&[(0, "city".into()), (1, "tier".into()), (2, "level".into())])
        .unwrap();
    let cdf = zipf_table(TAGS);
    let mut rng = SmallRng::seed_from_u64(7);
    let tiers = ["bronze", "silver", "gold", "platinum"];
    println!(
        "herald directory benchmark: {n} accounts, 5 tags + 3 attributes each, batches of {BATCH}"
    );

    let t = Instant::now();
    import_users(&d, n, BATCH);
    let import = t.elapsed();

    let t = Instant::now();
    for start in (0..n).step_by(BATCH) {
        let batch: Vec<UserTags> = (start..(start + BATCH).min(n))
            .map(|i| {
                let mut tags = Vec::with_capacity(5);
                while tags.len() < 5 {
                    let tag = format!("tag{}", pick(&cdf, &mut rng));
                    if !tags.contains(&tag) {
                        tags.push(tag);
                    }
                }
                UserTags {
                    account: format!("user{i}"),
                    tags,
                }
            })
            .collect();
        d.add_user_tags(&batch).unwrap();
    }
    let tagging = t.elapsed();

    let t = Instant::now();
    for start in (0..n).step_by(BATCH) {
        let batch: Vec<UserAttributes> = (start..(start + BATCH).min(n))
            .map(|i| UserAttributes {
                account: format!("user{i}"),
                attributes: vec![
                    ("city".into(), format!("city{}", rng.random_range(0..300))),
                    ("tier".into(), tiers[rng.random_range(0..4)].into()),
                    ("level".into(), rng.random_range(0..100).to_string()),
                ],
            })
            .collect();
        d.set_user_attributes(&batch).unwrap();
    }
    let attributes = t.elapsed();
    let import_rss = rss_mib();
    drop(d);

    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--restart")
        .arg(&dir)
        .output()
        .expect("restart child");
    let line = String::from_utf8_lossy(&out.stdout);
    let parts: Vec<&str> = line
        .lines()
        .find(|l| l.starts_with("RESTART"))
        .expect("restart output")
        .split_whitespace()
        .collect();
    let size = dir_size(&dir) as f64 / (1 << 20) as f64;

    let rate = |ops: usize, d: std::time::Duration| ops as f64 / d.as_secs_f64();
    println!("| metric | value |");
    println!("|---|---|");
    println!(
        "| import accounts/s | {:.0} ({:.1} s) |",
        rate(n, import),
        import.as_secs_f64()
    );
    println!(
        "| user-tag ops/s | {:.0} ({:.1} s for {} ops) |",
        rate(5 * n, tagging),
        tagging.as_secs_f64(),
        5 * n
    );
    println!(
        "| user-attribute ops/s | {:.0} ({:.1} s) |",
        rate(3 * n, attributes),
        attributes.as_secs_f64()
    );
    println!("| data dir size | {size:.1} MiB |");
    println!(
        "| restart to ready | {} s ({} accounts) |",
        parts[2], parts[1]
    );
    println!("| RSS after restart | {} MiB |", parts[3]);
    println!("| RSS of the importing process | {import_rss:.1} MiB |");
}
