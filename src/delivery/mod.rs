//! Delivery: the registry of live inbox sessions, fan-out of accepted pushes to the online
//! part of their audience, and offline retention as fan-out on read.
//!
//! Nothing is written per recipient when a push is accepted. A session that opens receives
//! every live push whose audience snapshot contains its account and whose sequence number
//! is above its cursor, then every push accepted after it opened. The cut between the two
//! phases is taken under the registry's write lock, which fan-out holds for reading while
//! it records the last sequence number, so there is no gap and no duplicate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use roaring::RoaringBitmap;
use tokio::sync::mpsc;

mod notify;

pub use notify::Notifier;

use crate::error::{Classified, Classify};
use crate::push::{Fanout, LivePush, PushError, Pushes};
use crate::store::{Store, StoreError};

/// Why an inbox call was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// `through`/`after` is not a sequence number.
    #[error("{field}: {value:?} is not a push sequence number")]
    BadSeq {
        /// The argument.
        field: &'static str,
        /// What was given.
        value: String,
    },
    /// `through` is above the last accepted push.
    #[error("through: {through} is above the last push, {last}")]
    Ahead {
        /// What was given.
        through: u64,
        /// The last sequence number.
        last: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for DeliveryError {
    fn classify(&self) -> Classified {
        match self {
            DeliveryError::BadSeq { field, .. } => Classified::invalid(*field),
            DeliveryError::Ahead { .. } => Classified::invalid("through"),
            DeliveryError::Store(e) => e.classify(),
        }
    }
}

/// Parses a sequence number given as a string argument.
pub fn parse_seq(field: &'static str, value: &str) -> Result<u64, DeliveryError> {
    value.parse().map_err(|_| DeliveryError::BadSeq {
        field,
        value: value.to_owned(),
    })
}

/// One open session's entry in the registry.
struct Entry {
    id: u64,
    tx: mpsc::Sender<Arc<LivePush>>,
    /// Set when the session fell a whole queue behind; it is then dropped from the registry.
    overflowed: Arc<AtomicBool>,
}

#[derive(Default)]
struct Registry {
    by_uid: HashMap<u32, Vec<Entry>>,
    next_id: u64,
    count: usize,
}

/// Totals for `/metrics`.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    /// Sessions closed because their queue was full.
    pub overflows: AtomicU64,
    /// Pushes handed to live sessions at accept time (per session).
    pub sent_online: AtomicU64,
    /// Pushes replayed to sessions on (re)connect.
    pub sent_on_reconnect: AtomicU64,
}

/// The delivery service of one app.
pub struct Delivery {
    pushes: Arc<Pushes>,
    store: Arc<Store>,
    registry: RwLock<Registry>,
    /// The last sequence number fanned out; read under the registry's write lock to cut.
    last_fanned: AtomicU64,
    queue: usize,
    /// Mobile notifications, once transports are loaded.
    notifier: OnceLock<Arc<Notifier>>,
    /// Delivery totals.
    pub stats: DeliveryStats,
}

/// An open inbox session: what to replay, then the queue of new pushes.
pub struct Session {
    /// Live pushes for this account accepted before the session opened, oldest first.
    pub replay: Vec<Arc<LivePush>>,
    /// Pushes accepted after it opened.
    pub rx: mpsc::Receiver<Arc<LivePush>>,
    /// True once the session fell behind by a whole queue and was dropped from fan-out.
    pub overflowed: Arc<AtomicBool>,
    /// The account.
    pub uid: u32,
    guard: SessionGuard,
}

impl Session {
    /// The service the session belongs to (for counting and expiry checks).
    pub fn delivery(&self) -> &Arc<Delivery> {
        &self.guard.delivery
    }
}

/// Removes the session from the registry when the subscription ends.
struct SessionGuard {
    delivery: Arc<Delivery>,
    uid: u32,
    id: u64,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.delivery.unregister(self.uid, self.id);
    }
}

impl Delivery {
    /// A delivery service over `pushes`; each session queues at most `queue` pushes.
    pub fn new(pushes: Arc<Pushes>, store: Arc<Store>, queue: usize) -> Arc<Delivery> {
        let delivery = Arc::new(Delivery {
            last_fanned: AtomicU64::new(pushes.last_seq()),
            pushes: pushes.clone(),
            store,
            registry: RwLock::new(Registry::default()),
            queue: queue.max(1),
            notifier: OnceLock::new(),
            stats: DeliveryStats::default(),
        });
        let fanout: std::sync::Weak<dyn Fanout> = Arc::downgrade(&delivery) as _;
        pushes.set_fanout(fanout);
        delivery
    }

