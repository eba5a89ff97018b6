//! The ordered index of an attribute slot's numeric values, for `<`, `<=`, `>`, `>=` and
//! numeric `=`.
//!
//! Each distinct number keeps its holders; on top of that, the number line is cut into
//! buckets of about [`BUCKET_VALUES`] neighbouring distinct values, each holding the union of
//! its values' holders. A range then visits whole buckets inside it and single values only
//! at its two ends: `level >= 50` over levels 0..99 touches ~12 bitmaps, not 50.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

use roaring::RoaringBitmap;

/// Distinct values per bucket when the buckets are (re)built.
const BUCKET_VALUES: usize = 8;

/// A finite f64 ordered totally; `-0` is folded into `0` so the order agrees with `==`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Num(f64);

impl Num {
    pub(super) fn new(n: f64) -> Num {
        Num(if n == 0.0 { 0.0 } else { n })
    }
}

impl Eq for Num {}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Numbers of one slot: holders per distinct value, and per bucket of neighbouring values.
#[derive(Debug, Clone)]
pub(super) struct NumericIndex {
    values: BTreeMap<Num, RoaringBitmap>,
    /// Lower bound (inclusive) -> holders of every value up to the next bound. The first
    /// bound is -inf, so every number has exactly one bucket.
    buckets: BTreeMap<Num, RoaringBitmap>,
    /// Distinct values when the buckets were cut; they are cut again when this drifts 2x.
    cut_at: usize,
}

impl Default for NumericIndex {
    fn default() -> Self {
        NumericIndex {
            values: BTreeMap::new(),
            buckets: BTreeMap::from([(Num(f64::NEG_INFINITY), RoaringBitmap::new())]),
            cut_at: 0,
        }
    }
}

/// Equal when they index the same holders; where the buckets were cut does not matter.
impl PartialEq for NumericIndex {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

impl NumericIndex {
    fn bucket_mut(&mut self, n: Num) -> &mut RoaringBitmap {
        self.buckets
            .range_mut(..=n)
            .next_back()
            .map(|(_, b)| b)
            .expect("the first bucket starts at -inf")
    }

    /// Adds a holder of `n`.
    pub(super) fn insert(&mut self, n: Num, uid: u32) {
        self.values.entry(n).or_default().insert(uid);
        self.bucket_mut(n).insert(uid);
        self.recut_if_drifted();
    }

    /// Adds the holders of `n` at once (building the index at start).
    pub(super) fn insert_many(&mut self, n: Num, holders: &RoaringBitmap) {
        *self.values.entry(n).or_default() |= holders;
    }

    /// Removes a holder of `n`.
    pub(super) fn remove(&mut self, n: Num, uid: u32) {
        if let Some(b) = self.values.get_mut(&n) {
            b.remove(uid);
            if b.is_empty() {
                self.values.remove(&n);
            }
        }
        self.bucket_mut(n).remove(uid);
        self.recut_if_drifted();
    }

    fn recut_if_drifted(&mut self) {
        let len = self.values.len();
        if len > 2 * self.cut_at + BUCKET_VALUES || len < self.cut_at / 2 {
            self.recut();
        }
    }

    /// Cuts the buckets anew: every [`BUCKET_VALUES`] distinct values.
    pub(super) fn recut(&mut self) {
        let mut buckets = BTreeMap::new();
        let mut bound = Num(f64::NEG_INFINITY);
        let mut holders = RoaringBitmap::new();
        for (i, (n, b)) in self.values.iter().enumerate() {
            if i > 0 && i % BUCKET_VALUES == 0 {
                buckets.insert(bound, std::mem::take(&mut holders));
                bound = *n;
            }
            holders |= b;
        }
        buckets.insert(bound, holders);
        self.buckets = buckets;
        self.cut_at = self.values.len();
    }

