//! Plan evaluation as bitmap algebra, in the manner of meilisearch's filters: OR is a
//! multi-way union, AND a running intersection from the smallest operand that stops once
//! empty, NOT `universe - x` (and, inside an AND, a plain difference). Index bitmaps are
//! borrowed, never cloned unless they are the answer; nothing scans accounts one by one.

use std::borrow::Cow;
use std::ops::Bound::{self, Excluded, Included, Unbounded};
use std::sync::LazyLock;

use roaring::{MultiOps, RoaringBitmap};

use super::Index;
use super::compile::{Node, Plan, Set};

/// What a missing index entry stands for.
static EMPTY: LazyLock<RoaringBitmap> = LazyLock::new(RoaringBitmap::new);

/// Below this share of the universe (1/n), an OR or a complex NOT inside an AND is applied
/// to the running result branch by branch instead of being built whole.
const SMALL_SHARE: u64 = 16;

/// A range with at most this many values is used as is, never as its complement.
const FEW_VALUES: u64 = 8;

impl Plan {
    /// The accounts the target selects now.
    pub fn evaluate(&self, index: &dyn Index) -> RoaringBitmap {
        Eval { index }.eval(&self.root).into_owned()
    }

    /// How many accounts the target selects now; builds no bitmap where the last step
    /// can be counted instead (e.g. `a and b` is one `intersection_len`).
    pub fn count(&self, index: &dyn Index) -> u64 {
        Eval { index }.count(&self.root)
    }
}

/// Evaluation over one index; `'a` is the lifetime of the borrowed index bitmaps.
struct Eval<'a> {
    index: &'a dyn Index,
}

/// A meet expected to hold at least this many accounts, sparsely, runs on two threads.
const PARALLEL_MIN: u64 = 128 * 1024;

/// Whether this machine has a second core to share an intersection with.
static TWO_CORES: LazyLock<bool> =
    LazyLock::new(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1));

/// Whether `a ∩ b` is worth two threads within a universe of `universe` accounts: its
/// expected size (as if independent) is large, yet sparse (under 1/16 of the accounts, the
/// density below which a container is an array). Building a large sparse result is
/// dominated by turning bitsets into arrays (at 10M accounts, ~1.6 ms for 220k accounts on
/// one core); a dense result is a cheap word-by-word AND that two threads would only slow.
fn worth_halves(a: &RoaringBitmap, b: &RoaringBitmap, universe: u64) -> bool {
    let expected = (u128::from(a.len()) * u128::from(b.len()) / u128::from(universe.max(1))) as u64;
    *TWO_CORES && expected >= PARALLEL_MIN && expected.saturating_mul(16) <= universe
}

/// `a ∩ b` with each half of the uid space on its own thread; the halves share no
/// container, so they join by moving.
fn halves(a: &RoaringBitmap, b: &RoaringBitmap) -> RoaringBitmap {
    let (Some(min), Some(max)) = (a.min(), a.max()) else {
        return RoaringBitmap::new();
    };
    // A container boundary, so no container is split.
    let mid = (min / 2 + max / 2) & !0xFFFF;
    std::thread::scope(|scope| {
        let high = scope.spawn(|| {
            let mut high = a.clone();
            high.remove_range(..mid);
            high &= b;
            high
        });
        let mut low = a.clone();
        low.remove_range(mid..);
        low &= b;
        low |= high.join().expect("the intersection thread does not panic");
        low
    })
}

/// `w ∩ b`, reusing `w` when it is already owned.
fn intersect<'b>(w: Cow<'b, RoaringBitmap>, b: &RoaringBitmap) -> Cow<'b, RoaringBitmap> {
    match w {
        Cow::Borrowed(a) => Cow::Owned(a & b),
        Cow::Owned(mut a) => {
            a &= b;
            Cow::Owned(a)
        }
    }
}

/// `w - b`, reusing `w` when it is already owned.
fn subtract<'b>(w: Cow<'b, RoaringBitmap>, b: &RoaringBitmap) -> Cow<'b, RoaringBitmap> {
    match w {
        Cow::Borrowed(a) => Cow::Owned(a - b),
        Cow::Owned(mut a) => {
            a -= b;
            Cow::Owned(a)
        }
    }
}

