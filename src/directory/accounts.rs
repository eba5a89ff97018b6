//! Accounts: import (idempotent), login, delete, read and list.

use std::collections::HashSet;

use super::{Directory, DirectoryError, validate};
use crate::store::AccountRecord;

/// An account to import.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The caller's account id.
    pub id: String,
    /// Optional display name; `None` keeps the current one on re-import.
    pub nick: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Accounts that did not exist before.
    pub created: usize,
    /// Accounts that existed (their tags and attributes are kept).
    pub existing: usize,
}

/// An account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Dense internal number, never reused.
    pub uid: u32,
    /// The caller's account id.
    pub id: String,
    /// Display name.
    pub nick: Option<String>,
    /// Unix seconds of the first import or login.
    pub created_at: u64,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// (attribute name, value), by slot.
    pub attributes: Vec<(String, String)>,
}

impl Directory {
    /// Imports accounts; existing ones keep their tags and attributes (and their nick unless
    /// a new one is given). One transaction.
    pub fn import_accounts(
        &self,
        accounts: &[NewAccount],
    ) -> Result<ImportOutcome, DirectoryError> {
        validate::batch("accounts", accounts.len(), &self.limits)?;
        for (i, a) in accounts.iter().enumerate() {
            self.check_account(&format!("accounts[{i}]"), a)?;
        }
        let _w = self.writer.lock();
        let (outcome, created) = self.store.write(|w| {
            let mut outcome = ImportOutcome {
                created: 0,
                existing: 0,
            };
            let mut created = Vec::new();
            for a in accounts {
                match w.uid_of(&a.id)? {
                    Some(uid) => {
                        outcome.existing += 1;
                        if a.nick.is_some() {
                            let mut rec = w.account(uid)?.unwrap_or_default();
                            if rec.nick != a.nick {
                                rec.nick.clone_from(&a.nick);
                                w.put_account(uid, &rec)?;
                            }
                        }
                    }
                    None => {
                        outcome.created += 1;
                        let uid = w.next_uid()?;
                        let rec = AccountRecord {
                            id: a.id.clone(),
                            nick: a.nick.clone(),
                            created_at: crate::time::now_secs(),
                            ..Default::default()
                        };
                        w.put_account(uid, &rec)?;
                        created.push(uid);
                    }
                }
            }
            Ok::<_, DirectoryError>((outcome, created))
        })?;
        let mut ix = self.index.write();
        for uid in created {
            ix.insert_account(uid, &AccountRecord::default());
        }
        Ok(outcome)
    }

    /// Makes an account exist, as a client login does; returns its uid.
    pub fn ensure_account(&self, id: &str) -> Result<u32, DirectoryError> {
        if let Some(uid) = self.uid_of(id)? {
            return Ok(uid);
        }
        self.import_accounts(&[NewAccount {
            id: id.to_owned(),
            nick: None,
        }])?;
        self.uid_of(id)?
            .ok_or_else(|| DirectoryError::AccountNotFound {
                field: "account".into(),
                account: id.to_owned(),
            })
    }

