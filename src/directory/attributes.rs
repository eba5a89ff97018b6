//! Attribute names (the app's slots 0..9) and user attribute values.

use super::{Directory, DirectoryError, SLOTS, validate};
use crate::store::AccountRecord;

/// One account and attribute values to set.
#[derive(Debug, Clone)]
pub struct UserAttributes {
    /// The account id.
    pub account: String,
    /// (attribute name, value) pairs.
    pub attributes: Vec<(String, String)>,
}

/// One account and attribute names to remove.
#[derive(Debug, Clone)]
pub struct UserAttributeNames {
    /// The account id.
    pub account: String,
    /// Attribute names.
    pub names: Vec<String>,
}

fn set_attr(rec: &mut AccountRecord, slot: u8, value: Option<&str>) {
    match rec.attrs.binary_search_by_key(&slot, |(s, _)| *s) {
        Ok(at) => match value {
            Some(v) => v.clone_into(&mut rec.attrs[at].1),
            None => {
                rec.attrs.remove(at);
            }
        },
        Err(at) => {
            if let Some(v) = value {
                rec.attrs.insert(at, (slot, v.to_owned()));
            }
        }
    }
}

impl Directory {
    /// The app's attribute names as (slot, name), by slot.
    pub fn attribute_names(&self) -> Vec<(u8, String)> {
        let ix = self.index.read();
        (0..SLOTS as u8)
            .filter_map(|s| Some((s, ix.slot_name(s)?.to_owned())))
            .collect()
    }

    /// Names slots, merging with the current names (a renamed slot keeps its values).
    /// Names are 1..50 bytes and unique among slots.
    pub fn set_attribute_names(
        &self,
        names: &[(i64, String)],
    ) -> Result<Vec<(u8, String)>, DirectoryError> {
        let mut slots = Vec::with_capacity(names.len());
        for (i, (slot, name)) in names.iter().enumerate() {
            let slot = validate::slot(|| format!("names[{i}].slot"), *slot)?;
            validate::text(
                || format!("names[{i}].name"),
                name,
                "attributeNameBytes",
                self.limits.attribute_name_bytes,
            )?;
            if let Some(j) = names[..i]
                .iter()
                .position(|(s, n)| n == name && *s != i64::from(slot))
            {
                return Err(DirectoryError::DuplicateAttributeName {
                    field: format!("names[{i}].name"),
                    name: format!("{name} (also names[{j}])"),
                });
            }
            slots.push(slot);
        }
        let _w = self.writer.lock();
        let mut merged: [Option<String>; SLOTS] = Default::default();
        for (slot, name) in self.attribute_names() {
            merged[slot as usize] = Some(name);
        }
        for (slot, (_, name)) in slots.iter().zip(names) {
            merged[*slot as usize] = Some(name.clone());
        }
        for (i, (slot, (_, name))) in slots.iter().zip(names).enumerate() {
            let holder = (0..SLOTS as u8)
                .find(|s| s != slot && merged[*s as usize].as_deref() == Some(name.as_str()));
            if let Some(other) = holder {
                return Err(DirectoryError::AttributeNameTaken {
                    field: format!("names[{i}].name"),
                    name: name.clone(),
                    slot: other,
                });
            }
        }
        self.store.write(|w| {
            for (slot, (_, name)) in slots.iter().zip(names) {
                w.put_attr_name(*slot, name)?;
            }
            Ok::<_, DirectoryError>(())
        })?;
        let mut ix = self.index.write();
        for (slot, (_, name)) in slots.iter().zip(names) {
            ix.set_slot_name(*slot, Some(name));
        }
        drop(ix);
        Ok(self.attribute_names())
    }

