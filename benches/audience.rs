//! Audience benchmark: targeting latency over synthetic directories, side by side with the
//! same data as sets in a real Redis.
//!
//! `cargo bench --bench audience`. Sizes from `HERALD_BENCH_SIZES` (default
//! `1000000,10000000`), timed iterations from `HERALD_BENCH_ITERS` (default 200; the Redis
//! side uses `HERALD_BENCH_REDIS_ITERS`, default the same, but stops a condition after
//! `HERALD_BENCH_REDIS_SECONDS`, default 60, once it has 10 runs), accepts timed from
//! `HERALD_BENCH_ACCEPTS` (default 100).
//!
//! Each account holds 5 distinct tags out of 1,000 (Zipf-like popularity, s = 1) and 3
//! attributes: `city` (300 values), `tier` (4 values), `level` (0..=99). The directory is
//! built through the real API on a store in a temp dir. For each condition the bench
//! times [`herald::audience::Plan::evaluate`] (the audience as a bitmap) and
//! [`herald::audience::Plan::count`], checks both against a plain scan of the generated
//! data, then loads the same data into `redis-server` (started here on a free loopback
//! port: `apt-get install -y redis-server`; without it only the Herald side runs) as
//! sets, tries several command sequences per condition that give the same count, keeps
//! the fastest and times it. Finally it times `Pushes::accept` of a push to every account
//! (each accept is a durable commit of the audience snapshot).

use std::hint::black_box;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{env_usize, import_users, pick, rss_mib, zipf_table};
use herald::audience::{self, Target};
use herald::config::{AppConfig, Limits, PushConfig};
use herald::directory::{Directory, UserAttributes, UserTags};
use herald::push::body::Element;
use herald::push::{PushRequest, Pushes};
use herald::store::Store;
use herald::time::SystemClock;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const TAGS: usize = 1000;
const TAGS_PER_ACCOUNT: usize = 5;
const CITIES: u16 = 300;
const TIERS: [&str; 4] = ["bronze", "silver", "gold", "platinum"];
const LEVELS: u8 = 100;
/// Accounts per directory call (and `Limits::batch_accounts`).
const BATCH: usize = 10_000;
/// redb page cache while loading.
const CACHE: usize = 512 << 20;
/// Members per SADD while loading Redis.
const SADD_MEMBERS: usize = 1000;
/// Timed runs of each Redis formulation when picking the fastest.
const TRIALS: usize = 5;

// ---------------------------------------------------------------------------------------
// Synthetic data

/// The generated directory, one entry per account (account `i` is `user{i}`).
struct Data {
    tags: Vec<[u16; TAGS_PER_ACCOUNT]>,
    city: Vec<u16>,
    tier: Vec<u8>,
    level: Vec<u8>,
}

impl Data {
    fn generate(n: usize) -> Data {
        let cdf = zipf_table(TAGS);
        let mut rng = SmallRng::seed_from_u64(7);
        let mut data = Data {
            tags: Vec::with_capacity(n),
            city: Vec::with_capacity(n),
            tier: Vec::with_capacity(n),
            level: Vec::with_capacity(n),
        };
        for _ in 0..n {
            let mut tags = [u16::MAX; TAGS_PER_ACCOUNT];
            let mut held = 0;
            while held < TAGS_PER_ACCOUNT {
                let tag = pick(&cdf, &mut rng) as u16;
                if !tags[..held].contains(&tag) {
                    tags[held] = tag;
                    held += 1;
                }
            }
            data.tags.push(tags);
            data.city.push(rng.random_range(0..CITIES));
            data.tier.push(rng.random_range(0..TIERS.len() as u8));
            data.level.push(rng.random_range(0..LEVELS));
        }
        data
    }

    fn len(&self) -> usize {
        self.tags.len()
    }

    fn has(&self, i: usize, tag: u16) -> bool {
        self.tags[i].contains(&tag)
    }

