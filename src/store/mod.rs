//! The embedded store (redb). The only module that knows redb: everything else reads and
//! writes through [`Store::read`] and [`Store::write`], one write transaction per API call.

mod records;
mod tables;

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

pub use records::{AccountRecord, AccountView, DeviceRecord};
use records::{decode, encode};
use tables::{
    ACCOUNT_IDS, ACCOUNTS, ATTR_NAMES, AUDIENCES, CURSORS, DEVICE_OWNERS, DEVICES, META,
    NOTIFY_PENDING, PUSH_KEYS, PUSHES, SCHEMA_VERSION, TAGS, meta,
};

use crate::error::{Classified, Classify, Code};

/// Errors of the store. All are faults of the server or its disk, never of a caller.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb reported an error (I/O, corruption it detected, ...).
    #[error("store: {0}")]
    Db(#[from] redb::Error),
    /// A record could not be decoded.
    #[error("store: corrupt record: {0}")]
    Corrupt(String),
    /// The data dir was written by a newer Herald.
    #[error(
        "the data dir has schema version {found}, newer than this Herald's {supported}: run the newer Herald, or restore a backup made by this version"
    )]
    NewerSchema {
        /// Version found on disk.
        found: u64,
        /// Version this build supports.
        supported: u64,
    },
}

impl Classify for StoreError {
    fn classify(&self) -> Classified {
        Classified::new(Code::Internal)
    }
}

fn db_err(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Db(e.into())
}

/// The opened database.
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (or creates) the store file at `path` with a page cache of `cache_bytes`,
    /// creates missing tables and checks the schema version.
    pub fn open(path: &Path, cache_bytes: usize) -> Result<Store, StoreError> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(db_err)?;
        let store = Store { db };
        store.write(|w| {
            match w.meta_get(meta::SCHEMA_VERSION)? {
                None => w.meta_set(meta::SCHEMA_VERSION, SCHEMA_VERSION)?,
                Some(found) if found > SCHEMA_VERSION => {
                    return Err(StoreError::NewerSchema {
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                Some(_) => {}
            }
            Ok(())
        })?;
        Ok(store)
    }

    /// Runs `f` in one write transaction: committed durably when `f` returns `Ok`,
    /// rolled back (nothing changed) when it returns `Err`.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Write<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let result = {
            let mut w = Write {
                meta: txn.open_table(META).map_err(db_err)?,
                accounts: txn.open_table(ACCOUNTS).map_err(db_err)?,
                account_ids: txn.open_table(ACCOUNT_IDS).map_err(db_err)?,
                tags: txn.open_table(TAGS).map_err(db_err)?,
                attr_names: txn.open_table(ATTR_NAMES).map_err(db_err)?,
                pushes: txn.open_table(PUSHES).map_err(db_err)?,
                cursors: txn.open_table(CURSORS).map_err(db_err)?,
                devices: txn.open_table(DEVICES).map_err(db_err)?,
                device_owners: txn.open_table(DEVICE_OWNERS).map_err(db_err)?,
                audiences: txn.open_table(AUDIENCES).map_err(db_err)?,
                push_keys: txn.open_table(PUSH_KEYS).map_err(db_err)?,
                notify_pending: txn.open_table(NOTIFY_PENDING).map_err(db_err)?,
            };
            f(&mut w)
        };
        match result {
            Ok(value) => {
                txn.commit().map_err(db_err)?;
                Ok(value)
            }
            Err(e) => {
                txn.abort().map_err(db_err)?;
                Err(e)
            }
        }
    }

    /// Runs `f` over a consistent read snapshot.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Read) -> Result<T, E>,
    ) -> Result<T, E> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let r = Read {
            meta: txn.open_table(META).map_err(db_err)?,
            accounts: txn.open_table(ACCOUNTS).map_err(db_err)?,
            account_ids: txn.open_table(ACCOUNT_IDS).map_err(db_err)?,
            tags: txn.open_table(TAGS).map_err(db_err)?,
            attr_names: txn.open_table(ATTR_NAMES).map_err(db_err)?,
            pushes: txn.open_table(PUSHES).map_err(db_err)?,
            cursors: txn.open_table(CURSORS).map_err(db_err)?,
            devices: txn.open_table(DEVICES).map_err(db_err)?,
            device_owners: txn.open_table(DEVICE_OWNERS).map_err(db_err)?,
            audiences: txn.open_table(AUDIENCES).map_err(db_err)?,
            push_keys: txn.open_table(PUSH_KEYS).map_err(db_err)?,
            notify_pending: txn.open_table(NOTIFY_PENDING).map_err(db_err)?,
        };
        f(&r)
    }
}

