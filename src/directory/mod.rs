//! The directory: accounts (string id <-> dense uid), tags, attribute names and user
//! attributes, persisted in the store and mirrored in bitmap indexes for targeting.
//!
//! Every mutation is one store transaction; the indexes are updated only after it commits,
//! under the writer lock, so they always equal what the store holds.

mod accounts;
mod attributes;
mod devices;
mod error;
mod index;
mod numeric;
mod tags;
mod validate;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock, RwLockReadGuard};

pub use accounts::{Account, ImportOutcome, NewAccount};
pub use attributes::{UserAttributeNames, UserAttributes};
pub use devices::{Device, DeviceTarget, NewDevice};
pub use error::DirectoryError;
pub use index::{Indexes, SLOTS};
pub use tags::UserTags;

use crate::config::Limits;
use crate::store::{AccountRecord, Store, Write};

/// The directory of one app.
pub struct Directory {
    store: Arc<Store>,
    limits: Limits,
    /// The admin identity, which no account may take.
    admin: String,
    index: RwLock<Indexes>,
    /// Serializes writers so index updates apply in commit order.
    writer: Mutex<()>,
}

/// One account's change inside a batch: its uid, the record before and after.
struct Change {
    uid: u32,
    before: AccountRecord,
    after: AccountRecord,
}

/// What a batch transaction changed, applied to the indexes after commit.
#[derive(Default)]
struct Changes {
    accounts: Vec<Change>,
    by_uid: HashMap<u32, usize>,
    new_tags: Vec<(u32, String)>,
}

impl Directory {
    /// Opens the directory over `store`, rebuilding the indexes from it.
    pub fn open(store: Arc<Store>, limits: Limits, admin: &str) -> Result<Self, DirectoryError> {
        let index = Self::load_indexes(&store)?;
        Ok(Directory {
            store,
            limits,
            admin: admin.to_owned(),
            index: RwLock::new(index),
            writer: Mutex::new(()),
        })
    }

    /// Builds the indexes from what the store holds (at start, and to verify them in tests).
    pub fn load_indexes(store: &Store) -> Result<Indexes, DirectoryError> {
        store.read(|r| {
            let mut loader = index::Loader::default();
            for (number, tag) in r.tags()? {
                loader.define_tag(number, &tag);
            }
            for (slot, name) in r.attr_names()? {
                loader.set_slot_name(slot, &name);
            }
            r.for_each_account(|uid, view| loader.account(uid, &view))?;
            let mut ix = loader.finish();
            let mut holders = Vec::new();
            r.for_each_device(|uid, _| holders.push((uid, true)))?;
            ix.set_device_holders(&holders);
            Ok(ix)
        })
    }

    /// True when the in-memory indexes equal the ones rebuilt from the store.
    pub fn indexes_match_store(&self) -> Result<bool, DirectoryError> {
        let _w = self.writer.lock();
        Ok(Self::load_indexes(&self.store)? == *self.index.read())
    }

    /// Read access to the indexes (for targeting). Hold it briefly: writers wait for it.
    pub fn indexes(&self) -> RwLockReadGuard<'_, Indexes> {
        self.index.read()
    }

    /// The configured limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The store the directory lives in (shared with the push and delivery modules).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Runs a batch over existing accounts in one transaction: `f` edits each named account's
    /// record (an account named twice sees its earlier edits). All or nothing: an unknown
    /// account or an error from `f` changes nothing. Returns how many accounts changed.
    fn update_batch<'a>(
        &self,
        ids: impl ExactSizeIterator<Item = (String, &'a str)>,
        batch_field: &str,
        mut f: impl FnMut(
            usize,
            &mut AccountRecord,
            &mut TagWriter<'_, '_>,
        ) -> Result<(), DirectoryError>,
    ) -> Result<usize, DirectoryError> {
        validate::batch(batch_field, ids.len(), &self.limits)?;
        let _w = self.writer.lock();
        let changes = self.store.write(|w| {
            let ix = self.index.read();
            let mut changes = Changes::default();
            for (i, (field, id)) in ids.enumerate() {
                let uid = w
                    .uid_of(id)?
                    .ok_or_else(|| DirectoryError::AccountNotFound {
                        field,
                        account: id.to_owned(),
                    })?;
                let slot = match changes.by_uid.get(&uid) {
                    Some(&slot) => slot,
                    None => {
                        let before = w.account(uid)?.ok_or_else(|| {
                            crate::store::StoreError::Corrupt(format!("account {id} has no record"))
                        })?;
                        changes.accounts.push(Change {
                            uid,
                            after: before.clone(),
                            before,
                        });
                        changes.by_uid.insert(uid, changes.accounts.len() - 1);
                        changes.accounts.len() - 1
                    }
                };
                let mut tags = TagWriter {
                    w,
                    index: &ix,
                    new_tags: &mut changes.new_tags,
                };
                f(i, &mut changes.accounts[slot].after, &mut tags)?;
            }
            changes.accounts.retain(|c| c.before != c.after);
            for c in &changes.accounts {
                w.put_account(c.uid, &c.after)?;
            }
            Ok::<_, DirectoryError>(changes)
        })?;
        let mut ix = self.index.write();
        for (number, tag) in &changes.new_tags {
            ix.define_tag(*number, tag);
        }
        for c in &changes.accounts {
            ix.update_account(c.uid, &c.before, &c.after);
        }
        Ok(changes.accounts.len())
    }
}

/// Resolves tag texts to tag numbers inside a write, adding new ones to the dictionary.
struct TagWriter<'w, 't> {
    w: &'w mut Write<'t>,
    index: &'w Indexes,
    new_tags: &'w mut Vec<(u32, String)>,
}

impl TagWriter<'_, '_> {
    /// The number of `tag`, creating it when it is new.
    fn number(&mut self, tag: &str) -> Result<u32, DirectoryError> {
        if let Some(n) = self.index.tag_number(tag) {
            return Ok(n);
        }
        if let Some((n, _)) = self.new_tags.iter().find(|(_, t)| t == tag) {
            return Ok(*n);
        }
        let n = self.w.next_tag()?;
        self.w.put_tag(n, tag)?;
        self.new_tags.push((n, tag.to_owned()));
        Ok(n)
    }

    /// The number of `tag` if it exists (removing an unknown tag is a no-op).
    fn existing(&self, tag: &str) -> Option<u32> {
        self.index.tag_number(tag)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A directory on a temporary store, for unit tests of this module and its users.
    use super::*;

    /// A directory on a fresh temporary data dir (kept alive by the returned guard).
    pub(crate) fn directory() -> (tempfile::TempDir, Directory) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("herald.redb"), 1 << 20).unwrap());
        let d = Directory::open(store, Limits::default(), "administrator").unwrap();
        (dir, d)
    }

    /// Imports accounts by id.
    pub(crate) fn import(d: &Directory, ids: &[&str]) {
        let accounts: Vec<NewAccount> = ids
            .iter()
            .map(|id| NewAccount {
                id: (*id).to_owned(),
                nick: None,
            })
            .collect();
        d.import_accounts(&accounts).unwrap();
    }
}