    /// The members (account numbers) of every Redis set, by key.
    fn sets(&self) -> Vec<(String, Vec<u32>)> {
        let mut tags = vec![Vec::new(); TAGS];
        let mut cities = vec![Vec::new(); CITIES as usize];
        let mut tiers = vec![Vec::new(); TIERS.len()];
        let mut levels = vec![Vec::new(); LEVELS as usize];
        for i in 0..self.len() {
            let uid = i as u32;
            for &t in &self.tags[i] {
                tags[t as usize].push(uid);
            }
            cities[self.city[i] as usize].push(uid);
            tiers[self.tier[i] as usize].push(uid);
            levels[self.level[i] as usize].push(uid);
        }
        let mut sets = vec![("all".to_owned(), (0..self.len() as u32).collect())];
        sets.extend(
            tags.into_iter()
                .enumerate()
                .map(|(t, m)| (format!("tag:tag{t}"), m)),
        );
        sets.extend(
            cities
                .into_iter()
                .enumerate()
                .map(|(c, m)| (format!("attr:city:city{c}"), m)),
        );
        sets.extend(
            tiers
                .into_iter()
                .enumerate()
                .map(|(t, m)| (format!("attr:tier:{}", TIERS[t]), m)),
        );
        sets.extend(
            levels
                .into_iter()
                .enumerate()
                .map(|(l, m)| (format!("attr:level:{l}"), m)),
        );
        sets.retain(|(_, m)| !m.is_empty());
        sets
    }
}

// ---------------------------------------------------------------------------------------
// Conditions

/// One benchmarked condition: the Herald target, the same predicate over the raw data,
/// and the Redis command sequences that compute its size.
struct Case {
    name: &'static str,
    /// How the condition reads (shown under the table).
    text: &'static str,
    target: Target,
    holds: fn(&Data, usize) -> bool,
    redis: Vec<Formulation>,
}

/// A Redis command sequence, sent pipelined in one round trip; the count is a signed sum
/// of integer replies (`terms`: reply index, coefficient).
struct Formulation {
    label: String,
    commands: Vec<Vec<String>>,
    terms: Vec<(usize, i64)>,
}

impl Formulation {
    /// Count = the reply of command `at`.
    fn one(label: &str, commands: Vec<Vec<String>>, at: usize) -> Formulation {
        Formulation {
            label: label.to_owned(),
            commands,
            terms: vec![(at, 1)],
        }
    }
}

