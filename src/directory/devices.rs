//! Devices: the push tokens of an account's phones, by platform, for mobile notifications.

use roaring::RoaringBitmap;

use super::{Directory, DirectoryError, validate};
use crate::store::DeviceRecord;

/// A device as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The push token the platform's service gave the app.
    pub token: String,
    /// `ios`, `android`, or another platform a loaded transport serves.
    pub platform: String,
    /// A transport chosen by name instead of the platform's default.
    pub transport: Option<String>,
    /// Unix seconds of the last registration.
    pub registered_at: u64,
}

/// A device to register.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// The account id.
    pub account: String,
    /// The platform.
    pub platform: String,
    /// The push token.
    pub token: String,
    /// An optional transport name.
    pub transport: Option<String>,
}

/// A device to notify: its account and token, and which transport serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTarget {
    /// The account uid.
    pub uid: u32,
    /// The account id.
    pub account: String,
    /// The push token.
    pub token: String,
    /// The platform.
    pub platform: String,
    /// A transport chosen by name, if any.
    pub transport: Option<String>,
}

/// A platform or transport name: 1..32 bytes of `a-z`, `0-9`, `_`, `-`.
fn name(field: &str, value: &str) -> Result<(), DirectoryError> {
    validate::text(|| field.to_owned(), value, "platformBytes", 32)?;
    if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(DirectoryError::BadName {
            field: field.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(())
}

impl Directory {
    /// Registers a device (again: updates it). A token held by another account moves to
    /// this one, as when a phone changes user.
    pub fn register_device(&self, d: &NewDevice) -> Result<Device, DirectoryError> {
        name("input.platform", &d.platform)?;
        if let Some(t) = &d.transport {
            name("input.transport", t)?;
        }
        validate::text(
            || "input.token".into(),
            &d.token,
            "deviceTokenBytes",
            self.limits.device_token_bytes,
        )?;
        let max = self.limits.devices_per_account;
        let record = DeviceRecord {
            platform: d.platform.clone(),
            transport: d.transport.clone(),
            registered_at: crate::time::now_secs(),
        };
        let _w = self.writer.lock();
        let touched = self.store.write(|w| {
            let uid = w
                .uid_of(&d.account)?
                .ok_or_else(|| DirectoryError::AccountNotFound {
                    field: "input.account".into(),
                    account: d.account.clone(),
                })?;
            let mut touched = vec![uid];
            if let Some(owner) = w.device_owner(&d.token)?
                && owner != uid
            {
                w.delete_device(owner, &d.token)?;
                touched.push(owner);
            }
            let held = w.devices_of(uid)?;
            if held.len() >= max && !held.iter().any(|(t, _)| *t == d.token) {
                return Err(DirectoryError::TooManyDevices {
                    account: d.account.clone(),
                    max,
                });
            }
            w.put_device(uid, &d.token, &record)?;
            let holders: Vec<(u32, bool)> = touched
                .iter()
                .map(|&u| Ok((u, !w.devices_of(u)?.is_empty())))
                .collect::<Result<_, DirectoryError>>()?;
            Ok::<_, DirectoryError>(holders)
        })?;
        self.index.write().set_device_holders(&touched);
        Ok(Device {
            token: d.token.clone(),
            platform: record.platform,
            transport: record.transport,
            registered_at: record.registered_at,
        })
    }

    /// Removes a device of an account; `NOT_FOUND` when the account has no such token.
    pub fn unregister_device(&self, account: &str, token: &str) -> Result<(), DirectoryError> {
        let uid = self
            .uid_of(account)?
            .ok_or_else(|| DirectoryError::AccountNotFound {
                field: "input.account".into(),
                account: account.to_owned(),
            })?;
        if !self.remove_device(uid, token)? {
            return Err(DirectoryError::DeviceNotFound {
                account: account.to_owned(),
            });
        }
        Ok(())
    }

    /// Removes a device by account uid (a token a push service called dead); false when
    /// it was not registered.
    pub fn remove_device(&self, uid: u32, token: &str) -> Result<bool, DirectoryError> {
        let _w = self.writer.lock();
        let (removed, has_more) = self.store.write(|w| {
            let removed = w.delete_device(uid, token)?;
            Ok::<_, DirectoryError>((removed, !w.devices_of(uid)?.is_empty()))
        })?;
        if removed {
            self.index.write().set_device_holders(&[(uid, has_more)]);
        }
        Ok(removed)
    }

    /// The devices of an account, by token.
    pub fn devices(&self, account: &str) -> Result<Vec<Device>, DirectoryError> {
        let devices = self.store.read(|r| match r.uid_of(account)? {
            Some(uid) => r.devices_of(uid),
            None => Ok(Vec::new()),
        })?;
        Ok(devices
            .into_iter()
            .map(|(token, d)| Device {
                token,
                platform: d.platform,
                transport: d.transport,
                registered_at: d.registered_at,
            })
            .collect())
    }

    /// The devices of the accounts in `uids` that have any (one read snapshot).
    pub fn device_targets(
        &self,
        uids: &RoaringBitmap,
    ) -> Result<Vec<DeviceTarget>, DirectoryError> {
        let with_devices = uids & self.index.read().device_holders();
        self.store.read(|r| {
            let mut out = Vec::new();
            for uid in &with_devices {
                let Some(account) = r.account(uid)? else {
                    continue;
                };
                for (token, d) in r.devices_of(uid)? {
                    out.push(DeviceTarget {
                        uid,
                        account: account.id.clone(),
                        token,
                        platform: d.platform,
                        transport: d.transport,
                    });
                }
            }
            Ok::<_, DirectoryError>(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{directory, import};
    use super::*;
    use crate::error::{Classify, Code};

    fn device(account: &str, token: &str) -> NewDevice {
        NewDevice {
            account: account.into(),
            platform: "ios".into(),
            token: token.into(),
            transport: None,
        }
    }

    #[test]
    fn register_move_and_remove() {
        let (_t, d) = directory();
        import(&d, &["a", "b"]);
        d.register_device(&device("a", "tok1")).unwrap();
        d.register_device(&device("a", "tok1")).unwrap();
        assert_eq!(
            d.devices("a").unwrap().len(),
            1,
            "registering again updates"
        );
        d.register_device(&device("b", "tok1")).unwrap();
        assert!(d.devices("a").unwrap().is_empty(), "the token moved to b");
        let all = RoaringBitmap::from_iter([0u32, 1]);
        let targets = d.device_targets(&all).unwrap();
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].account, "b");
        let err = d.unregister_device("a", "tok1").unwrap_err();
        assert_eq!(err.classify().code, Code::NotFound);
        d.unregister_device("b", "tok1").unwrap();
        assert!(d.device_targets(&all).unwrap().is_empty());
        assert!(d.indexes_match_store().unwrap());
    }

    #[test]
    fn limits_and_bad_names() {
        let (_t, d) = directory();
        import(&d, &["a"]);
        for i in 0..10 {
            d.register_device(&device("a", &format!("t{i}"))).unwrap();
        }
        let err = d.register_device(&device("a", "t10")).unwrap_err();
        assert_eq!(err.classify().limit.as_deref(), Some("devicesPerAccount"));
        let mut bad = device("a", "x");
        bad.platform = "iOS!".into();
        let err = d.register_device(&bad).unwrap_err();
        assert_eq!(err.classify().field.as_deref(), Some("input.platform"));
        let err = d.register_device(&device("ghost", "x")).unwrap_err();
        assert_eq!(err.classify().code, Code::NotFound);
        let long = "t".repeat(513);
        let err = d.register_device(&device("a", &long)).unwrap_err();
        assert_eq!(err.classify().limit.as_deref(), Some("deviceTokenBytes"));
        assert_eq!(d.devices("a").unwrap().len(), 10);
    }

    #[test]
    fn deleting_an_account_drops_its_devices() {
        let (_t, d) = directory();
        import(&d, &["a"]);
        d.register_device(&device("a", "tok")).unwrap();
        d.delete_accounts(&["a".into()]).unwrap();
        import(&d, &["b"]);
        d.register_device(&device("b", "tok")).unwrap();
        assert!(d.indexes_match_store().unwrap());
    }
}