/// A numeric range of one slot, resolved against the index as it is now. When every
/// value of the slot is a number and the values outside the range hold fewer accounts,
/// the range is evaluated as `exists` minus those (`outside`), so `level >= 3` over
/// levels 0..99 visits three values instead of ninety-seven.
struct Span {
    slot: u8,
    /// The ranges whose values are visited: the range itself, or the pieces outside it.
    pieces: Vec<(Bound<f64>, Bound<f64>)>,
    /// Whether the visited values are the complement of the range within `exists`.
    outside: bool,
    /// What the visited bitmaps hold.
    tally: Tally,
}

/// Sizes of the bitmaps a range visits.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    /// How many bitmaps (values).
    values: u64,
    /// How many accounts they hold (values are disjoint, so this is their union's size).
    accounts: u64,
    /// How many of those accounts sit in sparse (array) containers.
    sparse: u64,
}

impl Tally {
    fn add(&mut self, b: &RoaringBitmap) {
        self.values += 1;
        self.accounts += b.len();
        self.sparse += u64::from(b.statistics().n_values_array_containers);
    }

    /// What is in `self` but not in `part` (a tally of some of the same bitmaps).
    fn minus(self, part: Tally) -> Tally {
        Tally {
            values: self.values.saturating_sub(part.values),
            accounts: self.accounts.saturating_sub(part.accounts),
            sparse: self.sparse.saturating_sub(part.sparse),
        }
    }
}

/// The ranges of the numbers outside `lo..hi`.
fn outside(lo: Bound<f64>, hi: Bound<f64>) -> Vec<(Bound<f64>, Bound<f64>)> {
    let below = match lo {
        Included(x) => Some((Unbounded, Excluded(x))),
        Excluded(x) => Some((Unbounded, Included(x))),
        Unbounded => None,
    };
    let above = match hi {
        Included(x) => Some((Excluded(x), Unbounded)),
        Excluded(x) => Some((Included(x), Unbounded)),
        Unbounded => None,
    };
    below.into_iter().chain(above).collect()
}

/// Whether to meet `w` with each visited bitmap rather than with their union: the arrays
/// of a sparse `w` are merged once per bitmap (values * |w| + accounts), the bitsets of a
/// dense one are only probed (accounts); building the union costs about 2 * accounts.
fn piecewise(w: &RoaringBitmap, tally: &Tally) -> bool {
    let sparse = u64::from(w.statistics().n_values_array_containers);
    tally.values.saturating_mul(sparse) <= tally.accounts + w.len()
}

/// [`piecewise`] when the pieces are to be kept: each `w ∩ b` is then a new bitmap to
/// union, which only pays while the bitmaps are mostly sparse (dense ones union
/// word by word, far cheaper than merging their intersections).
fn piecewise_kept(w: &RoaringBitmap, tally: &Tally) -> bool {
    2 * tally.sparse >= tally.accounts && piecewise(w, tally)
}

/// Evaluation order of AND operands: cheap lookups (smallest first) narrow the result
/// before anything is built; then differences with a plain set, which keep dense containers
/// dense and cost one pass over the running result (at 10M accounts, 0.2 ms), before the
/// operands that must be built and whose intersection usually turns the result sparse
/// (turning dense containers into arrays is the costly step of an AND: ~1.6 ms for 220k
/// accounts); complex differences last.
fn rank(node: &Node) -> u8 {
    match node {
        Node::Set(_) => 0,
        Node::Not(inner) if matches!(**inner, Node::Set(_)) => 1,
        Node::Or(_) | Node::And(_) => 2,
        Node::Range { .. } => 3,
        Node::Not(_) => 4,
    }
}

