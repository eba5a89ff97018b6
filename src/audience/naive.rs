//! Tests only: an in-memory [`Index`], a per-account evaluator that reads the rules of the
//! module doc literally, and property tests that the bitmap plan agrees with it and that
//! the parser survives any input.

use std::collections::{BTreeMap, HashMap};
use std::ops::{Bound, RangeBounds};

use proptest::prelude::*;
use roaring::RoaringBitmap;

use super::{AttrOp, Condition, Index, Limits, Target, compile, number, parse};

/// One account of a test directory: its id, tags and one optional value per attribute.
#[derive(Debug, Clone)]
pub(super) struct Account {
    pub(super) id: u32,
    pub(super) tags: Vec<String>,
    pub(super) attrs: Vec<Option<String>>,
}

/// A directory built from accounts, with the attribute `names[i]` in slot `slots[i]`.
#[derive(Debug)]
pub(super) struct TestIndex {
    all: RoaringBitmap,
    tags: HashMap<String, RoaringBitmap>,
    names: Vec<(String, u8)>,
    values: HashMap<u8, BTreeMap<String, RoaringBitmap>>,
    exists: HashMap<u8, RoaringBitmap>,
}

impl TestIndex {
    pub(super) fn new(names: &[(&str, u8)], accounts: &[Account]) -> Self {
        let mut index = TestIndex {
            all: RoaringBitmap::new(),
            tags: HashMap::new(),
            names: names.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect(),
            values: HashMap::new(),
            exists: HashMap::new(),
        };
        for account in accounts {
            index.all.insert(account.id);
            for tag in &account.tags {
                index
                    .tags
                    .entry(tag.clone())
                    .or_default()
                    .insert(account.id);
            }
            for (&(_, slot), value) in names.iter().zip(&account.attrs) {
                if let Some(value) = value {
                    let values = index.values.entry(slot).or_default();
                    values.entry(value.clone()).or_default().insert(account.id);
                    index.exists.entry(slot).or_default().insert(account.id);
                }
            }
        }
        index
    }
}

impl Index for TestIndex {
    fn all(&self) -> &RoaringBitmap {
        &self.all
    }

    fn tag(&self, tag: &str) -> Option<&RoaringBitmap> {
        self.tags.get(tag)
    }

    fn slot(&self, name: &str) -> Option<u8> {
        self.names.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }

    fn attr_eq(&self, slot: u8, value: &str) -> Option<&RoaringBitmap> {
        self.values.get(&slot)?.get(value)
    }

    fn attr_exists(&self, slot: u8) -> Option<&RoaringBitmap> {
        self.exists.get(&slot)
    }

    fn attr_numeric(
        &self,
        slot: u8,
        range: (Bound<f64>, Bound<f64>),
        visit: &mut dyn FnMut(&RoaringBitmap),
    ) {
        for (value, bitmap) in self.values.get(&slot).into_iter().flatten() {
            if number(value).is_some_and(|x| range.contains(&x)) {
                visit(bitmap);
            }
        }
    }
}

/// The ids of the fixed directory used by the operator tests, by name.
pub(super) fn sample() -> TestIndex {
    let account =
        |id, tags: &[&str], city: Option<&str>, level: Option<&str>, tier: Option<&str>| Account {
            id,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            attrs: [city, level, tier]
                .iter()
                .map(|v| v.map(str::to_owned))
                .collect(),
        };
    TestIndex::new(
        &[("city", 0), ("level", 4), ("tier", 9)],
        &[
            account(
                1,
                &["vip", "stock A"],
                Some("Shenzhen"),
                Some("3"),
                Some("gold"),
            ),
            account(2, &["vip"], Some("Beijing"), Some("3.0"), Some("platinum")),
            account(3, &["muted"], None, Some("10"), Some("silver")),
            account(4, &[], Some("Shenzhen"), Some("abc"), None),
            account(5, &["stock A", "muted"], None, Some("-2.5"), Some("gold")),
            account(6, &[], None, None, None),
        ],
    )
}

/// `stored = literal` under the module's rule: numeric when both are numbers.
fn equals(stored: &str, literal: &str) -> bool {
    match (number(stored), number(literal)) {
        (Some(a), Some(b)) => a == b,
        _ => stored == literal,
    }
}

/// An ordering comparison: false unless both are numbers.
fn orders(stored: &str, literal: &str, test: fn(f64, f64) -> bool) -> bool {
    match (number(stored), number(literal)) {
        (Some(a), Some(b)) => test(a, b),
        _ => false,
    }
}