fn cmd<S: AsRef<str>>(parts: impl IntoIterator<Item = S>) -> Vec<String> {
    parts.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

fn tag_key(t: u16) -> String {
    format!("tag:tag{t}")
}

fn level_key(l: u8) -> String {
    format!("attr:level:{l}")
}

fn cases() -> Vec<Case> {
    vec![and2(), or4(), where_mix(), level_tier()]
}

fn and2() -> Case {
    let (a, b) = (1u16, 7u16);
    Case {
        name: "2-tag AND",
        text: "tagsAnd: [tag1, tag7]",
        target: Target {
            tags_and: Some(vec![format!("tag{a}"), format!("tag{b}")]),
            ..Target::default()
        },
        holds: |d, i| d.has(i, 1) && d.has(i, 7),
        redis: vec![
            Formulation::one(
                "SINTERCARD",
                vec![cmd(["SINTERCARD", "2", &tag_key(a), &tag_key(b)])],
                0,
            ),
            Formulation::one(
                "SINTERSTORE+UNLINK",
                vec![
                    cmd(["SINTERSTORE", "tmp:1", &tag_key(a), &tag_key(b)]),
                    cmd(["UNLINK", "tmp:1"]),
                ],
                0,
            ),
        ],
    }
}

fn or4() -> Case {
    let tags = [3u16, 10, 30, 100];
    let keys: Vec<String> = tags.iter().map(|&t| tag_key(t)).collect();
    let mut union = cmd(["SUNIONSTORE", "tmp:1"]);
    union.extend(keys.iter().cloned());
    // Inclusion-exclusion: |A∪B∪C∪D| = Σ|A| - Σ|A∩B| + Σ|A∩B∩C| - |A∩B∩C∩D|.
    let mut commands = Vec::new();
    let mut terms = Vec::new();
    for mask in 1u32..16 {
        let members: Vec<&String> = (0..4)
            .filter(|b| mask & (1 << b) != 0)
            .map(|b| &keys[b])
            .collect();
        let sign = if members.len() % 2 == 1 { 1 } else { -1 };
        if members.len() == 1 {
            commands.push(cmd(["SCARD", members[0]]));
        } else {
            let mut c = cmd(["SINTERCARD".to_owned(), members.len().to_string()]);
            c.extend(members.into_iter().cloned());
            commands.push(c);
        }
        terms.push((commands.len() - 1, sign));
    }
    Case {
        name: "4-tag OR",
        text: "tagsOr: [tag3, tag10, tag30, tag100]",
        target: Target {
            tags_or: Some(tags.iter().map(|t| format!("tag{t}")).collect()),
            ..Target::default()
        },
        holds: |d, i| d.tags[i].iter().any(|t| matches!(t, 3 | 10 | 30 | 100)),
        redis: vec![
            Formulation::one(
                "SUNIONSTORE+UNLINK",
                vec![union, cmd(["UNLINK", "tmp:1"])],
                0,
            ),
            Formulation {
                label: "4 SCARD + 11 SINTERCARD (inclusion-exclusion)".to_owned(),
                commands,
                terms,
            },
        ],
    }
}

fn where_mix() -> Case {
    let (t2, t0) = (tag_key(2), tag_key(0));
    let (city, gold) = ("attr:city:city7", "attr:tier:gold");
    Case {
        name: "where mix",
        text: r#"where: tag("tag2") and (city = "city7" or tier = "gold") and not tag("tag0")"#,
        target: Target {
            where_: Some(
                r#"tag("tag2") and (city = "city7" or tier = "gold") and not tag("tag0")"#
                    .to_owned(),
            ),
            ..Target::default()
        },
        holds: |d, i| d.has(i, 2) && (d.city[i] == 7 || d.tier[i] == 2) && !d.has(i, 0),
        redis: vec![
            Formulation::one(
                "SUNIONSTORE, SINTERSTORE, SDIFFSTORE, UNLINK",
                vec![
                    cmd(["SUNIONSTORE", "tmp:1", city, gold]),
                    cmd(["SINTERSTORE", "tmp:2", &t2, "tmp:1"]),
                    cmd(["SDIFFSTORE", "tmp:3", "tmp:2", &t0]),
                    cmd(["UNLINK", "tmp:1", "tmp:2", "tmp:3"]),
                ],
                2,
            ),
            Formulation::one(
                "2 SINTERSTORE, SUNIONSTORE, SDIFFSTORE, UNLINK",
                vec![
                    cmd(["SINTERSTORE", "tmp:1", &t2, gold]),
                    cmd(["SINTERSTORE", "tmp:2", &t2, city]),
                    cmd(["SUNIONSTORE", "tmp:3", "tmp:1", "tmp:2"]),
                    cmd(["SDIFFSTORE", "tmp:4", "tmp:3", &t0]),
                    cmd(["UNLINK", "tmp:1", "tmp:2", "tmp:3", "tmp:4"]),
                ],
                3,
            ),
            Formulation {
                label: "SDIFFSTORE + 3 SINTERCARD (incl.-excl.), UNLINK".to_owned(),
                commands: vec![
                    cmd(["SDIFFSTORE", "tmp:1", &t2, &t0]),
                    cmd(["SINTERCARD", "2", "tmp:1", gold]),
                    cmd(["SINTERCARD", "2", "tmp:1", city]),
                    cmd(["SINTERCARD", "3", "tmp:1", city, gold]),
                    cmd(["UNLINK", "tmp:1"]),
                ],
                terms: vec![(1, 1), (2, 1), (3, -1)],
            },
        ],
    }
}

fn level_tier() -> Case {
    let high: Vec<String> = (50..LEVELS).map(level_key).collect();
    let (gold, platinum) = ("attr:tier:gold", "attr:tier:platinum");

    // a) union of the 50 level sets, union of the tiers, SINTERCARD.
    let mut levels = cmd(["SUNIONSTORE", "tmp:1"]);
    levels.extend(high.iter().cloned());
    let a = Formulation::one(
        "SUNIONSTORE levels, SUNIONSTORE tiers, SINTERCARD, UNLINK",
        vec![
            levels.clone(),
            cmd(["SUNIONSTORE", "tmp:2", gold, platinum]),
            cmd(["SINTERCARD", "2", "tmp:1", "tmp:2"]),
            cmd(["UNLINK", "tmp:1", "tmp:2"]),
        ],
        2,
    );
    // b) union of the levels, one SINTERCARD per tier (tiers are disjoint).
    let b = Formulation {
        label: "SUNIONSTORE levels + 2 SINTERCARD, UNLINK".to_owned(),
        commands: vec![
            levels,
            cmd(["SINTERCARD", "2", "tmp:1", gold]),
            cmd(["SINTERCARD", "2", "tmp:1", platinum]),
            cmd(["UNLINK", "tmp:1"]),
        ],
        terms: vec![(1, 1), (2, 1)],
    };
    // c) union of the tiers, one SINTERCARD per level (levels are disjoint).
    let mut commands = vec![cmd(["SUNIONSTORE", "tmp:1", gold, platinum])];
    let mut terms = Vec::new();
    for key in &high {
        commands.push(cmd(["SINTERCARD", "2", key, "tmp:1"]));
        terms.push((commands.len() - 1, 1));
    }
    commands.push(cmd(["UNLINK", "tmp:1"]));
    let c = Formulation {
        label: "SUNIONSTORE tiers + 50 SINTERCARD, UNLINK".to_owned(),
        commands,
        terms,
    };
    // d) no temporary set: one SINTERCARD per (level, tier) pair.
    let mut commands = Vec::new();
    let mut terms = Vec::new();
    for key in &high {
        for tier in [gold, platinum] {
            commands.push(cmd(["SINTERCARD", "2", key, tier]));
            terms.push((commands.len() - 1, 1));
        }
    }
    let d = Formulation {
        label: "100 SINTERCARD (level x tier)".to_owned(),
        commands,
        terms,
    };
    Case {
        name: "level>=50 & tier in",
        text: r#"where: level >= 50 and tier in ("gold", "platinum")"#,
        target: Target {
            where_: Some(r#"level >= 50 and tier in ("gold", "platinum")"#.to_owned()),
            ..Target::default()
        },
        holds: |d, i| d.level[i] >= 50 && d.tier[i] >= 2,
        redis: vec![a, b, c, d],
    }
}

// ---------------------------------------------------------------------------------------
// Timing

/// p50 and p99 (nearest rank) of a sample of `n` runs.
#[derive(Debug, Clone, Copy)]
struct Stats {
    p50: Duration,
    p99: Duration,
    n: usize,
}

impl Stats {
    fn of(mut sample: Vec<Duration>) -> Stats {
        assert!(!sample.is_empty());
        sample.sort_unstable();
        let rank = |p: f64| sample[((p * sample.len() as f64).ceil() as usize).max(1) - 1];
        Stats {
            p50: rank(0.50),
            p99: rank(0.99),
            n: sample.len(),
        }
    }

    fn show(&self) -> String {
        format!("{} / {}", ms(self.p50), ms(self.p99))
    }
}

fn ms(d: Duration) -> String {
    let x = d.as_secs_f64() * 1e3;
    if x < 10.0 {
        format!("{x:.3} ms")
    } else {
        format!("{x:.1} ms")
    }
}

/// Runs `f` once to warm up, then `iters` timed times.
fn time<T>(iters: usize, f: impl FnMut() -> T) -> Stats {
    time_within(iters, Duration::MAX, f)
}

/// Like [`time`], but stops early (after at least 10 runs) once `budget` is spent.
fn time_within<T>(iters: usize, budget: Duration, mut f: impl FnMut() -> T) -> Stats {
    black_box(f());
    let start = Instant::now();
    let mut sample = Vec::with_capacity(iters);
    while sample.len() < iters && (sample.len() < 10 || start.elapsed() < budget) {
        let t = Instant::now();
        black_box(f());
        sample.push(t.elapsed());
    }
    Stats::of(sample)
}

// ---------------------------------------------------------------------------------------
// Herald

/// Builds the directory through the API, in batches of [`BATCH`] accounts.
fn load_herald(dir: &Path, data: &Data) -> (Arc<Store>, Arc<Directory>) {
    let store = Arc::new(Store::open(&dir.join("herald.redb"), CACHE).expect("open store"));
    let limits = Limits {
        batch_accounts: BATCH,
        ..Default::default()
    };
    let d = Directory::open(store.clone(), limits, "administrator").expect("open directory");
    d.set_attribute_names(&[(0, "city".into()), (1, "tier".into()), (2, "level".into())])
        .expect("attribute names");
    let n = data.len();

    let t = Instant::now();
    import_users(&d, n, BATCH);
    let import = t.elapsed();

    let t = Instant::now();
    for start in (0..n).step_by(BATCH) {
        let batch: Vec<UserTags> = (start..(start + BATCH).min(n))
            .map(|i| UserTags {
                account: format!("user{i}"),
                tags: data.tags[i].iter().map(|t| format!("tag{t}")).collect(),
            })
            .collect();
        d.add_user_tags(&batch).expect("tags");
    }
    let tagging = t.elapsed();

    let t = Instant::now();
    for start in (0..n).step_by(BATCH) {
        let batch: Vec<UserAttributes> = (start..(start + BATCH).min(n))
            .map(|i| UserAttributes {
                account: format!("user{i}"),
                attributes: vec![
                    ("city".into(), format!("city{}", data.city[i])),
                    ("tier".into(), TIERS[data.tier[i] as usize].into()),
                    ("level".into(), data.level[i].to_string()),
                ],
            })
            .collect();
        d.set_user_attributes(&batch).expect("attributes");
    }
    let attributes = t.elapsed();
    assert_eq!(d.account_count(), n as u64);
    println!(
        "herald load: import {:.1} s, tags {:.1} s, attributes {:.1} s (total {:.1} s, {:.0} accounts/s)",
        import.as_secs_f64(),
        tagging.as_secs_f64(),
        attributes.as_secs_f64(),
        (import + tagging + attributes).as_secs_f64(),
        n as f64 / (import + tagging + attributes).as_secs_f64(),
    );
    (store, Arc::new(d))
}

/// Herald's timings and count for one condition.
struct HeraldResult {
    audience: u64,
    evaluate: Stats,
    count: Stats,
}

fn time_herald(d: &Directory, case: &Case, expected: u64, iters: usize) -> HeraldResult {
    let limits = audience::Limits::default();
    let plan = {
        let ix = d.indexes();
        audience::compile(&case.target, &*ix, &limits).expect("compile")
    };
    let (evaluated, counted) = {
        let ix = d.indexes();
        (plan.evaluate(&*ix).len(), plan.count(&*ix))
    };
    assert_eq!(
        evaluated, expected,
        "{}: Plan::evaluate disagrees with a scan of the data",
        case.name
    );
    assert_eq!(
        counted, expected,
        "{}: Plan::count disagrees with a scan of the data",
        case.name
    );
    let evaluate = time(iters, || {
        let ix = d.indexes();
        plan.evaluate(&*ix)
    });
    let count = time(iters, || {
        let ix = d.indexes();
        plan.count(&*ix)
    });
    HeraldResult {
        audience: expected,
        evaluate,
        count,
    }
}

/// Times `Pushes::accept` of `accepts` pushes to `target`.
fn time_accepts(pushes: &Pushes, target: &Target, expected: u64, accepts: usize) -> Stats {
    let request = || PushRequest {
        target: target.clone(),
        body: vec![Element::Text { text: "hi".into() }],
        lifetime_seconds: 3600,
        ..PushRequest::default()
    };
    let view = pushes.accept(request()).expect("accept");
    assert_eq!(
        view.record.audience_size, expected,
        "accepted audience size"
    );
    time(accepts, || pushes.accept(request()).expect("accept"))
}

// ---------------------------------------------------------------------------------------
// Redis

/// A RESP reply.
#[derive(Debug)]
enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    /// Arrays are read through and dropped: the bench never needs their elements.
    Array,
}

impl Reply {
    fn int(&self) -> i64 {
        match self {
            Reply::Int(x) => *x,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }
}

/// Appends a command as a RESP array of bulk strings.
fn encode<S: AsRef<[u8]>>(out: &mut Vec<u8>, parts: &[S]) {
    out.extend_from_slice(format!("*{}\r\n", parts.len()).as_bytes());
    for p in parts {
        let p = p.as_ref();
        out.extend_from_slice(format!("${}\r\n", p.len()).as_bytes());
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "redis closed the connection",
        ));
    }
    Ok(line.trim_end_matches("\r\n").to_owned())
}

