//! The in-memory bitmap indexes over the directory: always equal to what the store holds.
//!
//! They are rebuilt from the store at start and updated after each committed write, so
//! targeting never touches the disk.

use std::collections::HashMap;
use std::ops::Bound;

use roaring::RoaringBitmap;

use super::numeric::{Num, NumericIndex};
use crate::store::{AccountRecord, AccountView};

/// Number of attribute slots of an app.
pub const SLOTS: usize = 10;

/// A value's number by the audience module's rule, as the key of the numeric index:
/// `-0` is folded into `0` so that the total order agrees with numeric equality.
fn as_number(value: &str) -> Option<Num> {
    crate::audience::number(value).map(Num::new)
}

/// The values of one attribute slot: exact values, numeric values in order, and holders.
#[derive(Debug, Default, Clone, PartialEq)]
struct SlotIndex {
    /// Value -> (holders, its number when it is one), so a value is parsed once.
    values: HashMap<Box<str>, (RoaringBitmap, Option<Num>)>,
    numeric: NumericIndex,
    any: RoaringBitmap,
}

impl SlotIndex {
    fn insert(&mut self, value: &str, uid: u32) {
        let number = match self.values.get_mut(value) {
            Some((holders, number)) => {
                holders.insert(uid);
                *number
            }
            None => {
                let number = as_number(value);
                self.values
                    .insert(value.into(), (RoaringBitmap::from_iter([uid]), number));
                number
            }
        };
        if let Some(n) = number {
            self.numeric.insert(n, uid);
        }
        self.any.insert(uid);
    }

    fn remove(&mut self, value: &str, uid: u32) {
        let Some((holders, number)) = self.values.get_mut(value) else {
            return;
        };
        holders.remove(uid);
        let number = *number;
        if holders.is_empty() {
            self.values.remove(value);
        }
        if let Some(n) = number {
            self.numeric.remove(n, uid);
        }
        self.any.remove(uid);
    }
}

/// Every bitmap index of the directory.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Indexes {
    all: RoaringBitmap,
    /// Tag number -> text (the dictionary, loaded from the store).
    tag_names: Vec<Box<str>>,
    tag_numbers: HashMap<Box<str>, u32>,
    /// Tag number -> holders.
    tags: Vec<RoaringBitmap>,
    slot_names: [Option<Box<str>>; SLOTS],
    slots: [SlotIndex; SLOTS],
    /// Accounts with at least one device.
    device_holders: RoaringBitmap,
}

impl Indexes {
    /// Every account.
    pub fn all(&self) -> &RoaringBitmap {
        &self.all
    }

    /// How many distinct tags at least one account holds.
    pub fn tags_in_use(&self) -> usize {
        self.tags.iter().filter(|b| !b.is_empty()).count()
    }

    /// The number of a tag, if it is in the dictionary.
    pub fn tag_number(&self, tag: &str) -> Option<u32> {
        self.tag_numbers.get(tag).copied()
    }

    /// The text of a tag number.
    pub fn tag_name(&self, number: u32) -> Option<&str> {
        self.tag_names.get(number as usize).map(|s| &**s)
    }

    /// The holders of a tag number.
    pub fn tag_holders(&self, number: u32) -> Option<&RoaringBitmap> {
        self.tags.get(number as usize)
    }

    /// The name of an attribute slot.
    pub fn slot_name(&self, slot: u8) -> Option<&str> {
        self.slot_names.get(slot as usize)?.as_deref()
    }

    /// The slot of an attribute name.
    pub fn slot_of(&self, name: &str) -> Option<u8> {
        self.slot_names
            .iter()
            .position(|n| n.as_deref() == Some(name))
            .map(|i| i as u8)
    }

    /// Accounts holding any value in a slot.
    pub fn slot_holders(&self, slot: u8) -> &RoaringBitmap {
        &self.slots[slot as usize].any
    }

    /// Accounts with at least one registered device.
    pub fn device_holders(&self) -> &RoaringBitmap {
        &self.device_holders
    }

    /// Records whether each account has devices.
    pub(crate) fn set_device_holders(&mut self, holders: &[(u32, bool)]) {
        for &(uid, has) in holders {
            if has {
                self.device_holders.insert(uid);
            } else {
                self.device_holders.remove(uid);
            }
        }
    }