    /// Clears slots: their names and every account's value in them. One transaction.
    pub fn remove_attribute_names(
        &self,
        slots: &[i64],
    ) -> Result<Vec<(u8, String)>, DirectoryError> {
        let slots = slots
            .iter()
            .enumerate()
            .map(|(i, s)| validate::slot(|| format!("slots[{i}]"), *s))
            .collect::<Result<Vec<u8>, _>>()?;
        let _w = self.writer.lock();
        let mut holders = roaring::RoaringBitmap::new();
        {
            let ix = self.index.read();
            for &slot in &slots {
                holders |= ix.slot_holders(slot);
            }
        }
        let changes = self.store.write(|w| {
            let mut changes = Vec::new();
            for &slot in &slots {
                w.delete_attr_name(slot)?;
            }
            for uid in &holders {
                if let Some(before) = w.account(uid)? {
                    let mut after = before.clone();
                    after.attrs.retain(|(s, _)| !slots.contains(s));
                    w.put_account(uid, &after)?;
                    changes.push((uid, before, after));
                }
            }
            Ok::<_, DirectoryError>(changes)
        })?;
        let mut ix = self.index.write();
        for &slot in &slots {
            ix.set_slot_name(slot, None);
        }
        for (uid, before, after) in &changes {
            ix.update_account(*uid, before, after);
        }
        drop(ix);
        Ok(self.attribute_names())
    }

    /// Sets attribute values of accounts, merging with their other values. All or nothing.
    pub fn set_user_attributes(&self, input: &[UserAttributes]) -> Result<usize, DirectoryError> {
        validate::batch("input", input.len(), &self.limits)?;
        let mut resolved = Vec::with_capacity(input.len());
        for (i, u) in input.iter().enumerate() {
            let mut pairs = Vec::with_capacity(u.attributes.len());
            for (j, (name, value)) in u.attributes.iter().enumerate() {
                let slot = self.slot_of(|| format!("input[{i}].attributes[{j}].name"), name)?;
                validate::text(
                    || format!("input[{i}].attributes[{j}].value"),
                    value,
                    "attributeValueBytes",
                    self.limits.attribute_value_bytes,
                )?;
                pairs.push((slot, value.as_str()));
            }
            resolved.push(pairs);
        }
        self.update_batch(
            input
                .iter()
                .enumerate()
                .map(|(i, u)| (format!("input[{i}].account"), u.account.as_str())),
            "input",
            |i, rec, _| {
                for (slot, value) in &resolved[i] {
                    set_attr(rec, *slot, Some(value));
                }
                Ok(())
            },
        )
    }