fn read_reply(r: &mut impl BufRead) -> io::Result<Reply> {
    let line = read_line(r)?;
    let (kind, rest) = line.split_at(1.min(line.len()));
    let number = || {
        rest.parse::<i64>()
            .map_err(|_| io::Error::other(format!("bad RESP line {line:?}")))
    };
    Ok(match kind {
        "+" => Reply::Status(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Int(number()?),
        "$" => match number()? {
            -1 => Reply::Bulk(None),
            len => {
                let mut buf = vec![0; len as usize + 2];
                r.read_exact(&mut buf)?;
                buf.truncate(len as usize);
                Reply::Bulk(Some(buf))
            }
        },
        "*" => {
            for _ in 0..number()?.max(0) {
                read_reply(r)?;
            }
            Reply::Array
        }
        _ => return Err(io::Error::other(format!("bad RESP line {line:?}"))),
    })
}

/// A minimal RESP client: pipelined commands, replies read in order.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(port: u16) -> io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            writer: stream.try_clone()?,
            reader: BufReader::with_capacity(1 << 16, stream),
        })
    }

    /// Sends pre-encoded commands at once and reads `n` replies; an error reply panics.
    fn pipeline(&mut self, encoded: &[u8], n: usize) -> Vec<Reply> {
        self.writer.write_all(encoded).expect("write to redis");
        (0..n)
            .map(
                |_| match read_reply(&mut self.reader).expect("read from redis") {
                    Reply::Error(e) => panic!("redis error: {e}"),
                    reply => reply,
                },
            )
            .collect()
    }

    fn call<S: AsRef<[u8]>>(&mut self, parts: &[S]) -> Reply {
        let mut buf = Vec::new();
        encode(&mut buf, parts);
        self.pipeline(&buf, 1).pop().expect("one reply")
    }
}