    /// Records a tag dictionary entry (tag numbers are dense, handed out in order).
    pub(crate) fn define_tag(&mut self, number: u32, tag: &str) {
        let i = number as usize;
        if self.tag_names.len() <= i {
            self.tag_names.resize(i + 1, Box::from(""));
            self.tags.resize(i + 1, RoaringBitmap::new());
        }
        self.tag_names[i] = tag.into();
        self.tag_numbers.insert(tag.into(), number);
    }

    /// Names or clears a slot.
    pub(crate) fn set_slot_name(&mut self, slot: u8, name: Option<&str>) {
        self.slot_names[slot as usize] = name.map(Box::from);
    }

    /// Adds an account and everything it holds.
    pub(crate) fn insert_account(&mut self, uid: u32, rec: &AccountRecord) {
        self.all.insert(uid);
        for &tag in &rec.tags {
            self.add_tag(uid, tag);
        }
        for (slot, value) in &rec.attrs {
            self.slots[*slot as usize].insert(value, uid);
        }
    }

    /// Removes an account and everything it holds.
    pub(crate) fn remove_account(&mut self, uid: u32, rec: &AccountRecord) {
        self.all.remove(uid);
        self.device_holders.remove(uid);
        for &tag in &rec.tags {
            self.remove_tag(uid, tag);
        }
        for (slot, value) in &rec.attrs {
            self.slots[*slot as usize].remove(value, uid);
        }
    }

    /// Replaces what an account holds: `before` as it was, `after` as it is now.
    pub(crate) fn update_account(
        &mut self,
        uid: u32,
        before: &AccountRecord,
        after: &AccountRecord,
    ) {
        for &tag in &before.tags {
            if after.tags.binary_search(&tag).is_err() {
                self.remove_tag(uid, tag);
            }
        }
        for &tag in &after.tags {
            if before.tags.binary_search(&tag).is_err() {
                self.add_tag(uid, tag);
            }
        }
        for (slot, value) in &before.attrs {
            if !after.attrs.iter().any(|(s, v)| s == slot && v == value) {
                self.slots[*slot as usize].remove(value, uid);
            }
        }
        for (slot, value) in &after.attrs {
            if !before.attrs.iter().any(|(s, v)| s == slot && v == value) {
                self.slots[*slot as usize].insert(value, uid);
            }
        }
    }

    fn add_tag(&mut self, uid: u32, tag: u32) {
        if let Some(b) = self.tags.get_mut(tag as usize) {
            b.insert(uid);
        }
    }

    fn remove_tag(&mut self, uid: u32, tag: u32) {
        if let Some(b) = self.tags.get_mut(tag as usize) {
            b.remove(uid);
        }
    }
}

/// Builds [`Indexes`] from accounts given in ascending uid order (the store's scan order):
/// it gathers sorted uid lists and makes each bitmap once, far cheaper than inserting one
/// uid at a time.
#[derive(Default)]
pub(crate) struct Loader {
    ix: Indexes,
    all: Vec<u32>,
    tags: Vec<Vec<u32>>,
    values: [HashMap<Box<str>, Vec<u32>>; SLOTS],
}

impl Loader {
    /// Records a tag dictionary entry.
    pub(crate) fn define_tag(&mut self, number: u32, tag: &str) {
        self.ix.define_tag(number, tag);
    }

    /// Names a slot.
    pub(crate) fn set_slot_name(&mut self, slot: u8, name: &str) {
        self.ix.set_slot_name(slot, Some(name));
    }

    /// Adds an account; uids must come in ascending order.
    pub(crate) fn account(&mut self, uid: u32, view: &AccountView<'_>) {
        self.all.push(uid);
        for &tag in &view.tags {
            let i = tag as usize;
            if self.tags.len() <= i {
                self.tags.resize_with(i + 1, Vec::new);
            }
            self.tags[i].push(uid);
        }
        for &(slot, value) in &view.attrs {
            let Some(values) = self.values.get_mut(slot as usize) else {
                continue;
            };
            match values.get_mut(value) {
                Some(uids) => uids.push(uid),
                None => {
                    values.insert(value.into(), vec![uid]);
                }
            }
        }
    }