/// Whether `account` satisfies `condition`, one account at a time.
fn holds(condition: &Condition, account: &Account, index: &TestIndex) -> bool {
    let value = |name: &str| {
        let position = index.names.iter().position(|(n, _)| n == name)?;
        account.attrs[position].as_deref()
    };
    match condition {
        Condition::All => true,
        Condition::Tag(tag) => account.tags.contains(tag),
        Condition::Exists(name) => value(name).is_some(),
        Condition::Not(inner) => !holds(inner, account, index),
        Condition::And(items) => items.iter().all(|c| holds(c, account, index)),
        Condition::Or(items) => items.iter().any(|c| holds(c, account, index)),
        Condition::Attr { name, op } => {
            let Some(v) = value(name) else {
                return false;
            };
            match op {
                AttrOp::Eq(x) => equals(v, x),
                AttrOp::Ne(x) => !equals(v, x),
                AttrOp::Lt(x) => orders(v, x, |a, b| a < b),
                AttrOp::Le(x) => orders(v, x, |a, b| a <= b),
                AttrOp::Gt(x) => orders(v, x, |a, b| a > b),
                AttrOp::Ge(x) => orders(v, x, |a, b| a >= b),
                AttrOp::In(xs) => xs.iter().any(|x| equals(v, x)),
            }
        }
    }
}

/// The target's accounts, found by testing every account.
fn naive(target: &Target, accounts: &[Account], index: &TestIndex) -> RoaringBitmap {
    let pair = |(name, value): &(String, String)| Condition::Attr {
        name: name.clone(),
        op: AttrOp::Eq(value.clone()),
    };
    let mut parts = Vec::new();
    if let Some(tags) = &target.tags_and {
        parts.push(Condition::And(
            tags.iter().cloned().map(Condition::Tag).collect(),
        ));
    }
    if let Some(tags) = &target.tags_or {
        parts.push(Condition::Or(
            tags.iter().cloned().map(Condition::Tag).collect(),
        ));
    }
    if let Some(pairs) = &target.attrs_and {
        parts.push(Condition::And(pairs.iter().map(pair).collect()));
    }
    if let Some(pairs) = &target.attrs_or {
        parts.push(Condition::Or(pairs.iter().map(pair).collect()));
    }
    if let Some(src) = &target.where_ {
        parts.push(parse(src, &Limits::default()).expect("generated where parses"));
    }
    if let Some(condition) = &target.condition {
        parts.push(condition.clone());
    }
    accounts
        .iter()
        .filter(|a| parts.iter().all(|c| holds(c, a, index)))
        .map(|a| a.id)
        .collect()
}

const NAMES: [(&str, u8); 4] = [("city", 2), ("level", 5), ("tier", 9), ("score", 7)];
const TAGS: [&str; 8] = [
    "t0",
    "t1",
    "t2",
    "t3",
    "t4",
    "t5",
    "stock A",
    r#"say "hi" \o/"#,
];
const VALUES: [&str; 10] = [
    "3", "3.0", "-2.5", "10", "1e1", "0", "abc", "Shenzhen", "x y", "03",
];
/// Values of `score`: numbers only, and many of them, so ranges over it may be evaluated
/// as their complement.
const SCORES: [&str; 16] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "2.5", "-1", "1e1",
];

/// A random directory: up to 200 accounts with tags and attributes spread over many
/// containers, plus up to 2000 bare accounts that only widen the universe.
fn directory() -> impl Strategy<Value = Vec<Account>> {
    let values = prop::collection::vec(prop::option::weighted(0.7, 0..VALUES.len()), 3);
    let score = prop::option::weighted(0.8, prop::sample::select(&SCORES[..]));
    let account = (any::<u8>(), values, score);
    (prop::collection::vec(account, 0..200), 0..2000u32).prop_map(|(accounts, bare)| {
        let mut list: Vec<Account> = accounts
            .into_iter()
            .enumerate()
            .map(|(i, (mask, attrs, score))| Account {
                id: i as u32 * 20_011,
                tags: (0..8)
                    .filter(|bit| mask & (1 << bit) != 0)
                    .map(|bit| TAGS[bit].to_owned())
                    .collect(),
                attrs: attrs
                    .into_iter()
                    .map(|v| v.map(|i| VALUES[i].to_owned()))
                    .chain([score.map(str::to_owned)])
                    .collect(),
            })
            .collect();
        list.extend((0..bare).map(|i| Account {
            id: 5_000_000 + i * 3,
            tags: Vec::new(),
            attrs: vec![None; 4],
        }));
        list
    })
}