/// A `redis-server` child process, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port with persistence off; `None` when it
    /// is not installed.
    fn start() -> Option<RedisServer> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = tempfile::tempdir().expect("redis dir");
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                println!(
                    "redis-server not found: install it with `apt-get install -y redis-server` to compare"
                );
                return None;
            }
            Err(e) => panic!("cannot start redis-server: {e}"),
        };
        let server = RedisServer {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut c) = Client::connect(port)
                && matches!(c.call(&["PING"]), Reply::Status(s) if s == "PONG")
            {
                return Some(server);
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Loads every set with pipelined SADDs (a writer thread streams commands while this one
/// reads the replies). Returns the number of members added.
fn load_redis(port: u16, sets: &[(String, Vec<u32>)]) -> u64 {
    let mut client = Client::connect(port).expect("connect to redis");
    let commands: usize = sets
        .iter()
        .map(|(_, m)| m.len().div_ceil(SADD_MEMBERS))
        .sum();
    let mut writer = client.writer.try_clone().expect("clone stream");
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut buf = Vec::with_capacity(4 << 20);
            let mut parts: Vec<Vec<u8>> = Vec::with_capacity(SADD_MEMBERS + 2);
            for (key, members) in sets {
                for chunk in members.chunks(SADD_MEMBERS) {
                    parts.clear();
                    parts.push(b"SADD".to_vec());
                    parts.push(key.as_bytes().to_vec());
                    parts.extend(chunk.iter().map(|m| m.to_string().into_bytes()));
                    encode(&mut buf, &parts);
                    if buf.len() >= 4 << 20 {
                        writer.write_all(&buf).expect("write to redis");
                        buf.clear();
                    }
                }
            }
            writer.write_all(&buf).expect("write to redis");
        });
        let mut added = 0;
        for _ in 0..commands {
            match read_reply(&mut client.reader).expect("read from redis") {
                Reply::Int(x) => added += x as u64,
                other => panic!("SADD failed: {other:?}"),
            }
        }
        added
    })
}

