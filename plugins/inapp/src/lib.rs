//! Herald's in-app transport.
//!
//! `render` turns a push into the inbox envelope (see [`envelope`]) once; `send` asks Herald
//! to publish those bytes to every live session of each target account. An account with no
//! live session gets the push later anyway: Herald replays what it missed when it connects
//! (fan-out on read), so "not online" is a final outcome here, never a retry.
//!
//! Only `component` touches the WebAssembly boundary; the rest is plain Rust tested natively
//! against a fake [`Host`].

mod component;
mod envelope;

use herald_plugin_sdk::{Info, Outcome, Setting, Target};

/// What the plugin uses of Herald's capabilities, so `send` runs against a fake in tests.
pub(crate) trait Host {
    /// Publishes `payload` to every live session of `account`; how many received it.
    fn publish(&self, account: &str, payload: &[u8]) -> Result<u32, String>;
}

/// The reason given for an account with no live session.
pub(crate) const NOT_ONLINE: &str = "not online: no live session (the inbox replays it on connect)";

/// What this transport is.
pub(crate) fn describe() -> Info {
    herald_plugin_sdk::info("inapp", env!("CARGO_PKG_VERSION"), &["inapp"])
}

/// Accepts the plugin's settings: there are none, so any key is refused by name.
pub(crate) fn configure(settings: &[Setting]) -> Result<(), String> {
    match settings.first() {
        None => Ok(()),
        Some(s) => Err(format!(
            "unknown setting `{}`: the inapp transport takes no settings",
            s.key
        )),
    }
}

/// Publishes the rendered envelope to each target: delivered when at least one session got
/// it, failed with [`NOT_ONLINE`] when none is open, failed with Herald's reason when the
/// publish itself failed (e.g. the capability is not granted).
pub(crate) fn send(host: &impl Host, payload: &[u8], targets: &[Target]) -> Vec<Outcome> {
    targets
        .iter()
        .map(|target| match host.publish(&target.account, payload) {
            Ok(0) => Outcome::Failed(NOT_ONLINE.into()),
            Ok(_) => Outcome::Delivered,
            Err(reason) => Outcome::Failed(format!("publish failed: {reason}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Records every publish; `alice` has two sessions, `bob` none, `eve` is refused.
    #[derive(Default)]
    struct FakeHost {
        calls: RefCell<Vec<(String, Vec<u8>)>>,
    }

    impl Host for FakeHost {
        fn publish(&self, account: &str, payload: &[u8]) -> Result<u32, String> {
            self.calls
                .borrow_mut()
                .push((account.to_owned(), payload.to_vec()));
            match account {
                "alice" => Ok(2),
                "eve" => Err("publish is not granted to this plugin".into()),
                _ => Ok(0),
            }
        }
    }

    fn target(account: &str) -> Target {
        Target {
            account: account.into(),
            token: String::new(),
        }
    }

    #[test]
    fn describe_names_the_inapp_platform() {
        let info = describe();
        assert_eq!(info.name, "inapp");
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(info.platforms, ["inapp"]);
    }

    #[test]
    fn configure_takes_no_settings() {
        assert_eq!(configure(&[]), Ok(()));
        let err = configure(&[Setting {
            key: "url".into(),
            value: "x".into(),
        }])
        .unwrap_err();
        assert_eq!(
            err,
            "unknown setting `url`: the inapp transport takes no settings"
        );
    }

    #[test]
    fn send_publishes_the_same_payload_to_each_target_in_order() {
        let host = FakeHost::default();
        let outcomes = send(
            &host,
            b"{}",
            &[target("alice"), target("bob"), target("eve")],
        );
        assert_eq!(
            outcomes,
            [
                Outcome::Delivered,
                Outcome::Failed(NOT_ONLINE.into()),
                Outcome::Failed("publish failed: publish is not granted to this plugin".into()),
            ]
        );
        let calls = host.calls.borrow();
        let accounts: Vec<&str> = calls.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(accounts, ["alice", "bob", "eve"]);
        assert!(calls.iter().all(|(_, p)| p == b"{}"));
    }

    #[test]
    fn an_empty_batch_publishes_nothing() {
        let host = FakeHost::default();
        assert!(send(&host, b"{}", &[]).is_empty());
        assert!(host.calls.borrow().is_empty());
    }
}