/// Read access shared by [`Read`] and [`Write`], written once over redb's readable tables.
macro_rules! readers {
    () => {
        /// A named counter of the meta table.
        pub fn meta_get(&self, key: &str) -> Result<Option<u64>, StoreError> {
            Ok(self.meta.get(key).map_err(db_err)?.map(|v| v.value()))
        }

        /// The account with this uid.
        pub fn account(&self, uid: u32) -> Result<Option<AccountRecord>, StoreError> {
            match self.accounts.get(uid).map_err(db_err)? {
                Some(v) => decode(v.value()).map(Some),
                None => Ok(None),
            }
        }

        /// The uid of the account with this id.
        pub fn uid_of(&self, id: &str) -> Result<Option<u32>, StoreError> {
            Ok(self.account_ids.get(id).map_err(db_err)?.map(|v| v.value()))
        }

        /// How many accounts exist.
        pub fn account_count(&self) -> Result<u64, StoreError> {
            self.accounts.len().map_err(db_err)
        }

        /// Up to `limit` accounts with a uid above `after`, in uid order.
        pub fn accounts_after(
            &self,
            after: Option<u32>,
            limit: usize,
        ) -> Result<Vec<(u32, AccountRecord)>, StoreError> {
            let start = after.map_or(Some(0), |a| a.checked_add(1));
            let Some(start) = start else {
                return Ok(Vec::new());
            };
            let mut out = Vec::with_capacity(limit.min(1024));
            for entry in self.accounts.range(start..).map_err(db_err)?.take(limit) {
                let (k, v) = entry.map_err(db_err)?;
                out.push((k.value(), decode(v.value())?));
            }
            Ok(out)
        }

        /// Calls `f` for every account in uid order (used to rebuild indexes at start).
        pub fn for_each_account(
            &self,
            mut f: impl FnMut(u32, AccountView<'_>),
        ) -> Result<(), StoreError> {
            for entry in self.accounts.iter().map_err(db_err)? {
                let (k, v) = entry.map_err(db_err)?;
                f(k.value(), decode(v.value())?);
            }
            Ok(())
        }

        /// The whole tag dictionary as (number, text).
        pub fn tags(&self) -> Result<Vec<(u32, String)>, StoreError> {
            let mut out = Vec::new();
            for entry in self.tags.iter().map_err(db_err)? {
                let (k, v) = entry.map_err(db_err)?;
                out.push((k.value(), v.value().to_owned()));
            }
            Ok(out)
        }

        /// The push with this sequence number, decoded as `T`.
        pub fn push<T: serde::de::DeserializeOwned>(
            &self,
            seq: u64,
        ) -> Result<Option<T>, StoreError> {
            match self.pushes.get(seq).map_err(db_err)? {
                Some(v) => decode(v.value()).map(Some),
                None => Ok(None),
            }
        }

        /// Up to `limit` pushes with a sequence number below `before`, newest first.
        pub fn pushes_before<T: serde::de::DeserializeOwned>(
            &self,
            before: u64,
            mut keep: impl FnMut(&T) -> bool,
            limit: usize,
        ) -> Result<Vec<T>, StoreError> {
            let mut out = Vec::new();
            for entry in self.pushes.range(..before).map_err(db_err)?.rev() {
                if out.len() == limit {
                    break;
                }
                let (_, v) = entry.map_err(db_err)?;
                let push: T = decode(v.value())?;
                if keep(&push) {
                    out.push(push);
                }
            }
            Ok(out)
        }

        /// Calls `f` for every push with a stored audience (the live ones), oldest first.
        pub fn for_each_audience(
            &self,
            mut f: impl FnMut(u64, &[u8]) -> Result<(), StoreError>,
        ) -> Result<(), StoreError> {
            for entry in self.audiences.iter().map_err(db_err)? {
                let (k, v) = entry.map_err(db_err)?;
                f(k.value(), v.value())?;
            }
            Ok(())
        }

        /// Pushes whose mobile notifications have not finished, oldest first.
        pub fn pending_notifications(&self) -> Result<Vec<u64>, StoreError> {
            let mut seqs = Vec::new();
            for entry in self.notify_pending.iter().map_err(db_err)? {
                seqs.push(entry.map_err(db_err)?.0.value());
            }
            Ok(seqs)
        }

        /// The highest push sequence number handed out (0 before the first push).
        pub fn last_seq(&self) -> Result<u64, StoreError> {
            Ok(self.meta_get(meta::NEXT_SEQ)?.map_or(0, |next| next - 1))
        }

        /// An account's acknowledged inbox cursor (0 when it never acknowledged).
        pub fn cursor(&self, uid: u32) -> Result<u64, StoreError> {
            Ok(self
                .cursors
                .get(uid)
                .map_err(db_err)?
                .map_or(0, |v| v.value()))
        }

        /// The devices of an account as (token, record), by token.
        pub fn devices_of(&self, uid: u32) -> Result<Vec<(String, DeviceRecord)>, StoreError> {
            let mut out = Vec::new();
            for entry in self.devices.range((uid, "")..).map_err(db_err)? {
                let (k, v) = entry.map_err(db_err)?;
                let (owner, token) = k.value();
                if owner != uid {
                    break;
                }
                out.push((token.to_owned(), decode(v.value())?));
            }
            Ok(out)
        }

        /// The account holding a device token.
        pub fn device_owner(&self, token: &str) -> Result<Option<u32>, StoreError> {
            Ok(self
                .device_owners
                .get(token)
                .map_err(db_err)?
                .map(|v| v.value()))
        }

        /// Calls `f` for every device as (uid, platform), in uid order.
        pub fn for_each_device(&self, mut f: impl FnMut(u32, &str)) -> Result<(), StoreError> {
            for entry in self.devices.iter().map_err(db_err)? {
                let (k, v) = entry.map_err(db_err)?;
                let record: DeviceRecord = decode(v.value())?;
                f(k.value().0, &record.platform);
            }
            Ok(())
        }

        /// The push sequence number recorded for an idempotency key.
        pub fn push_key(&self, key: &str) -> Result<Option<u64>, StoreError> {
            Ok(self.push_keys.get(key).map_err(db_err)?.map(|v| v.value()))
        }

        /// The app's attribute names as (slot, name).
        pub fn attr_names(&self) -> Result<Vec<(u8, String)>, StoreError> {
            let mut out = Vec::new();
            for entry in self.attr_names.iter().map_err(db_err)? {
                let (k, v) = entry.map_err(db_err)?;
                out.push((k.value(), v.value().to_owned()));
            }
            Ok(out)
        }
    };
}

/// A read snapshot; see [`Store::read`].
pub struct Read {
    devices: redb::ReadOnlyTable<(u32, &'static str), &'static [u8]>,
    device_owners: redb::ReadOnlyTable<&'static str, u32>,
    cursors: redb::ReadOnlyTable<u32, u64>,
    pushes: redb::ReadOnlyTable<u64, &'static [u8]>,
    audiences: redb::ReadOnlyTable<u64, &'static [u8]>,
    notify_pending: redb::ReadOnlyTable<u64, ()>,
    push_keys: redb::ReadOnlyTable<&'static str, u64>,
    meta: redb::ReadOnlyTable<&'static str, u64>,
    accounts: redb::ReadOnlyTable<u32, &'static [u8]>,
    account_ids: redb::ReadOnlyTable<&'static str, u32>,
    tags: redb::ReadOnlyTable<u32, &'static str>,
    attr_names: redb::ReadOnlyTable<u8, &'static str>,
}

impl Read {
    readers!();
}

/// An open write transaction; see [`Store::write`].
pub struct Write<'t> {
    devices: redb::Table<'t, (u32, &'static str), &'static [u8]>,
    device_owners: redb::Table<'t, &'static str, u32>,
    cursors: redb::Table<'t, u32, u64>,
    pushes: redb::Table<'t, u64, &'static [u8]>,
    audiences: redb::Table<'t, u64, &'static [u8]>,
    notify_pending: redb::Table<'t, u64, ()>,
    push_keys: redb::Table<'t, &'static str, u64>,
    meta: redb::Table<'t, &'static str, u64>,
    accounts: redb::Table<'t, u32, &'static [u8]>,
    account_ids: redb::Table<'t, &'static str, u32>,
    tags: redb::Table<'t, u32, &'static str>,
    attr_names: redb::Table<'t, u8, &'static str>,
}