impl<'a> Eval<'a> {
    /// The bitmap of a set, borrowed from the index.
    fn set(&self, set: &Set) -> &'a RoaringBitmap {
        let found = match set {
            Set::All => Some(self.index.all()),
            Set::Empty => None,
            Set::Tag(tag) => self.index.tag(tag),
            Set::Eq { slot, value } => self.index.attr_eq(*slot, value),
            Set::Exists(slot) => self.index.attr_exists(*slot),
        };
        found.unwrap_or(&EMPTY)
    }

    /// `w ∩ b`: on two threads when the result is expected large and sparse
    /// ([`worth_halves`]), else in place when `w` is owned.
    fn meet<'b>(&self, w: Cow<'b, RoaringBitmap>, b: &RoaringBitmap) -> Cow<'b, RoaringBitmap> {
        if worth_halves(&w, b, self.index.all().len()) {
            Cow::Owned(halves(&w, b))
        } else {
            intersect(w, b)
        }
    }

    /// Whether `w` is small enough to push into an operand rather than build it whole.
    fn small(&self, w: &RoaringBitmap) -> bool {
        w.len().saturating_mul(SMALL_SHARE) <= self.index.all().len()
    }

    /// Tallies the bitmaps of the values of `slot` within `range`.
    fn tally(&self, slot: u8, range: (Bound<f64>, Bound<f64>)) -> Tally {
        let mut tally = Tally::default();
        self.index.attr_numeric(slot, range, &mut |b| tally.add(b));
        tally
    }

    /// Resolves a range node into the cheaper of its two forms ([`Span`]).
    fn span(&self, slot: u8, lo: Bound<f64>, hi: Bound<f64>) -> Span {
        let inside = self.tally(slot, (lo, hi));
        if inside.values <= FEW_VALUES {
            return Span {
                slot,
                pieces: vec![(lo, hi)],
                outside: false,
                tally: inside,
            };
        }
        let every = self.tally(slot, (Unbounded, Unbounded));
        let rest = every.minus(inside);
        if every.accounts != self.exists(slot).len() || rest.accounts >= inside.accounts {
            return Span {
                slot,
                pieces: vec![(lo, hi)],
                outside: false,
                tally: inside,
            };
        }
        Span {
            slot,
            pieces: outside(lo, hi),
            outside: true,
            tally: rest,
        }
    }

    fn exists(&self, slot: u8) -> &'a RoaringBitmap {
        self.set(&Set::Exists(slot))
    }

    /// Visits the bitmaps of a span's values.
    fn visit(&self, span: &Span, visit: &mut dyn FnMut(&RoaringBitmap)) {
        for piece in &span.pieces {
            self.index.attr_numeric(span.slot, *piece, visit);
        }
    }

    /// The union of a span's values.
    fn union(&self, span: &Span) -> RoaringBitmap {
        let mut union = RoaringBitmap::new();
        self.visit(span, &mut |b| union |= b);
        union
    }

    fn eval(&self, node: &Node) -> Cow<'a, RoaringBitmap> {
        match node {
            Node::Set(set) => Cow::Borrowed(self.set(set)),
            Node::Range { slot, lo, hi } => {
                let span = self.span(*slot, *lo, *hi);
                let union = self.union(&span);
                Cow::Owned(if span.outside {
                    self.exists(*slot) - &union
                } else {
                    union
                })
            }
            Node::Not(inner) => Cow::Owned(self.index.all() - self.eval(inner).as_ref()),
            Node::Or(items) => {
                let parts: Vec<_> = items.iter().map(|item| self.eval(item)).collect();
                Cow::Owned(parts.iter().map(AsRef::as_ref).union())
            }
            Node::And(items) => {
                let steps = self.order(items);
                let (w, rest) = self.start(&steps);
                self.narrow(w, &rest)
            }
        }
    }

    /// The operands of an AND in evaluation order ([`rank`], then size for lookups).
    fn order<'n>(&self, items: &'n [Node]) -> Vec<&'n Node> {
        let mut steps: Vec<&Node> = items.iter().collect();
        steps.sort_by_cached_key(|node| {
            let size = match node {
                Node::Set(set) => self.set(set).len(),
                _ => 0,
            };
            (rank(node), size)
        });
        steps
    }

    /// The running result an AND of ordered `steps` starts from (its first operand that is
    /// not a difference), and the steps left, in order.
    fn start<'s>(&self, steps: &[&'s Node]) -> (Cow<'a, RoaringBitmap>, Vec<&'s Node>) {
        match steps.iter().position(|s| !matches!(s, Node::Not(_))) {
            Some(first) => {
                let rest = steps[..first].iter().chain(&steps[first + 1..]);
                (self.eval(steps[first]), rest.copied().collect())
            }
            // Only differences (or nothing): they apply to the universe.
            None => (Cow::Borrowed(self.index.all()), steps.to_vec()),
        }
    }

    /// Applies each step to the running result `w`, stopping once it is empty.
    fn narrow<'b>(&self, mut w: Cow<'b, RoaringBitmap>, steps: &[&Node]) -> Cow<'b, RoaringBitmap>
    where
        'a: 'b,
    {
        for step in steps {
            if w.is_empty() {
                break;
            }
            w = self.restrict(step, w);
        }
        w
    }

    /// `w ∩ node`, with the work shrinking with `w` where `w` is small.
    fn restrict<'b>(&self, node: &Node, w: Cow<'b, RoaringBitmap>) -> Cow<'b, RoaringBitmap>
    where
        'a: 'b,
    {
        match node {
            Node::Set(set) => self.meet(w, self.set(set)),
            Node::Range { slot, lo, hi } => {
                let span = self.span(*slot, *lo, *hi);
                if span.outside {
                    let w = self.meet(w, self.exists(*slot));
                    if piecewise(&w, &span.tally) {
                        let mut w = w.into_owned();
                        self.visit(&span, &mut |b| w -= b);
                        Cow::Owned(w)
                    } else {
                        subtract(w, &self.union(&span))
                    }
                } else if piecewise_kept(&w, &span.tally) {
                    let mut union = RoaringBitmap::new();
                    self.visit(&span, &mut |b| union |= w.as_ref() & b);
                    Cow::Owned(union)
                } else {
                    self.meet(w, &self.union(&span))
                }
            }
            Node::Not(inner) => match inner.as_ref() {
                Node::Set(set) => subtract(w, self.set(set)),
                inner if self.small(&w) => {
                    let cut = self.restrict(inner, Cow::Borrowed(w.as_ref()));
                    Cow::Owned(w.as_ref() - cut.as_ref())
                }
                inner => subtract(w, &self.eval(inner)),
            },
            Node::Or(items) if self.small(&w) => {
                let parts: Vec<_> = items
                    .iter()
                    .map(|item| self.restrict(item, Cow::Borrowed(w.as_ref())))
                    .collect();
                Cow::Owned(parts.iter().map(AsRef::as_ref).union())
            }
            Node::And(items) => self.narrow(w, &self.order(items)),
            Node::Or(_) => self.meet(w, &self.eval(node)),
        }
    }

    fn count(&self, node: &Node) -> u64 {
        match node {
            Node::Set(set) => self.set(set).len(),
            Node::Range { slot, lo, hi } => {
                let span = self.span(*slot, *lo, *hi);
                if span.outside {
                    self.exists(*slot).len().saturating_sub(span.tally.accounts)
                } else {
                    span.tally.accounts
                }
            }
            // Every index set lies within the universe.
            Node::Not(inner) => self.index.all().len().saturating_sub(self.count(inner)),
            Node::Or(items) => match items.as_slice() {
                [Node::Set(a), Node::Set(b)] => self.set(a).union_len(self.set(b)),
                _ => self.eval(node).len(),
            },
            Node::And(items) => {
                // Build all but the last step; count the last one.
                let steps = self.order(items);
                let Some((last, init)) = steps.split_last() else {
                    return self.index.all().len();
                };
                let (w, rest) = self.start(init);
                self.count_within(last, &self.narrow(w, &rest))
            }
        }
    }

    /// `|w ∩ node|`, without building the intersection where a length suffices.
    fn count_within(&self, node: &Node, w: &RoaringBitmap) -> u64 {
        if w.is_empty() {
            return 0;
        }
        match node {
            Node::Set(set) => w.intersection_len(self.set(set)),
            Node::Range { slot, lo, hi } => {
                let span = self.span(*slot, *lo, *hi);
                let visited = if piecewise(w, &span.tally) {
                    let mut count = 0;
                    self.visit(&span, &mut |b| count += w.intersection_len(b));
                    count
                } else {
                    w.intersection_len(&self.union(&span))
                };
                if span.outside {
                    // The values outside lie within `exists`.
                    w.intersection_len(self.exists(*slot))
                        .saturating_sub(visited)
                } else {
                    visited
                }
            }
            Node::Not(inner) => w.len().saturating_sub(self.count_within(inner, w)),
            // A large `w`: build the union (dense stays dense) and count the meet without
            // building it (a sparse meet is the costly thing to build).
            Node::Or(_) if !self.small(w) => w.intersection_len(self.eval(node).as_ref()),
            Node::Or(_) | Node::And(_) => self.restrict(node, Cow::Borrowed(w)).len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::naive::sample;
    use super::super::{Limits, Target, compile};
    use super::*;

    #[test]
    fn halves_meet_like_one_thread() {
        let a: RoaringBitmap = (0..3_000_000u32).filter(|x| x % 3 != 0).collect();
        let b: RoaringBitmap = (500_000..2_900_000u32).filter(|x| x % 7 < 3).collect();
        assert_eq!(halves(&a, &b), &a & &b);
        assert_eq!(halves(&b, &a), &a & &b);
        assert_eq!(halves(&RoaringBitmap::new(), &b), RoaringBitmap::new());
        // Large and sparse: two threads; dense or small: one.
        assert!(worth_halves(&a, &b, 10_000_000) || !*TWO_CORES);
        assert!(!worth_halves(&a, &b, 3_000_000));
        assert!(!worth_halves(&b, &b, 100_000_000));
    }

    /// Evaluates a target on the sample directory, checking `count` agrees.
    fn run(target: Target) -> Vec<u32> {
        let index = sample();
        let plan = compile(&target, &index, &Limits::default()).unwrap();
        let set = plan.evaluate(&index);
        assert_eq!(plan.count(&index), set.len(), "{target:?}");
        set.into_iter().collect()
    }

    fn where_(src: &str) -> Vec<u32> {
        run(Target {
            where_: Some(src.into()),
            ..Target::default()
        })
    }

    fn strings(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|s| (*s).to_owned()).collect())
    }

    fn pairs(list: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            list.iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn leaves() {
        assert_eq!(where_("all"), [1, 2, 3, 4, 5, 6]);
        assert_eq!(where_(r#"tag("vip")"#), [1, 2]);
        assert_eq!(where_(r#"tag("nobody")"#), [0; 0]);
        assert_eq!(where_("exists(city)"), [1, 2, 4]);
    }

    #[test]
    fn equality_is_numeric_when_both_are_numbers() {
        assert_eq!(where_(r#"city = "Shenzhen""#), [1, 4]);
        assert_eq!(where_("level = 3"), [1, 2]);
        assert_eq!(where_(r#"level = "3""#), [1, 2]);
        assert_eq!(where_("level = 3.00"), [1, 2]);
        assert_eq!(where_(r#"level = "abc""#), [4]);
        assert_eq!(where_("level = 4"), [0; 0]);
    }

    #[test]
    fn inequality_needs_a_value() {
        assert_eq!(where_(r#"city != "Shenzhen""#), [2]);
        assert_eq!(where_(r#"not city = "Shenzhen""#), [2, 3, 5, 6]);
        assert_eq!(where_("level != 3"), [3, 4, 5]);
        assert_eq!(where_(r#"level != "abc""#), [1, 2, 3, 5]);
    }

    #[test]
    fn orderings_are_numeric_only() {
        assert_eq!(where_("level < 3"), [5]);
        assert_eq!(where_("level <= 3"), [1, 2, 5]);
        assert_eq!(where_("level > 3"), [3]);
        assert_eq!(where_("level >= 3"), [1, 2, 3]);
        assert_eq!(where_(r#"level >= "-2.5""#), [1, 2, 3, 5]);
        assert_eq!(where_(r#"level > "abc""#), [0; 0]);
        assert_eq!(where_(r#"city < "Z""#), [0; 0]);
    }

    #[test]
    fn membership() {
        assert_eq!(where_(r#"tier in ("gold", "platinum")"#), [1, 2, 5]);
        assert_eq!(where_("level in (3, 10)"), [1, 2, 3]);
        assert_eq!(where_(r#"level in ("abc", -2.5)"#), [4, 5]);
        assert_eq!(where_(r#"not tier in ("gold")"#), [2, 3, 4, 6]);
    }

    #[test]
    fn boolean_structure() {
        assert_eq!(where_(r#"all and not tag("muted")"#), [1, 2, 4, 6]);
        assert_eq!(where_(r#"not tag("vip") and not tag("muted")"#), [4, 6]);
        assert_eq!(where_(r#"not (tag("vip") or tag("muted"))"#), [4, 6]);
        assert_eq!(
            where_(r#"tag("vip") or tag("muted") and level > 5"#),
            [1, 2, 3]
        );
        assert_eq!(
            where_(r#"tag("stock A") and (city = "Shenzhen" or not tag("vip"))"#),
            [1, 5]
        );
        assert_eq!(
            where_(r#"tier in ("gold", "platinum") and exists(city)"#),
            [1, 2]
        );
        assert_eq!(
            where_(r#"exists(tier) and not (level >= 3 and not tag("vip"))"#),
            [1, 2, 5]
        );
        assert_eq!(where_(r#"level >= 0 and not tier = "gold""#), [2, 3]);
    }

    #[test]
    fn target_fields() {
        assert_eq!(run(Target::default()), [1, 2, 3, 4, 5, 6]);
        let t = |f: fn(&mut Target)| {
            let mut t = Target::default();
            f(&mut t);
            run(t)
        };
        assert_eq!(t(|t| t.tags_and = strings(&["vip", "stock A"])), [1]);
        assert_eq!(t(|t| t.tags_and = strings(&["vip", "nobody"])), [0; 0]);
        assert_eq!(
            t(|t| t.tags_or = strings(&["muted", "stock A", "nobody"])),
            [1, 3, 5]
        );
        assert_eq!(
            t(|t| t.attrs_and = pairs(&[("city", "Shenzhen"), ("tier", "gold")])),
            [1]
        );
        assert_eq!(
            t(|t| t.attrs_or = pairs(&[("tier", "silver"), ("level", "3")])),
            [1, 2, 3]
        );
        assert_eq!(
            t(|t| {
                t.tags_or = strings(&["vip", "muted"]);
                t.where_ = Some("level >= 3".into());
                t.attrs_or = pairs(&[("tier", "gold"), ("tier", "silver")]);
            }),
            [1, 3]
        );
    }

    #[test]
    fn wide_ranges_over_numbers_use_their_complement() {
        use super::super::naive::{Account, TestIndex};
        let accounts: Vec<Account> = (0..300)
            .map(|id| Account {
                id,
                tags: if id % 3 == 0 {
                    vec!["x".into()]
                } else {
                    vec![]
                },
                attrs: vec![(id % 7 != 0).then(|| (id % 20).to_string())],
            })
            .collect();
        let index = TestIndex::new(&[("score", 3)], &accounts);
        let eval = Eval { index: &index };
        assert!(eval.span(3, Included(3.0), Unbounded).outside);
        assert!(eval.span(3, Excluded(1.0), Excluded(18.0)).outside);
        assert!(!eval.span(3, Included(12.0), Unbounded).outside);
        assert!(eval.span(3, Unbounded, Included(11.0)).outside);
        assert!(!eval.span(3, Included(3.0), Included(3.0)).outside);
        for (src, test) in [
            ("score >= 3", (|s| s >= 3) as fn(u32) -> bool),
            ("score > 1 and score < 18", |s| s > 1 && s < 18),
            ("score <= 16", |s| s <= 16),
            ("score >= 10", |s| s >= 10),
            ("not score >= 2", |s| s < 2),
        ] {
            for tagged in [false, true] {
                let prefix = if tagged { r#"tag("x") and "# } else { "" };
                let target = Target {
                    where_: Some(format!("{prefix}{src}")),
                    ..Target::default()
                };
                let plan = compile(&target, &index, &Limits::default()).unwrap();
                let want: RoaringBitmap = accounts
                    .iter()
                    .filter(|a| !tagged || !a.tags.is_empty())
                    .filter(|a| match &a.attrs[0] {
                        Some(v) => test(v.parse().unwrap()),
                        None => src.starts_with("not"),
                    })
                    .map(|a| a.id)
                    .collect();
                assert_eq!(plan.evaluate(&index), want, "{prefix}{src}");
                assert_eq!(plan.count(&index), want.len(), "{prefix}{src}");
            }
        }
    }
}