fn tag() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => prop::sample::select(&TAGS[..]).prop_map(str::to_owned),
        1 => Just("nobody".to_owned()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(&NAMES[..]).prop_map(|(n, _)| n.to_owned())
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(&VALUES[..]).prop_map(str::to_owned),
        3 => prop::sample::select(&SCORES[..]).prop_map(str::to_owned),
        1 => Just("2.25".to_owned()),
    ]
}

fn op() -> impl Strategy<Value = AttrOp> {
    prop_oneof![
        value().prop_map(AttrOp::Eq),
        value().prop_map(AttrOp::Ne),
        value().prop_map(AttrOp::Lt),
        value().prop_map(AttrOp::Le),
        value().prop_map(AttrOp::Gt),
        value().prop_map(AttrOp::Ge),
        prop::collection::vec(value(), 1..4).prop_map(AttrOp::In),
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    let leaf = prop_oneof![
        1 => Just(Condition::All),
        3 => tag().prop_map(Condition::Tag),
        1 => name().prop_map(Condition::Exists),
        5 => (name(), op()).prop_map(|(name, op)| Condition::Attr { name, op }),
    ];
    leaf.prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Condition::Not(Box::new(c))),
            prop::collection::vec(inner.clone(), 1..4).prop_map(Condition::And),
            prop::collection::vec(inner, 1..4).prop_map(Condition::Or),
        ]
    })
}

/// A string literal of the language.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', r"\\").replace('"', "\\\""))
}

/// A value literal: numbers alternate between bare and quoted, which must not matter.
fn literal(s: &str) -> String {
    if number(s).is_some() && s.len() % 2 == 1 {
        s.to_owned()
    } else {
        quote(s)
    }
}

/// Renders a condition in the `where` language, keywords in varying case.
fn render(condition: &Condition) -> String {
    let join = |items: &[Condition], op: &str| {
        items
            .iter()
            .map(|c| format!("({})", render(c)))
            .collect::<Vec<_>>()
            .join(op)
    };
    match condition {
        Condition::All => "all".to_owned(),
        Condition::Tag(tag) => format!("Tag({})", quote(tag)),
        Condition::Exists(name) => format!("exists( {name} )"),
        Condition::Not(inner) => format!("NOT ({})", render(inner)),
        Condition::And(items) => join(items, " and "),
        Condition::Or(items) => join(items, " Or "),
        Condition::Attr { name, op } => {
            let (sym, x) = match op {
                AttrOp::Eq(x) => ("=", x),
                AttrOp::Ne(x) => ("!=", x),
                AttrOp::Lt(x) => ("<", x),
                AttrOp::Le(x) => ("<=", x),
                AttrOp::Gt(x) => (">", x),
                AttrOp::Ge(x) => (">=", x),
                AttrOp::In(xs) => {
                    let list: Vec<_> = xs.iter().map(|x| literal(x)).collect();
                    return format!("{name} in ({})", list.join(", "));
                }
            };
            format!("{name} {sym} {}", literal(x))
        }
    }
}

fn target() -> impl Strategy<Value = Target> {
    let tags = || prop::option::weighted(0.3, prop::collection::vec(tag(), 1..4));
    let pairs = || prop::option::weighted(0.3, prop::collection::vec((name(), value()), 1..4));
    (
        tags(),
        tags(),
        pairs(),
        pairs(),
        prop::option::weighted(0.5, condition().prop_map(|c| render(&c))),
        prop::option::weighted(0.5, condition()),
    )
        .prop_map(
            |(tags_and, tags_or, attrs_and, attrs_or, where_, condition)| Target {
                tags_and,
                tags_or,
                attrs_and,
                attrs_or,
                where_,
                condition,
            },
        )
}