    /// Opens a session for account `uid` that starts after sequence `after` (else after
    /// the account's acknowledged cursor).
    pub fn open(self: &Arc<Self>, uid: u32, after: Option<u64>) -> Result<Session, DeliveryError> {
        let after = match after {
            Some(a) => a,
            None => self.store.read(|r| r.cursor(uid))?,
        };
        let (tx, rx) = mpsc::channel(self.queue);
        let overflowed = Arc::new(AtomicBool::new(false));
        let (id, cut) = {
            let mut reg = self.registry.write();
            reg.next_id += 1;
            let id = reg.next_id;
            reg.count += 1;
            reg.by_uid.entry(uid).or_default().push(Entry {
                id,
                tx,
                overflowed: overflowed.clone(),
            });
            (id, self.last_fanned.load(Ordering::Acquire))
        };
        let replay = self
            .pushes
            .live_after(after)
            .into_iter()
            .filter(|p| p.record.seq <= cut && p.audience.contains(uid))
            .collect();
        Ok(Session {
            replay,
            rx,
            overflowed,
            uid,
            guard: SessionGuard {
                delivery: self.clone(),
                uid,
                id,
            },
        })
    }

    fn unregister(&self, uid: u32, id: u64) {
        let mut reg = self.registry.write();
        let mut removed = false;
        if let Some(entries) = reg.by_uid.get_mut(&uid) {
            let before = entries.len();
            entries.retain(|e| e.id != id);
            removed = entries.len() < before;
            if entries.is_empty() {
                reg.by_uid.remove(&uid);
            }
        }
        if removed {
            reg.count -= 1;
        }
    }

    /// Moves an account's cursor forward to `through` (never back). Returns the cursor.
    pub fn ack(&self, uid: u32, through: u64) -> Result<u64, DeliveryError> {
        let last = self.pushes.last_seq();
        if through > last {
            return Err(DeliveryError::Ahead { through, last });
        }
        Ok(self.store.write(|w| {
            let cursor = w.cursor(uid)?.max(through);
            w.put_cursor(uid, cursor)?;
            Ok::<_, StoreError>(cursor)
        })?)
    }

    /// Connects mobile notifications: pushes accepted from now on notify offline devices.
    /// When some transport is ready, they are marked so in the store until done,
    /// and the live pushes whose notifying did not finish before Herald stopped are notified
    /// now, to the accounts not online.
    pub fn set_notifier(&self, notifier: Arc<Notifier>) -> Result<(), PushError> {
        if self.notifier.set(notifier.clone()).is_err() || !notifier.is_active() {
            return Ok(());
        }
        // Listed before marking starts: a push accepted in between is notified once, by
        // fan-out, and is not in this list.
        let unfinished = self.pushes.pending_notifications()?;
        self.pushes.enable_notifications();
        for push in unfinished {
            let online: RoaringBitmap = {
                let reg = self.registry.read();
                reg.by_uid
                    .keys()
                    .copied()
                    .filter(|uid| push.audience.contains(*uid))
                    .collect()
            };
            tracing::info!(push = %push.record.id, "resuming unfinished notifications");
            notifier.accepted(&push, online);
        }
        Ok(())
    }

    /// Stops mobile notifications (see [`Notifier::stop`]); the server calls it when it stops.
    pub async fn stop_notifications(&self) {
        if let Some(notifier) = self.notifier.get() {
            notifier.stop().await;
        }
    }

    /// How many sessions are open.
    pub fn sessions(&self) -> usize {
        self.registry.read().count
    }

    /// The current time of the push service's clock.
    pub fn now(&self) -> u64 {
        self.pushes.now()
    }
}

impl Fanout for Delivery {
    fn accepted(&self, push: &Arc<LivePush>) {
        let reg = self.registry.read();
        self.last_fanned.store(push.record.seq, Ordering::Release);
        let mut reached = Vec::new();
        let mut sent = 0;
        let mut overflowed = Vec::new();
        for (uid, entries) in &reg.by_uid {
            if !push.audience.contains(*uid) {
                continue;
            }
            let mut any = false;
            for e in entries {
                match e.tx.try_send(push.clone()) {
                    Ok(()) => {
                        any = true;
                        sent += 1;
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        e.overflowed.store(true, Ordering::Release);
                        overflowed.push((*uid, e.id));
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
            if any {
                reached.push(*uid);
            }
        }
        drop(reg);
        if let Some(notifier) = self.notifier.get() {
            notifier.accepted(push, reached.iter().copied().collect());
        }
        push.count_delivered(reached, false);
        self.stats.sent_online.fetch_add(sent, Ordering::Relaxed);
        if !overflowed.is_empty() {
            self.stats
                .overflows
                .fetch_add(overflowed.len() as u64, Ordering::Relaxed);
            // Dropping the sender closes the queue: the session drains it, then ends.
            for (uid, id) in overflowed {
                self.unregister(uid, id);
            }
        }
    }
}