    /// The finished indexes.
    pub(crate) fn finish(self) -> Indexes {
        let sorted = |uids: Vec<u32>| {
            RoaringBitmap::from_sorted_iter(uids).expect("the store scans accounts in uid order")
        };
        let mut ix = self.ix;
        ix.all = sorted(self.all);
        for (number, uids) in self.tags.into_iter().enumerate() {
            if let Some(bitmap) = ix.tags.get_mut(number) {
                *bitmap = sorted(uids);
            }
        }
        for (slot, values) in ix.slots.iter_mut().zip(self.values) {
            for (value, uids) in values {
                let holders = sorted(uids);
                let number = as_number(&value);
                if let Some(n) = number {
                    slot.numeric.insert_many(n, &holders);
                }
                slot.any |= &holders;
                slot.values.insert(value, (holders, number));
            }
            slot.numeric.recut();
        }
        ix
    }
}

impl crate::audience::Index for Indexes {
    fn all(&self) -> &RoaringBitmap {
        &self.all
    }

    fn tag(&self, tag: &str) -> Option<&RoaringBitmap> {
        self.tag_holders(self.tag_number(tag)?)
    }

    fn slot(&self, name: &str) -> Option<u8> {
        self.slot_of(name)
    }

    fn attr_eq(&self, slot: u8, value: &str) -> Option<&RoaringBitmap> {
        self.slots
            .get(slot as usize)?
            .values
            .get(value)
            .map(|(b, _)| b)
    }

    fn attr_exists(&self, slot: u8) -> Option<&RoaringBitmap> {
        self.slots.get(slot as usize).map(|s| &s.any)
    }

    fn attr_numeric(
        &self,
        slot: u8,
        range: (Bound<f64>, Bound<f64>),
        visit: &mut dyn FnMut(&RoaringBitmap),
    ) {
        if let Some(index) = self.slots.get(slot as usize) {
            index.numeric.visit(range, visit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::Index;

    fn rec(tags: &[u32], attrs: &[(u8, &str)]) -> AccountRecord {
        AccountRecord {
            tags: tags.to_vec(),
            attrs: attrs.iter().map(|(s, v)| (*s, (*v).to_owned())).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn update_moves_only_what_changed() {
        let mut ix = Indexes::default();
        ix.define_tag(0, "a");
        ix.define_tag(1, "b");
        let before = rec(&[0], &[(2, "7")]);
        ix.insert_account(5, &before);
        let after = rec(&[1], &[(2, "8")]);
        ix.update_account(5, &before, &after);
        assert!(ix.tag("a").unwrap().is_empty());
        assert!(ix.tag("b").unwrap().contains(5));
        assert!(ix.attr_eq(2, "7").is_none());
        assert!(ix.attr_eq(2, "8").unwrap().contains(5));
        let mut seen = RoaringBitmap::new();
        ix.attr_numeric(2, (Bound::Included(8.0), Bound::Unbounded), &mut |b| {
            seen |= b
        });
        assert!(seen.contains(5));
    }

    #[test]
    fn numeric_ranges_never_panic_when_inverted() {
        let mut ix = Indexes::default();
        ix.insert_account(1, &rec(&[], &[(0, "3")]));
        let mut hits = 0;
        ix.attr_numeric(0, (Bound::Excluded(3.0), Bound::Excluded(3.0)), &mut |_| {
            hits += 1
        });
        ix.attr_numeric(0, (Bound::Included(5.0), Bound::Included(1.0)), &mut |_| {
            hits += 1
        });
        assert_eq!(hits, 0);
    }

    #[test]
    fn negative_zero_is_zero() {
        let mut ix = Indexes::default();
        ix.insert_account(1, &rec(&[], &[(0, "-0")]));
        let mut hits = 0;
        ix.attr_numeric(0, (Bound::Included(0.0), Bound::Included(0.0)), &mut |_| {
            hits += 1
        });
        assert_eq!(hits, 1);
        assert_eq!(as_number("inf"), None);
    }
}