impl Write<'_> {
    readers!();

    /// Sets a named counter of the meta table.
    pub fn meta_set(&mut self, key: &str, value: u64) -> Result<(), StoreError> {
        self.meta.insert(key, value).map_err(db_err)?;
        Ok(())
    }

    /// Hands out the next account uid (never reused, even after a delete).
    pub fn next_uid(&mut self) -> Result<u32, StoreError> {
        self.next_counter(meta::NEXT_UID)
    }

    /// Hands out the next tag number.
    pub fn next_tag(&mut self) -> Result<u32, StoreError> {
        self.next_counter(meta::NEXT_TAG)
    }

    fn next_counter(&mut self, key: &str) -> Result<u32, StoreError> {
        let next = self.meta_get(key)?.unwrap_or(0);
        let value = u32::try_from(next)
            .map_err(|_| StoreError::Corrupt(format!("counter {key} overflowed u32")))?;
        self.meta_set(key, next + 1)?;
        Ok(value)
    }

    /// Writes an account record and its id mapping.
    pub fn put_account(&mut self, uid: u32, rec: &AccountRecord) -> Result<(), StoreError> {
        self.accounts
            .insert(uid, encode(rec)?.as_slice())
            .map_err(db_err)?;
        self.account_ids
            .insert(rec.id.as_str(), uid)
            .map_err(db_err)?;
        Ok(())
    }

    /// Deletes an account record, its id mapping, its inbox cursor and its devices.
    pub fn delete_account(&mut self, uid: u32, id: &str) -> Result<(), StoreError> {
        self.accounts.remove(uid).map_err(db_err)?;
        self.account_ids.remove(id).map_err(db_err)?;
        self.cursors.remove(uid).map_err(db_err)?;
        for (token, _) in self.devices_of(uid)? {
            self.delete_device(uid, &token)?;
        }
        Ok(())
    }

    /// Registers a device for an account (and records the token's owner).
    pub fn put_device(
        &mut self,
        uid: u32,
        token: &str,
        device: &DeviceRecord,
    ) -> Result<(), StoreError> {
        self.devices
            .insert((uid, token), encode(device)?.as_slice())
            .map_err(db_err)?;
        self.device_owners.insert(token, uid).map_err(db_err)?;
        Ok(())
    }

    /// Removes a device of an account; false when it was not registered.
    pub fn delete_device(&mut self, uid: u32, token: &str) -> Result<bool, StoreError> {
        let existed = self.devices.remove((uid, token)).map_err(db_err)?.is_some();
        if existed {
            self.device_owners.remove(token).map_err(db_err)?;
        }
        Ok(existed)
    }

    /// Sets an account's acknowledged inbox cursor.
    pub fn put_cursor(&mut self, uid: u32, seq: u64) -> Result<(), StoreError> {
        self.cursors.insert(uid, seq).map_err(db_err)?;
        Ok(())
    }

    /// Adds an entry to the tag dictionary.
    pub fn put_tag(&mut self, number: u32, tag: &str) -> Result<(), StoreError> {
        self.tags.insert(number, tag).map_err(db_err)?;
        Ok(())
    }

    /// Names an attribute slot.
    pub fn put_attr_name(&mut self, slot: u8, name: &str) -> Result<(), StoreError> {
        self.attr_names.insert(slot, name).map_err(db_err)?;
        Ok(())
    }

    /// Hands out the next push sequence number (1, 2, ...; never reused).
    pub fn next_seq(&mut self) -> Result<u64, StoreError> {
        let next = self.meta_get(meta::NEXT_SEQ)?.unwrap_or(1);
        self.meta_set(meta::NEXT_SEQ, next + 1)?;
        Ok(next)
    }

    /// Writes a push record.
    pub fn put_push<T: serde::Serialize>(&mut self, seq: u64, push: &T) -> Result<(), StoreError> {
        self.pushes
            .insert(seq, encode(push)?.as_slice())
            .map_err(db_err)?;
        Ok(())
    }

    /// Writes the audience snapshot of a push (a serialized bitmap).
    pub fn put_audience(&mut self, seq: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.audiences.insert(seq, bytes).map_err(db_err)?;
        Ok(())
    }

    /// Drops the audience snapshot of a retired push.
    pub fn delete_audience(&mut self, seq: u64) -> Result<(), StoreError> {
        self.audiences.remove(seq).map_err(db_err)?;
        Ok(())
    }

    /// Marks a push's mobile notifications as not finished.
    pub fn put_pending_notification(&mut self, seq: u64) -> Result<(), StoreError> {
        self.notify_pending.insert(seq, ()).map_err(db_err)?;
        Ok(())
    }

    /// Marks a push's mobile notifications as finished (or no longer wanted); false when
    /// it was not marked.
    pub fn delete_pending_notification(&mut self, seq: u64) -> Result<bool, StoreError> {
        Ok(self.notify_pending.remove(seq).map_err(db_err)?.is_some())
    }

    /// Records an idempotency key.
    pub fn put_push_key(&mut self, key: &str, seq: u64) -> Result<(), StoreError> {
        self.push_keys.insert(key, seq).map_err(db_err)?;
        Ok(())
    }

    /// Forgets an idempotency key.
    pub fn delete_push_key(&mut self, key: &str) -> Result<(), StoreError> {
        self.push_keys.remove(key).map_err(db_err)?;
        Ok(())
    }

    /// Clears an attribute slot's name.
    pub fn delete_attr_name(&mut self, slot: u8) -> Result<(), StoreError> {
        self.attr_names.remove(slot).map_err(db_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("herald.redb"), 1 << 20).unwrap();
        (dir, store)
    }

    #[test]
    fn a_failed_write_changes_nothing() {
        let (_dir, store) = open();
        let res: Result<(), StoreError> = store.write(|w| {
            w.put_account(0, &AccountRecord::default())?;
            Err(StoreError::Corrupt("caller gave up".into()))
        });
        assert!(res.is_err());
        let count = store.read(|r| r.account_count()).unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn counters_are_never_reused() {
        let (_dir, store) = open();
        let a = store.write(|w| w.next_uid()).unwrap();
        let b = store.write(|w| w.next_uid()).unwrap();
        assert_eq!((a, b), (0, 1));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.redb");
        let store = Store::open(&path, 1 << 20).unwrap();
        store
            .write(|w| w.meta_set(meta::SCHEMA_VERSION, SCHEMA_VERSION + 1))
            .unwrap();
        drop(store);
        let err = Store::open(&path, 1 << 20).err().unwrap();
        assert!(matches!(err, StoreError::NewerSchema { .. }), "{err}");
        assert!(err.to_string().contains("newer than this Herald"));
    }

    #[test]
    fn accounts_after_pages_in_uid_order() {
        let (_dir, store) = open();
        store
            .write(|w| {
                for uid in 0..5u32 {
                    let rec = AccountRecord {
                        id: format!("u{uid}"),
                        ..Default::default()
                    };
                    w.put_account(uid, &rec)?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let page = store.read(|r| r.accounts_after(Some(1), 2)).unwrap();
        let uids: Vec<u32> = page.iter().map(|(uid, _)| *uid).collect();
        assert_eq!(uids, vec![2, 3]);
        assert_eq!(store.read(|r| r.uid_of("u4")).unwrap(), Some(4));
    }
}