/// Applies character edits (insert, delete, replace) to `s`.
fn mutate(s: &str, edits: &[(prop::sample::Index, u8, char)]) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for (at, kind, c) in edits {
        let at = at.index(chars.len() + 1);
        match kind % 3 {
            0 => chars.insert(at, *c),
            1 if at < chars.len() => {
                chars.remove(at);
            }
            _ if at < chars.len() => chars[at] = *c,
            _ => chars.push(*c),
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn plan_agrees_with_naive_evaluation(accounts in directory(), target in target()) {
        let index = TestIndex::new(&NAMES, &accounts);
        let plan = compile(&target, &index, &Limits::default()).expect("generated targets are valid");
        let want = naive(&target, &accounts, &index);
        prop_assert_eq!(plan.evaluate(&index), want.clone());
        prop_assert_eq!(plan.count(&index), want.len());
    }

    #[test]
    fn where_text_means_the_same_as_the_tree(accounts in directory(), condition in condition()) {
        let index = TestIndex::new(&NAMES, &accounts);
        let limits = Limits::default();
        let by_tree = Target { condition: Some(condition.clone()), ..Target::default() };
        let by_text = Target { where_: Some(render(&condition)), ..Target::default() };
        let tree = compile(&by_tree, &index, &limits).unwrap();
        let text = compile(&by_text, &index, &limits).unwrap();
        prop_assert_eq!(tree.evaluate(&index), text.evaluate(&index));
        prop_assert_eq!(tree.count(&index), text.count(&index));
    }

    #[test]
    fn parser_survives_arbitrary_text(src in any::<String>()) {
        let _ = parse(&src, &Limits::default());
    }

    #[test]
    fn parser_survives_language_soup(src in r#"[()a-z0-9 "\\=!<>,.+\-]{0,80}|((not|and|or|in|all|tag|exists|[()",=<>!]|\d+|[a-z]+| )){0,40}"#) {
        let index = sample();
        let target = Target { where_: Some(src), ..Target::default() };
        if let Ok(plan) = compile(&target, &index, &Limits::default()) {
            prop_assert_eq!(plan.count(&index), plan.evaluate(&index).len());
        }
    }

    #[test]
    fn parser_survives_mutated_expressions(
        condition in condition(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), prop::sample::select(&['(', ')', '"', '\\', ' ', ',', '=', '!', '<', 'a', '3', '-', '.', 'é', '\u{0}'][..])), 1..6),
    ) {
        let src = mutate(&render(&condition), &edits);
        let index = TestIndex::new(&NAMES, &[]);
        let target = Target { where_: Some(src), ..Target::default() };
        if let Ok(plan) = compile(&target, &index, &Limits::default()) {
            prop_assert_eq!(plan.count(&index), plan.evaluate(&index).len());
        }
    }
}

/// `condition` as the parser builds it from [`render`]: one-item lists unwrapped and
/// nested lists of the same kind spliced.
fn normalize(condition: &Condition) -> Condition {
    let list = |items: &[Condition], is_and: bool| {
        let mut out = Vec::new();
        for item in items.iter().map(normalize) {
            match item {
                Condition::And(inner) if is_and => out.extend(inner),
                Condition::Or(inner) if !is_and => out.extend(inner),
                other => out.push(other),
            }
        }
        match out.len() {
            1 => out.remove(0),
            _ if is_and => Condition::And(out),
            _ => Condition::Or(out),
        }
    };
    match condition {
        Condition::Not(inner) => Condition::Not(Box::new(normalize(inner))),
        Condition::And(items) => list(items, true),
        Condition::Or(items) => list(items, false),
        leaf => leaf.clone(),
    }
}

proptest! {
    #[test]
    fn rendered_conditions_parse_back(condition in condition()) {
        let parsed = parse(&render(&condition), &Limits::default()).unwrap();
        prop_assert_eq!(parsed, normalize(&condition));
    }
}

#[test]
fn dense_bitmaps_agree_with_naive_evaluation() {
    // Contiguous ids make bitset containers, which the small random directories never do.
    const TIERS: [&str; 4] = ["a", "b", "c", "d"];
    let accounts: Vec<Account> = (0..140_000u32)
        .map(|id| Account {
            id,
            tags: [("a", 2), ("b", 3), ("c", 97)]
                .iter()
                .filter(|(_, m)| id % m == 0)
                .map(|(t, _)| (*t).to_owned())
                .collect(),
            attrs: vec![
                (id % 11 != 0).then(|| (id * 7 % 100).to_string()),
                Some(TIERS[(id % 4) as usize].to_owned()),
            ],
        })
        .collect();
    let index = TestIndex::new(&[("level", 0), ("tier", 1)], &accounts);
    for src in [
        r#"level >= 50 and tier in ("a", "b")"#,
        r#"level >= 3 and tag("c")"#,
        r#"level < 97 and tag("a")"#,
        r#"not level >= 10 and tag("b")"#,
        r#"tag("a") and (tag("b") or tag("c")) and not level = 3"#,
        r#"level >= 20 and level < 80 and not tier = "a""#,
        r#"(level > 90 or tier = "d") and tag("a")"#,
        r#"exists(level) and not level in (1, 2, 3)"#,
        r#"tag("c") and not (level > 5 and tier != "b")"#,
        r#"not tag("a") or level <= 1"#,
    ] {
        let target = Target {
            where_: Some(src.to_owned()),
            ..Target::default()
        };
        let plan = compile(&target, &index, &Limits::default()).unwrap();
        let want = naive(&target, &accounts, &index);
        assert_eq!(plan.evaluate(&index), want, "{src}");
        assert_eq!(plan.count(&index), want.len(), "{src}");
    }
}
