//! User tags: add, remove, remove all, read.

use super::{Directory, DirectoryError, validate};

/// One account and tags to add or remove.
#[derive(Debug, Clone)]
pub struct UserTags {
    /// The account id.
    pub account: String,
    /// The tags.
    pub tags: Vec<String>,
}

impl Directory {
    /// Adds tags to accounts (adding a held tag is a no-op). All or nothing.
    pub fn add_user_tags(&self, input: &[UserTags]) -> Result<usize, DirectoryError> {
        self.check_tags(input)?;
        let max = self.limits.tags_per_account;
        self.update_batch(
            input
                .iter()
                .enumerate()
                .map(|(i, u)| (format!("input[{i}].account"), u.account.as_str())),
            "input",
            |i, rec, tags| {
                for tag in &input[i].tags {
                    let n = tags.number(tag)?;
                    if let Err(at) = rec.tags.binary_search(&n) {
                        rec.tags.insert(at, n);
                    }
                }
                if rec.tags.len() > max {
                    return Err(DirectoryError::TooManyTags {
                        field: format!("input[{i}].tags"),
                        account: rec.id.clone(),
                        count: rec.tags.len(),
                        max,
                    });
                }
                Ok(())
            },
        )
    }

    /// Removes tags from accounts (removing a tag not held is a no-op). All or nothing.
    pub fn remove_user_tags(&self, input: &[UserTags]) -> Result<usize, DirectoryError> {
        self.check_tags(input)?;
        self.update_batch(
            input
                .iter()
                .enumerate()
                .map(|(i, u)| (format!("input[{i}].account"), u.account.as_str())),
            "input",
            |i, rec, tags| {
                for tag in &input[i].tags {
                    if let Some(n) = tags.existing(tag) {
                        rec.tags.retain(|&t| t != n);
                    }
                }
                Ok(())
            },
        )
    }

    /// Removes every tag of the accounts. All or nothing.
    pub fn remove_all_user_tags(&self, accounts: &[String]) -> Result<usize, DirectoryError> {
        self.update_batch(
            accounts
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("accounts[{i}]"), a.as_str())),
            "accounts",
            |_, rec, _| {
                rec.tags.clear();
                Ok(())
            },
        )
    }

    /// The tags of each account, in the order asked. An unknown account is `NotFound`.
    pub fn user_tags(&self, accounts: &[String]) -> Result<Vec<UserTags>, DirectoryError> {
        Ok(self
            .read_batch(accounts)?
            .into_iter()
            .map(|a| UserTags {
                account: a.id,
                tags: a.tags,
            })
            .collect())
    }

    fn check_tags(&self, input: &[UserTags]) -> Result<(), DirectoryError> {
        validate::batch("input", input.len(), &self.limits)?;
        for (i, u) in input.iter().enumerate() {
            for (j, tag) in u.tags.iter().enumerate() {
                validate::tag(|| format!("input[{i}].tags[{j}]"), tag, &self.limits)?;
            }
        }
        Ok(())
    }

    /// Reads a batch of accounts by id, failing on the first unknown one.
    pub(super) fn read_batch(
        &self,
        accounts: &[String],
    ) -> Result<Vec<super::Account>, DirectoryError> {
        validate::batch("accounts", accounts.len(), &self.limits)?;
        let records = self.store.read(|r| {
            let mut out = Vec::with_capacity(accounts.len());
            for (i, id) in accounts.iter().enumerate() {
                let found = match r.uid_of(id)? {
                    Some(uid) => r.account(uid)?.map(|rec| (uid, rec)),
                    None => None,
                };
                out.push(found.ok_or_else(|| DirectoryError::AccountNotFound {
                    field: format!("accounts[{i}]"),
                    account: id.clone(),
                })?);
            }
            Ok::<_, DirectoryError>(out)
        })?;
        Ok(records
            .into_iter()
            .map(|(uid, rec)| self.view(uid, rec))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{directory, import};
    use super::*;
    use crate::audience::Index;
    use crate::error::{Classify, Code};

    fn tags(account: &str, tags: &[&str]) -> UserTags {
        UserTags {
            account: account.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[test]
    fn add_remove_and_remove_all() {
        let (_t, d) = directory();
        import(&d, &["a", "b"]);
        d.add_user_tags(&[tags("a", &["x", "y"]), tags("b", &["y"])])
            .unwrap();
        d.add_user_tags(&[tags("a", &["x"])]).unwrap();
        assert_eq!(d.indexes().tag("y").unwrap().len(), 2);
        d.remove_user_tags(&[tags("a", &["y", "never-seen"])])
            .unwrap();
        let got = d.user_tags(&["a".into(), "b".into()]).unwrap();
        assert_eq!(got[0].tags, vec!["x"]);
        assert_eq!(got[1].tags, vec!["y"]);
        d.remove_all_user_tags(&["b".into()]).unwrap();
        assert!(d.indexes().tag("y").unwrap().is_empty());
        assert!(d.indexes_match_store().unwrap());
    }

    #[test]
    fn an_unknown_account_in_a_batch_applies_nothing() {
        let (_t, d) = directory();
        import(&d, &["a"]);
        let err = d
            .add_user_tags(&[tags("a", &["new"]), tags("ghost", &["new"])])
            .unwrap_err();
        let c = err.classify();
        assert_eq!(c.code, Code::NotFound);
        assert_eq!(c.field.as_deref(), Some("input[1].account"));
        assert!(d.user_tags(&["a".into()]).unwrap()[0].tags.is_empty());
        assert!(d.indexes().tag("new").is_none());
        assert!(d.indexes_match_store().unwrap());
    }

    #[test]
    fn the_101st_tag_is_refused() {
        let (_t, d) = directory();
        import(&d, &["a"]);
        let hundred: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
        d.add_user_tags(&[UserTags {
            account: "a".into(),
            tags: hundred,
        }])
        .unwrap();
        let err = d.add_user_tags(&[tags("a", &["t100"])]).unwrap_err();
        assert_eq!(err.classify().limit.as_deref(), Some("tagsPerAccount"));
        assert_eq!(d.user_tags(&["a".into()]).unwrap()[0].tags.len(), 100);
        // Re-adding a held tag at the limit is still fine.
        d.add_user_tags(&[tags("a", &["t5"])]).unwrap();
    }

    #[test]
    fn a_batch_over_the_limit_is_refused() {
        let (_t, d) = directory();
        let input: Vec<UserTags> = (0..1001).map(|i| tags(&format!("u{i}"), &["x"])).collect();
        let err = d.add_user_tags(&input).unwrap_err();
        assert_eq!(err.classify().limit.as_deref(), Some("batchAccounts"));
    }
}