    /// Removes attribute values of accounts by name. All or nothing.
    pub fn remove_user_attributes(
        &self,
        input: &[UserAttributeNames],
    ) -> Result<usize, DirectoryError> {
        validate::batch("input", input.len(), &self.limits)?;
        let resolved = input
            .iter()
            .enumerate()
            .map(|(i, u)| {
                u.names
                    .iter()
                    .enumerate()
                    .map(|(j, name)| self.slot_of(|| format!("input[{i}].names[{j}]"), name))
                    .collect::<Result<Vec<u8>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.update_batch(
            input
                .iter()
                .enumerate()
                .map(|(i, u)| (format!("input[{i}].account"), u.account.as_str())),
            "input",
            |i, rec, _| {
                for slot in &resolved[i] {
                    set_attr(rec, *slot, None);
                }
                Ok(())
            },
        )
    }

    /// The attributes of each account, in the order asked.
    pub fn user_attributes(
        &self,
        accounts: &[String],
    ) -> Result<Vec<UserAttributes>, DirectoryError> {
        Ok(self
            .read_batch(accounts)?
            .into_iter()
            .map(|a| UserAttributes {
                account: a.id,
                attributes: a.attributes,
            })
            .collect())
    }

    fn slot_of(&self, field: impl Fn() -> String, name: &str) -> Result<u8, DirectoryError> {
        validate::text(
            &field,
            name,
            "attributeNameBytes",
            self.limits.attribute_name_bytes,
        )?;
        self.index
            .read()
            .slot_of(name)
            .ok_or_else(|| DirectoryError::UnknownAttribute {
                field: field(),
                name: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{directory, import};
    use super::*;
    use crate::audience::Index;
    use crate::error::{Classify, Code};

    fn attrs(account: &str, pairs: &[(&str, &str)]) -> UserAttributes {
        UserAttributes {
            account: account.into(),
            attributes: pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn names(d: &Directory, pairs: &[(i64, &str)]) -> Result<Vec<(u8, String)>, DirectoryError> {
        let owned: Vec<(i64, String)> = pairs.iter().map(|(s, n)| (*s, (*n).to_owned())).collect();
        d.set_attribute_names(&owned)
    }

    #[test]
    fn names_merge_by_slot_and_stay_unique() {
        let (_t, d) = directory();
        names(&d, &[(0, "city"), (1, "tier")]).unwrap();
        let all = names(&d, &[(2, "level")]).unwrap();
        assert_eq!(all.len(), 3);
        let err = names(&d, &[(3, "city")]).unwrap_err();
        assert_eq!(err.classify().code, Code::Conflict);
        let err = names(&d, &[(3, "x"), (4, "x")]).unwrap_err();
        assert_eq!(err.classify().code, Code::InvalidArgument);
        assert_eq!(err.classify().field.as_deref(), Some("names[1].name"));
        let err = names(&d, &[(10, "x")]).unwrap_err();
        assert_eq!(err.classify().field.as_deref(), Some("names[0].slot"));
        // Swapping two names in one call is fine: the final names are unique.
        names(&d, &[(0, "tier"), (1, "city")]).unwrap();
        assert_eq!(d.attribute_names()[0], (0, "tier".to_owned()));
    }

    #[test]
    fn values_merge_and_remove() {
        let (_t, d) = directory();
        import(&d, &["a"]);
        names(&d, &[(0, "city"), (1, "level")]).unwrap();
        d.set_user_attributes(&[attrs("a", &[("city", "Shenzhen")])])
            .unwrap();
        d.set_user_attributes(&[attrs("a", &[("level", "3")])])
            .unwrap();
        let got = d.user_attributes(&["a".into()]).unwrap();
        assert_eq!(got[0].attributes.len(), 2);
        d.remove_user_attributes(&[UserAttributeNames {
            account: "a".into(),
            names: vec!["city".into()],
        }])
        .unwrap();
        assert!(d.indexes().attr_eq(0, "Shenzhen").is_none());
        assert!(d.indexes_match_store().unwrap());
    }

    #[test]
    fn an_unknown_name_or_long_value_changes_nothing() {
        let (_t, d) = directory();
        import(&d, &["a"]);
        names(&d, &[(0, "city")]).unwrap();
        let err = d
            .set_user_attributes(&[attrs("a", &[("city", "X"), ("planet", "Mars")])])
            .unwrap_err();
        assert_eq!(err.classify().code, Code::InvalidArgument);
        assert_eq!(
            err.classify().field.as_deref(),
            Some("input[0].attributes[1].name")
        );
        let long = "v".repeat(51);
        let err = d
            .set_user_attributes(&[attrs("a", &[("city", &long)])])
            .unwrap_err();
        assert_eq!(err.classify().limit.as_deref(), Some("attributeValueBytes"));
        assert!(
            d.user_attributes(&["a".into()]).unwrap()[0]
                .attributes
                .is_empty()
        );
    }

    #[test]
    fn removing_a_name_clears_every_value() {
        let (_t, d) = directory();
        import(&d, &["a", "b"]);
        names(&d, &[(0, "city"), (1, "tier")]).unwrap();
        d.set_user_attributes(&[
            attrs("a", &[("city", "X"), ("tier", "gold")]),
            attrs("b", &[("city", "Y")]),
        ])
        .unwrap();
        let left = d.remove_attribute_names(&[0]).unwrap();
        assert_eq!(left, vec![(1, "tier".to_owned())]);
        assert!(d.indexes().attr_exists(0).unwrap().is_empty());
        let got = d.user_attributes(&["a".into(), "b".into()]).unwrap();
        assert_eq!(
            got[0].attributes,
            vec![("tier".to_owned(), "gold".to_owned())]
        );
        assert!(got[1].attributes.is_empty());
        assert!(d.indexes_match_store().unwrap());
    }
}
