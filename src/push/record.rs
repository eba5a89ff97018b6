//! A push as persisted, its status lifecycle and its delivery report.
//!
//! Status lifecycle (derived, so a restart or a missed sweep can never leave it stale):
//!
//! ```text
//!   accepted ──> LIVE ──(now >= expiresAt)──> EXPIRED
//!                  │
//!                  └──(cancelPush)──────────> CANCELLED
//! ```
//!
//! A push is durable (record and audience snapshot committed) before `push` answers, so
//! there is no state before LIVE that a caller can observe. `lifetimeSeconds = 0` makes a
//! push EXPIRED as soon as it was fanned out to the users online at accept time.

use serde::{Deserialize, Serialize};

use super::body::{Element, OfflinePush};
use crate::audience::Target;

/// Where a push is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Within its lifetime: delivered to online users and to users who reconnect.
    Live,
    /// Its lifetime has run out; nothing more is delivered.
    Expired,
    /// Cancelled by an operator; nothing more is delivered.
    Cancelled,
}

/// Delivery counters of a push (API.md `Push.report`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Recipients that received it on a live session when it was accepted.
    pub delivered_online: u64,
    /// Recipients that received it when they (re)connected.
    pub delivered_on_reconnect: u64,
    /// Recipients that have not received it yet and still may.
    pub pending: u64,
    /// Recipients that never received it before it expired or was cancelled.
    pub expired_undelivered: u64,
    /// Mobile notifications accepted by APNs / FCM.
    pub notifications_sent: u64,
    /// Mobile notifications that failed for good.
    pub notifications_failed: u64,
    /// Device tokens removed because the push service called them dead.
    pub invalid_tokens_removed: u64,
}

/// A push as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRecord {
    /// Its sequence number: the order of acceptance, and the inbox cursor unit.
    pub seq: u64,
    /// Its public id: `<app id>_<seq>_<created at>`.
    pub id: String,
    /// The sender account id (the admin identity by default).
    pub sender: String,
    /// The message elements.
    pub body: Vec<Element>,
    /// Mobile notification options.
    pub offline_push: Option<OfflinePush>,
    /// Who it was for, as asked.
    pub target: Target,
    /// Unix seconds of acceptance.
    pub created_at: u64,
    /// Unix seconds after which nothing more is delivered.
    pub expires_at: u64,
    /// The caller's idempotency key.
    pub idempotency_key: Option<String>,
    /// Accounts in the audience snapshot.
    pub audience_size: u64,
    /// Unix seconds of cancellation.
    pub cancelled_at: Option<u64>,
    /// Counters as last persisted.
    pub report: Report,
}

impl PushRecord {
    /// The status at time `now` (Unix seconds).
    pub fn status(&self, now: u64) -> Status {
        if self.cancelled_at.is_some() {
            Status::Cancelled
        } else if now >= self.expires_at {
            Status::Expired
        } else {
            Status::Live
        }
    }

    /// The public id of push `seq` accepted at `created_at` by app `app_id`.
    pub fn make_id(app_id: u64, seq: u64, created_at: u64) -> String {
        format!("{app_id}_{seq}_{created_at}")
    }

    /// The sequence number inside a public id, if it has the id's shape.
    pub fn seq_of(id: &str) -> Option<u64> {
        let mut parts = id.split('_');
        let (_app, seq, _at) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        seq.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_derived_from_time_and_cancel() {
        let mut p = PushRecord {
            seq: 1,
            id: PushRecord::make_id(1_400_000_000, 1, 100),
            sender: "administrator".into(),
            body: Vec::new(),
            offline_push: None,
            target: Target::default(),
            created_at: 100,
            expires_at: 160,
            idempotency_key: None,
            audience_size: 0,
            cancelled_at: None,
            report: Report::default(),
        };
        assert_eq!(p.status(159), Status::Live);
        assert_eq!(p.status(160), Status::Expired);
        p.cancelled_at = Some(120);
        assert_eq!(p.status(130), Status::Cancelled);
        assert_eq!(PushRecord::seq_of(&p.id), Some(1));
        assert_eq!(PushRecord::seq_of("1_x_3"), None);
        assert_eq!(PushRecord::seq_of("1_2_3_4"), None);
    }
}