    /// Deletes accounts with their tags and attributes. Unknown ids fail the whole batch.
    /// Returns the uids deleted, so other modules can drop their per-account state.
    pub fn delete_accounts(&self, ids: &[String]) -> Result<Vec<u32>, DirectoryError> {
        validate::batch("ids", ids.len(), &self.limits)?;
        let _w = self.writer.lock();
        let removed = self.store.write(|w| {
            let mut seen = HashSet::new();
            let mut removed = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                if !seen.insert(id.as_str()) {
                    continue;
                }
                let uid = w
                    .uid_of(id)?
                    .ok_or_else(|| DirectoryError::AccountNotFound {
                        field: format!("ids[{i}]"),
                        account: id.clone(),
                    })?;
                let rec = w.account(uid)?.unwrap_or_default();
                w.delete_account(uid, id)?;
                removed.push((uid, rec));
            }
            Ok::<_, DirectoryError>(removed)
        })?;
        let mut ix = self.index.write();
        for (uid, rec) in &removed {
            ix.remove_account(*uid, rec);
        }
        Ok(removed.into_iter().map(|(uid, _)| uid).collect())
    }

    /// The uid of an account id.
    pub fn uid_of(&self, id: &str) -> Result<Option<u32>, DirectoryError> {
        Ok(self.store.read(|r| r.uid_of(id))?)
    }

    /// One account, or `None`.
    pub fn account(&self, id: &str) -> Result<Option<Account>, DirectoryError> {
        let mut found = self.accounts_by_id(std::slice::from_ref(&id))?;
        Ok(found.pop().flatten())
    }

    /// The accounts with these ids, in the order asked, `None` for an id never imported;
    /// read from one snapshot.
    pub fn accounts_by_id(
        &self,
        ids: &[impl AsRef<str>],
    ) -> Result<Vec<Option<Account>>, DirectoryError> {
        let found = self.store.read(|r| {
            ids.iter()
                .map(|id| match r.uid_of(id.as_ref())? {
                    Some(uid) => Ok(r.account(uid)?.map(|rec| (uid, rec))),
                    None => Ok::<_, DirectoryError>(None),
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(found
            .into_iter()
            .map(|f| f.map(|(uid, rec)| self.view(uid, rec)))
            .collect())
    }

    /// Up to `first` accounts after the uid `after`, in uid (import) order.
    pub fn accounts(
        &self,
        after: Option<u32>,
        first: usize,
    ) -> Result<Vec<Account>, DirectoryError> {
        let page = self.store.read(|r| r.accounts_after(after, first))?;
        Ok(page
            .into_iter()
            .map(|(uid, rec)| self.view(uid, rec))
            .collect())
    }

    /// How many accounts exist.
    pub fn account_count(&self) -> u64 {
        self.index.read().all().len()
    }

    /// Resolves an account's tag numbers and attribute slots to names.
    pub(super) fn view(&self, uid: u32, rec: AccountRecord) -> Account {
        let ix = self.index.read();
        let mut tags: Vec<String> = rec
            .tags
            .iter()
            .filter_map(|&n| ix.tag_name(n).map(str::to_owned))
            .collect();
        tags.sort();
        let attributes = rec
            .attrs
            .into_iter()
            .filter_map(|(slot, value)| Some((ix.slot_name(slot)?.to_owned(), value)))
            .collect();
        Account {
            uid,
            id: rec.id,
            nick: rec.nick,
            created_at: rec.created_at,
            tags,
            attributes,
        }
    }

    /// An id a new account may take.
    /// Checks one account to import (id and nick) without importing it; `field` names it in
    /// the error (e.g. `accounts[3]`). Callers that import what passes and report the rest
    /// (the vendor's partial import) use it to sort a batch.
    pub fn check_account(&self, field: &str, account: &NewAccount) -> Result<(), DirectoryError> {
        self.check_new_id(|| format!("{field}.id"), &account.id)?;
        if let Some(nick) = &account.nick {
            validate::text(
                || format!("{field}.nick"),
                nick,
                "nickBytes",
                self.limits.nick_bytes,
            )?;
        }
        Ok(())
    }

    fn check_new_id(&self, field: impl Fn() -> String, id: &str) -> Result<(), DirectoryError> {
        validate::account_id(&field, id, &self.limits)?;
        if id == self.admin {
            return Err(DirectoryError::Reserved {
                field: field(),
                id: id.to_owned(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{directory, import};
    use super::*;
    use crate::error::{Classify, Code};

    #[test]
    fn import_is_idempotent_and_keeps_nick() {
        let (_t, d) = directory();
        let a = NewAccount {
            id: "alice".into(),
            nick: Some("Alice".into()),
        };
        let first = d.import_accounts(std::slice::from_ref(&a)).unwrap();
        assert_eq!((first.created, first.existing), (1, 0));
        let again = d
            .import_accounts(&[NewAccount {
                id: "alice".into(),
                nick: None,
            }])
            .unwrap();
        assert_eq!((again.created, again.existing), (0, 1));
        let alice = d.account("alice").unwrap().unwrap();
        assert_eq!(alice.nick.as_deref(), Some("Alice"));
        assert_eq!(d.account_count(), 1);
        assert!(d.indexes_match_store().unwrap());
    }

    #[test]
    fn bad_ids_change_nothing() {
        let (_t, d) = directory();
        for (bad, code) in [
            ("", Code::InvalidArgument),
            (&"x".repeat(33)[..], Code::LimitExceeded),
            ("administrator", Code::InvalidArgument),
        ] {
            let batch = [
                NewAccount {
                    id: "ok".into(),
                    nick: None,
                },
                NewAccount {
                    id: bad.into(),
                    nick: None,
                },
            ];
            let err = d.import_accounts(&batch).unwrap_err();
            assert_eq!(err.classify().code, code, "{bad:?}");
            assert_eq!(err.classify().field.as_deref(), Some("accounts[1].id"));
        }
        assert_eq!(d.account_count(), 0);
    }

    #[test]
    fn uids_are_never_reused_after_delete() {
        let (_t, d) = directory();
        import(&d, &["a", "b"]);
        let removed = d.delete_accounts(&["a".into(), "a".into()]).unwrap();
        assert_eq!(removed.len(), 1);
        import(&d, &["a"]);
        assert_eq!(d.account("a").unwrap().unwrap().uid, 2);
        assert!(d.indexes_match_store().unwrap());
    }

    #[test]
    fn delete_of_an_unknown_account_deletes_nothing() {
        let (_t, d) = directory();
        import(&d, &["a"]);
        let err = d
            .delete_accounts(&["a".into(), "ghost".into()])
            .unwrap_err();
        assert_eq!(err.classify().code, Code::NotFound);
        assert!(err.to_string().contains("ghost"));
        assert_eq!(d.account_count(), 1);
    }

    #[test]
    fn login_creates_the_account_once() {
        let (_t, d) = directory();
        let uid = d.ensure_account("bob").unwrap();
        assert_eq!(d.ensure_account("bob").unwrap(), uid);
        assert_eq!(d.account_count(), 1);
    }
}