    /// Visits disjoint bitmaps whose union is the holders of the numbers within `range`.
    pub(super) fn visit(
        &self,
        range: (Bound<f64>, Bound<f64>),
        visit: &mut dyn FnMut(&RoaringBitmap),
    ) {
        let lo = map_bound(range.0);
        let hi = map_bound(range.1);
        if is_empty(&lo, &hi) {
            return;
        }
        let mut bounds = self.buckets.iter().peekable();
        while let Some((start, bucket)) = bounds.next() {
            // This bucket spans [start, end).
            let end = bounds.peek().map(|(n, _)| **n);
            let starts_inside = match &lo {
                Bound::Unbounded => true,
                Bound::Included(l) => start >= l,
                Bound::Excluded(l) => start > l,
            };
            let ends_inside = match (&hi, end) {
                (Bound::Unbounded, _) => true,
                (_, None) => false,
                // Every value of the bucket is below `end`, so `end <= hi` suffices.
                (Bound::Included(h), Some(e)) => e <= *h,
                (Bound::Excluded(h), Some(e)) => e <= *h,
            };
            if starts_inside && ends_inside {
                if !bucket.is_empty() {
                    visit(bucket);
                }
                continue;
            }
            // Partly inside: the values of the bucket that are within the range.
            let from = match &lo {
                Bound::Included(l) if l > start => Bound::Included(*l),
                Bound::Excluded(l) if l >= start => Bound::Excluded(*l),
                _ => Bound::Included(*start),
            };
            let to = match (hi, end) {
                (Bound::Unbounded, None) => Bound::Unbounded,
                (Bound::Unbounded, Some(e)) => Bound::Excluded(e),
                (Bound::Included(h), Some(e)) if e <= h => Bound::Excluded(e),
                (Bound::Excluded(h), Some(e)) if e < h => Bound::Excluded(e),
                (h, _) => h,
            };
            if is_empty(&from, &to) {
                continue;
            }
            for b in self.values.range((from, to)).map(|(_, b)| b) {
                visit(b);
            }
        }
    }
}

fn map_bound(b: Bound<f64>) -> Bound<Num> {
    match b {
        Bound::Included(x) => Bound::Included(Num::new(x)),
        Bound::Excluded(x) => Bound::Excluded(Num::new(x)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// True for a range that holds nothing (`BTreeMap::range` panics on an inverted one).
fn is_empty(lo: &Bound<Num>, hi: &Bound<Num>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn collect(ix: &NumericIndex, range: (Bound<f64>, Bound<f64>)) -> (RoaringBitmap, u64) {
        let mut all = RoaringBitmap::new();
        let mut sum = 0;
        ix.visit(range, &mut |b| {
            sum += b.len();
            all |= b;
        });
        (all, sum)
    }

    fn bound(kind: u8, x: f64) -> Bound<f64> {
        match kind % 3 {
            0 => Bound::Included(x),
            1 => Bound::Excluded(x),
            _ => Bound::Unbounded,
        }
    }

    proptest! {
        /// Whatever the cuts, a range visits exactly the holders of its numbers, each once.
        #[test]
        fn ranges_match_a_scan(
            values in proptest::collection::vec(-30i32..30, 1..300),
            removals in proptest::collection::vec(0usize..300, 0..50),
            lo in (0u8..3, -35i32..35),
            hi in (0u8..3, -35i32..35),
        ) {
            let mut ix = NumericIndex::default();
            let mut held: Vec<Option<f64>> = Vec::new();
            for (uid, v) in values.iter().enumerate() {
                let x = f64::from(*v) / 2.0;
                ix.insert(Num::new(x), uid as u32);
                held.push(Some(x));
            }
            for r in removals {
                if let Some(Some(x)) = held.get(r).copied() {
                    ix.remove(Num::new(x), r as u32);
                    held[r] = None;
                }
            }
            let range = (bound(lo.0, f64::from(lo.1) / 2.0), bound(hi.0, f64::from(hi.1) / 2.0));
            let want: RoaringBitmap = held
                .iter()
                .enumerate()
                .filter(|(_, x)| x.is_some_and(|x| std::ops::RangeBounds::contains(&range, &x)))
                .map(|(uid, _)| uid as u32)
                .collect();
            let (got, visited) = collect(&ix, range);
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(visited, want.len(), "bitmaps visited are disjoint");
        }
    }

    #[test]
    fn a_wide_range_visits_buckets_not_values() {
        let mut ix = NumericIndex::default();
        for uid in 0..10_000u32 {
            ix.insert(Num::new(f64::from(uid % 100)), uid);
        }
        let mut visits = 0;
        ix.visit((Bound::Included(50.0), Bound::Unbounded), &mut |_| {
            visits += 1
        });
        assert!(
            visits <= 2 * BUCKET_VALUES + 100 / BUCKET_VALUES,
            "{visits} visits"
        );
        let (got, _) = collect(&ix, (Bound::Included(50.0), Bound::Unbounded));
        assert_eq!(got.len(), 5_000);
    }
}