fn redis_info(client: &mut Client, field: &str) -> String {
    let Reply::Bulk(Some(info)) = client.call(&["INFO", "memory"]) else {
        return "?".into();
    };
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// The fastest formulation of a condition and its timings.
struct RedisResult {
    label: String,
    stats: Stats,
    /// (label, p50 of the trial runs) of every formulation tried.
    tried: Vec<(String, Duration)>,
}

/// Runs one formulation, returning the count it computes.
fn run(client: &mut Client, encoded: &[u8], f: &Formulation) -> i64 {
    let replies = client.pipeline(encoded, f.commands.len());
    f.terms.iter().map(|&(i, c)| c * replies[i].int()).sum()
}

fn time_redis(
    client: &mut Client,
    case: &Case,
    expected: u64,
    iters: usize,
    budget: Duration,
) -> RedisResult {
    let encoded: Vec<Vec<u8>> = case
        .redis
        .iter()
        .map(|f| {
            let mut buf = Vec::new();
            for c in &f.commands {
                encode(&mut buf, c);
            }
            buf
        })
        .collect();
    let mut tried = Vec::new();
    for (f, enc) in case.redis.iter().zip(&encoded) {
        let count = run(client, enc, f);
        assert_eq!(
            count, expected as i64,
            "{}: Redis ({}) disagrees with Herald",
            case.name, f.label
        );
        let stats = time(TRIALS, || run(client, enc, f));
        tried.push((f.label.clone(), stats.p50));
    }
    let best = (0..tried.len())
        .min_by_key(|&i| tried[i].1)
        .expect("a formulation");
    let f = &case.redis[best];
    let stats = time_within(iters, budget, || run(client, &encoded[best], f));
    RedisResult {
        label: f.label.clone(),
        stats,
        tried,
    }
}

// ---------------------------------------------------------------------------------------
// Main

fn ratio(redis: Duration, herald: Duration) -> String {
    let r = redis.as_secs_f64() / herald.as_secs_f64().max(1e-9);
    if r >= 100.0 {
        format!("{r:.0}x")
    } else {
        format!("{r:.1}x")
    }
}

/// What to run per size.
#[derive(Debug, Clone, Copy)]
struct Settings {
    iters: usize,
    redis_iters: usize,
    redis_budget: Duration,
    accepts: usize,
}

fn bench_size(n: usize, settings: Settings) {
    let Settings {
        iters,
        redis_iters,
        redis_budget,
        accepts,
    } = settings;
    println!("\n## {n} accounts\n");
    let t = Instant::now();
    let data = Data::generate(n);
    println!(
        "generated data in {:.1} s ({TAGS} tags Zipf s=1, {TAGS_PER_ACCOUNT} per account; city x{CITIES}, tier x{}, level 0..{})",
        t.elapsed().as_secs_f64(),
        TIERS.len(),
        LEVELS - 1
    );
    let cases = cases();
    let expected: Vec<u64> = cases
        .iter()
        .map(|c| (0..n).filter(|&i| (c.holds)(&data, i)).count() as u64)
        .collect();

    let tmp = tempfile::tempdir().expect("tempdir");
    let (store, directory) = load_herald(tmp.path(), &data);
    println!(
        "bench process RSS after the Herald load: {:.0} MiB",
        rss_mib()
    );
    let herald: Vec<HeraldResult> = cases
        .iter()
        .zip(&expected)
        .map(|(c, &e)| time_herald(&directory, c, e, iters))
        .collect();

    let pushes = Pushes::open(
        store.clone(),
        directory.clone(),
        Arc::new(SystemClock),
        &AppConfig::default(),
        PushConfig::default(),
    )
    .expect("open pushes");
    let accept_all = time_accepts(&pushes, &Target::default(), n as u64, accepts);
    let accept_or = time_accepts(&pushes, &cases[1].target, expected[1], accepts);
    drop(pushes);

    let redis = RedisServer::start().map(|server| {
        let sets = data.sets();
        let t = Instant::now();
        let added = load_redis(server.port, &sets);
        let load = t.elapsed();
        drop(sets);
        let mut client = Client::connect(server.port).expect("connect to redis");
        println!(
            "redis load: {added} members in {} sets by pipelined SADD ({SADD_MEMBERS} per command) in {:.1} s; used_memory {}",
            client.call(&["DBSIZE"]).int(),
            load.as_secs_f64(),
            redis_info(&mut client, "used_memory_human"),
        );
        let results: Vec<RedisResult> = cases
            .iter()
            .zip(&expected)
            .map(|(c, &e)| time_redis(&mut client, c, e, redis_iters, redis_budget))
            .collect();
        (server, results)
    });

    println!(
        "\n{n} accounts: Herald {iters} runs per condition; latencies p50 / p99 (Redis: [runs])\n"
    );
    println!(
        "| condition | audience | Herald evaluate | Herald count | Redis | Redis command (fastest tried) | Redis/count | Redis/evaluate |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|");
    for (i, (c, h)) in cases.iter().zip(&herald).enumerate() {
        let (r, label, rc, re) = match &redis {
            Some((_, results)) => {
                let r = &results[i];
                (
                    format!("{} [{}]", r.stats.show(), r.stats.n),
                    r.label.clone(),
                    ratio(r.stats.p50, h.count.p50),
                    ratio(r.stats.p50, h.evaluate.p50),
                )
            }
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {} | {} | {} | {r} | {label} | {rc} | {re} |",
            c.name,
            h.audience,
            h.evaluate.show(),
            h.count.show()
        );
    }
    println!();
    for c in &cases {
        println!("- {}: `{}`", c.name, c.text);
    }
    if let Some((_, results)) = &redis {
        println!("\nRedis formulations tried (p50 of {TRIALS} runs; each gives the same count):");
        for (c, r) in cases.iter().zip(results) {
            for (label, p50) in &r.tried {
                println!("- {}: {label}: {}", c.name, ms(*p50));
            }
        }
    }
    println!(
        "\npush accept ({accepts} accepts, lifetime 3600 s, one text element; each is a durable commit of the audience snapshot):"
    );
    println!("| target | audience | accept p50 / p99 |");
    println!("|---|---:|---:|");
    println!("| all accounts | {n} | {} |", accept_all.show());
    println!(
        "| {} (`{}`) | {} | {} |",
        cases[1].name,
        cases[1].text,
        expected[1],
        accept_or.show()
    );

    println!(
        "\ngoals (p50 <= 2 ms for evaluate and count; >= 20x faster than Redis; accept p50 <= 20 ms):"
    );
    let goal = Duration::from_millis(2);
    for (i, (c, h)) in cases.iter().zip(&herald).enumerate() {
        let mut notes = Vec::new();
        for (what, s) in [("evaluate", h.evaluate), ("count", h.count)] {
            if s.p50 > goal {
                notes.push(format!(
                    "{what} p50 {} misses 2 ms by {}",
                    ms(s.p50),
                    ms(s.p50 - goal)
                ));
            }
        }
        if let Some((_, results)) = &redis {
            let r = results[i].stats.p50.as_secs_f64();
            for (what, s) in [("evaluate", h.evaluate), ("count", h.count)] {
                let x = r / s.p50.as_secs_f64().max(1e-9);
                if x < 20.0 {
                    notes.push(format!("Redis/{what} {x:.1}x < 20x"));
                }
            }
        }
        let verdict = if notes.is_empty() {
            "met".to_owned()
        } else {
            format!("MISSED: {}", notes.join("; "))
        };
        println!("- {}: {verdict}", c.name);
    }
    let accept_goal = Duration::from_millis(20);
    println!(
        "- accept to all: {}",
        if accept_all.p50 <= accept_goal {
            "met".to_owned()
        } else {
            format!(
                "MISSED: p50 {} misses 20 ms by {}",
                ms(accept_all.p50),
                ms(accept_all.p50 - accept_goal)
            )
        }
    );
    println!("bench process RSS at the end: {:.0} MiB", rss_mib());
    drop(redis);
}

fn main() {
    let sizes: Vec<usize> = std::env::var("HERALD_BENCH_SIZES")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .unwrap_or_else(|_| panic!("HERALD_BENCH_SIZES: {s:?} is not a number"))
        })
        .collect();
    let iters = env_usize("HERALD_BENCH_ITERS", 200).max(1);
    let redis_iters = env_usize("HERALD_BENCH_REDIS_ITERS", iters).max(1);
    let redis_seconds = env_usize("HERALD_BENCH_REDIS_SECONDS", 60);
    let accepts = env_usize("HERALD_BENCH_ACCEPTS", 100).max(1);
    println!(
        "herald audience benchmark: sizes {sizes:?}, {iters} iterations (Redis: {redis_iters}, at most {redis_seconds} s per condition), {accepts} accepts"
    );
    let settings = Settings {
        iters,
        redis_iters,
        redis_budget: Duration::from_secs(redis_seconds as u64),
        accepts,
    };
    for n in sizes {
        bench_size(n, settings);
    }
}
