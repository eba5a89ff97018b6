//! Pushes: validate, resolve the audience once into a bitmap snapshot, persist the push
//! and its snapshot in one transaction before answering, then hand it to delivery.
//!
//! Live pushes (within their lifetime, not cancelled) are kept in memory with their
//! snapshot, so delivery answers "what does this user still have to receive" without I/O.

pub mod body;
mod error;
mod rate;
mod record;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::{Mutex, RwLock};
use roaring::RoaringBitmap;

pub use error::PushError;
pub use record::{PushRecord, Report, Status};

use crate::audience::{self, Target};
use crate::config::{AppConfig, PushConfig};
use crate::directory::Directory;
use crate::store::Store;
use crate::time::Clock;
use body::{Element, OfflinePush};
use rate::RateState;

/// The longest lifetime of a push: 7 days.
pub const MAX_LIFETIME_SECONDS: i64 = 7 * 86_400;
/// How long an idempotency key returns its first push.
pub const IDEMPOTENCY_WINDOW_SECONDS: u64 = 7 * 86_400;
/// The longest idempotency key, in bytes.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 64;

/// A push as the caller asks for it.
#[derive(Debug, Clone, Default)]
pub struct PushRequest {
    /// Who it is for.
    pub target: Target,
    /// The sender account; `None` is the admin identity.
    pub sender: Option<String>,
    /// The message elements.
    pub body: Vec<Element>,
    /// Mobile notification options.
    pub offline_push: Option<OfflinePush>,
    /// Seconds it stays deliverable to users who are offline now (0 = online users only).
    pub lifetime_seconds: i64,
    /// The same key within 7 days returns the first push and sends nothing again.
    pub idempotency_key: Option<String>,
}

/// Counters of a live push, updated by delivery without locks.
#[derive(Debug, Default)]
pub struct LiveReport {
    /// Received on a live session at accept time.
    pub delivered_online: AtomicU64,
    /// Received on (re)connect.
    pub delivered_on_reconnect: AtomicU64,
    /// Mobile notifications accepted by the push service.
    pub notifications_sent: AtomicU64,
    /// Mobile notifications that failed for good.
    pub notifications_failed: AtomicU64,
    /// Dead device tokens removed.
    pub invalid_tokens_removed: AtomicU64,
}

impl LiveReport {
    fn from_report(r: &Report) -> LiveReport {
        LiveReport {
            delivered_online: AtomicU64::new(r.delivered_online),
            delivered_on_reconnect: AtomicU64::new(r.delivered_on_reconnect),
            notifications_sent: AtomicU64::new(r.notifications_sent),
            notifications_failed: AtomicU64::new(r.notifications_failed),
            invalid_tokens_removed: AtomicU64::new(r.invalid_tokens_removed),
        }
    }

    /// The counters now, with `pending` derived from the audience size.
    pub fn snapshot(&self, audience_size: u64) -> Report {
        let online = self.delivered_online.load(Ordering::Relaxed);
        let reconnect = self.delivered_on_reconnect.load(Ordering::Relaxed);
        Report {
            delivered_online: online,
            delivered_on_reconnect: reconnect,
            pending: audience_size.saturating_sub(online + reconnect),
            expired_undelivered: 0,
            notifications_sent: self.notifications_sent.load(Ordering::Relaxed),
            notifications_failed: self.notifications_failed.load(Ordering::Relaxed),
            invalid_tokens_removed: self.invalid_tokens_removed.load(Ordering::Relaxed),
        }
    }

    /// The final counters of a push that will deliver nothing more.
    fn retire(&self, audience_size: u64) -> Report {
        let mut r = self.snapshot(audience_size);
        r.expired_undelivered = r.pending;
        r.pending = 0;
        r
    }
}

/// A push being delivered: its record, audience snapshot and live counters.
#[derive(Debug)]
pub struct LivePush {
    /// The push.
    pub record: PushRecord,
    /// The accounts it is for (uids), fixed at accept time.
    pub audience: RoaringBitmap,
    /// Delivery counters.
    pub report: LiveReport,
    /// Accounts it was handed to (in memory), so each recipient counts once however many
    /// sessions it has.
    delivered: Mutex<RoaringBitmap>,
    /// The counters as last written to the store.
    persisted: Mutex<Report>,
    /// Set when cancelled or expired: queued copies are dropped, not delivered.
    retired: AtomicBool,
    /// Marked in the store as to be notified (see [`Pushes::enable_notifications`]).
    marked: AtomicBool,
}

impl LivePush {
    fn new(record: PushRecord, audience: RoaringBitmap) -> LivePush {
        LivePush {
            report: LiveReport::from_report(&record.report),
            persisted: Mutex::new(record.report),
            record,
            audience,
            delivered: Mutex::new(RoaringBitmap::new()),
            retired: AtomicBool::new(false),
            marked: AtomicBool::new(false),
        }
    }

    /// Counts recipients handed the push; `on_reconnect` says by which path. Recipients
    /// already counted are not counted again.
    pub fn count_delivered(&self, uids: impl IntoIterator<Item = u32>, on_reconnect: bool) {
        let mut delivered = self.delivered.lock();
        let new = uids
            .into_iter()
            .filter(|uid| delivered.insert(*uid))
            .count() as u64;
        drop(delivered);
        let counter = if on_reconnect {
            &self.report.delivered_on_reconnect
        } else {
            &self.report.delivered_online
        };
        counter.fetch_add(new, Ordering::Relaxed);
    }

    /// True while it may still be delivered at `now`: not cancelled, and within its
    /// lifetime (a push with lifetime 0 only goes to sessions it was queued for at accept).
    pub fn deliverable(&self, now: u64) -> bool {
        !self.retired.load(Ordering::Acquire)
            && (self.record.expires_at > now || self.record.expires_at == self.record.created_at)
    }
}

/// A push with its status and counters at the time it was read.
#[derive(Debug, Clone)]
pub struct PushView {
    /// The push.
    pub record: PushRecord,
    /// Its status.
    pub status: Status,
    /// Its counters.
    pub report: Report,
}

/// What delivery does with accepted pushes. (Cancelled and expired ones need no call:
/// queued copies check [`LivePush::deliverable`] before they are sent.)
pub trait Fanout: Send + Sync {
    /// Called once per accepted push, in sequence order, after it is durable.
    fn accepted(&self, push: &Arc<LivePush>);
}

/// The push service of one app.
pub struct Pushes {
    store: Arc<Store>,
    directory: Arc<Directory>,
    clock: Arc<dyn Clock>,
    app_id: u64,
    admin: String,
    rules: PushConfig,
    limits: audience::Limits,
    /// Serializes accepts and cancels (sequence order = commit order = fan-out order).
    accept: Mutex<RateState>,
    live: RwLock<BTreeMap<u64, Arc<LivePush>>>,
    /// The highest sequence number accepted so far.
    last_seq: AtomicU64,
    /// Delivery, held weakly: it holds this service, and a cycle would keep the store open.
    fanout: OnceLock<Weak<dyn Fanout>>,
    /// Whether accepted pushes are marked for mobile notification (transports are loaded).
    notify: AtomicBool,
    /// How many pushes are marked: their notifying has not finished.
    unfinished: AtomicU64,
}

impl Pushes {
    /// Opens the push service: loads the live pushes and their snapshots, and the rate
    /// state, from the store.
    pub fn open(
        store: Arc<Store>,
        directory: Arc<Directory>,
        clock: Arc<dyn Clock>,
        app: &AppConfig,
        rules: PushConfig,
    ) -> Result<Pushes, PushError> {
        let now = clock.now();
        let mut live = BTreeMap::new();
        let mut stale = Vec::new();
        store.read(|r| {
            r.for_each_audience(|seq, bytes| {
                let audience = RoaringBitmap::deserialize_from(bytes)
                    .map_err(|_| crate::store::StoreError::Corrupt(format!("audience {seq}")))?;
                if let Some(record) = r.push::<PushRecord>(seq)? {
                    if record.status(now) == Status::Live {
                        live.insert(seq, Arc::new(LivePush::new(record, audience)));
                    } else {
                        stale.push(record);
                    }
                }
                Ok(())
            })
        })?;
        let last_seq = store.read(|r| r.last_seq())?;
        let today = now - now % 86_400;
        let history: Vec<u64> = store
            .read(|r| {
                r.pushes_before::<PushRecord>(u64::MAX, |p| p.created_at >= today, usize::MAX)
            })?
            .into_iter()
            .map(|p| p.created_at)
            .collect();
        let pushes = Pushes {
            store,
            directory,
            clock,
            app_id: app.id,
            admin: app.admin.clone(),
            rules,
            limits: audience::Limits::default(),
            accept: Mutex::new(RateState::from_history(history, now)),
            live: RwLock::new(live),
            last_seq: AtomicU64::new(last_seq),
            fanout: OnceLock::new(),
            notify: AtomicBool::new(false),
            unfinished: AtomicU64::new(0),
        };
        if !stale.is_empty() {
            // Pushes that ran out while the server was down: retire them as the sweeper would.
            pushes.store.write(|w| {
                for mut record in stale {
                    w.delete_audience(record.seq)?;
                    record.report =
                        LiveReport::from_report(&record.report).retire(record.audience_size);
                    w.put_push(record.seq, &record)?;
                }
                Ok::<_, PushError>(())
            })?;
        }
        Ok(pushes)
    }

    /// Connects delivery; pushes accepted before this are found through [`Pushes::live_after`].
    pub fn set_fanout(&self, fanout: Weak<dyn Fanout>) {
        let _ = self.fanout.set(fanout);
    }

    /// The current time of the service's clock.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Accepts a push: durable before this returns. The same idempotency key within 7 days
    /// returns the first push and sends nothing.
    pub fn accept(&self, req: PushRequest) -> Result<PushView, PushError> {
        if !(0..=MAX_LIFETIME_SECONDS).contains(&req.lifetime_seconds) {
            return Err(PushError::Lifetime(req.lifetime_seconds));
        }
        if let Some(key) = &req.idempotency_key
            && (key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_BYTES)
        {
            return Err(PushError::IdempotencyKey(key.len()));
        }
        body::validate(&req.body, req.offline_push.as_ref())?;
        let sender = req.sender.clone().unwrap_or_else(|| self.admin.clone());
        if sender != self.admin && self.directory.uid_of(&sender)?.is_none() {
            return Err(PushError::UnknownSender(sender));
        }

        let mut rate = self.accept.lock();
        let now = self.clock.now();
        if let Some(key) = &req.idempotency_key
            && let Some(first) = self.by_key(key, now)?
        {
            return Ok(first);
        }
        rate.check(&self.rules, now)?;
        let mut audience = {
            let ix = self.directory.indexes();
            let plan = audience::compile(&req.target, &*ix, &self.limits)?;
            plan.evaluate(&*ix)
        };
        audience.optimize();
        let lifetime = req.lifetime_seconds as u64;
        let (record, live, marked) = self.store.write(|w| {
            let seq = w.next_seq()?;
            let record = PushRecord {
                seq,
                id: PushRecord::make_id(self.app_id, seq, now),
                sender,
                body: req.body,
                offline_push: req.offline_push,
                target: req.target,
                created_at: now,
                expires_at: now + lifetime,
                idempotency_key: req.idempotency_key,
                audience_size: audience.len(),
                cancelled_at: None,
                report: Report::default(),
            };
            w.put_push(seq, &record)?;
            if let Some(key) = &record.idempotency_key {
                w.put_push_key(key, seq)?;
            }
            let live = lifetime > 0;
            let wants_notification = !record.offline_push.as_ref().is_some_and(|o| o.disabled);
            let marked = live && wants_notification && self.notify.load(Ordering::Acquire);
            if marked {
                w.put_pending_notification(seq)?;
            }
            if live {
                let mut bytes = Vec::with_capacity(audience.serialized_size());
                audience
                    .serialize_into(&mut bytes)
                    .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
                w.put_audience(seq, &bytes)?;
            }
            Ok::<_, PushError>((record, live, marked))
        })?;
        if marked {
            self.unfinished.fetch_add(1, Ordering::Relaxed);
        }
        rate.record(now);
        self.last_seq.store(record.seq, Ordering::Release);
        let push = Arc::new(LivePush::new(record, audience));
        push.marked.store(marked, Ordering::Release);
        if live {
            self.live.write().insert(push.record.seq, push.clone());
        }
        if let Some(fanout) = self.fanout.get().and_then(Weak::upgrade) {
            fanout.accepted(&push);
        }
        drop(rate);
        let status = if live { Status::Live } else { Status::Expired };
        let report = if live {
            push.report.snapshot(push.record.audience_size)
        } else {
            push.report.retire(push.record.audience_size)
        };
        if !live {
            self.store.write(|w| {
                let mut record = push.record.clone();
                record.report = report;
                w.put_push(record.seq, &record)
            })?;
        }
        Ok(PushView {
            record: push.record.clone(),
            status,
            report,
        })
    }

    /// How many accounts `target` selects now.
    pub fn audience_size(&self, target: &Target) -> Result<u64, PushError> {
        let ix = self.directory.indexes();
        let plan = audience::compile(target, &*ix, &self.limits)?;
        Ok(plan.count(&*ix))
    }

    /// A push by id, with its current counters.
    pub fn get(&self, id: &str) -> Result<Option<PushView>, PushError> {
        let Some(seq) = PushRecord::seq_of(id) else {
            return Ok(None);
        };
        Ok(self.get_seq(seq)?.filter(|v| v.record.id == id))
    }

    fn get_seq(&self, seq: u64) -> Result<Option<PushView>, PushError> {
        if let Some(live) = self.live.read().get(&seq) {
            return Ok(Some(self.view_live(live)));
        }
        let record = self.store.read(|r| r.push::<PushRecord>(seq))?;
        Ok(record.map(|record| self.view_stored(record)))
    }

    fn view_live(&self, live: &LivePush) -> PushView {
        let now = self.clock.now();
        let status = live.record.status(now);
        let report = match status {
            Status::Live => live.report.snapshot(live.record.audience_size),
            _ => live.report.retire(live.record.audience_size),
        };
        PushView {
            record: live.record.clone(),
            status,
            report,
        }
    }

    fn view_stored(&self, record: PushRecord) -> PushView {
        PushView {
            status: record.status(self.clock.now()),
            report: record.report,
            record,
        }
    }

    fn by_key(&self, key: &str, now: u64) -> Result<Option<PushView>, PushError> {
        let Some(seq) = self.store.read(|r| r.push_key(key))? else {
            return Ok(None);
        };
        Ok(self
            .get_seq(seq)?
            .filter(|v| v.record.created_at + IDEMPOTENCY_WINDOW_SECONDS > now))
    }

    /// Up to `first` pushes older than sequence `before` (newest first), optionally only
    /// those with `status`. Returns the page and whether more follow.
    pub fn list(
        &self,
        first: usize,
        before: Option<u64>,
        status: Option<Status>,
    ) -> Result<(Vec<PushView>, bool), PushError> {
        let now = self.clock.now();
        let mut page = self.store.read(|r| {
            r.pushes_before::<PushRecord>(
                before.unwrap_or(u64::MAX),
                |p| status.is_none_or(|s| p.status(now) == s),
                first + 1,
            )
        })?;
        let more = page.len() > first;
        page.truncate(first);
        let live = self.live.read();
        Ok((
            page.into_iter()
                .map(|record| match live.get(&record.seq) {
                    Some(l) => self.view_live(l),
                    None => self.view_stored(record),
                })
                .collect(),
            more,
        ))
    }

    /// Cancels a push: nothing more is delivered, online or on reconnect. Cancelling a
    /// push that is already expired or cancelled changes nothing.
    pub fn cancel(&self, id: &str) -> Result<PushView, PushError> {
        let view = self
            .get(id)?
            .ok_or_else(|| PushError::NotFound(id.to_owned()))?;
        if view.status != Status::Live {
            return Ok(view);
        }
        let _order = self.accept.lock();
        let now = self.clock.now();
        let Some(live) = self.live.read().get(&view.record.seq).cloned() else {
            return self
                .get(id)?
                .ok_or_else(|| PushError::NotFound(id.to_owned()));
        };
        let mut record = live.record.clone();
        record.cancelled_at = Some(now);
        record.report = live.report.retire(record.audience_size);
        self.store.write(|w| {
            w.put_push(record.seq, &record)?;
            w.delete_audience(record.seq)
        })?;
        live.retired.store(true, Ordering::Release);
        self.live.write().remove(&record.seq);
        Ok(self.view_stored(record))
    }

    /// Retires the pushes whose lifetime has run out: frees their snapshots (memory and
    /// store) and persists their final counters; persists the counters of the others that
    /// changed since the last sweep. Returns how many were retired.
    pub fn sweep(&self) -> Result<usize, PushError> {
        self.flush_reports()?;
        let now = self.clock.now();
        let expired: Vec<u64> = self
            .live
            .read()
            .values()
            .filter(|p| p.record.expires_at <= now)
            .map(|p| p.record.seq)
            .collect();
        if expired.is_empty() {
            return Ok(0);
        }
        self.retire(&expired)?;
        Ok(expired.len())
    }

    /// Writes the counters of live pushes that changed since they were last written, so a
    /// restart loses at most one sweep interval of counting.
    fn flush_reports(&self) -> Result<(), PushError> {
        let changed: Vec<(Arc<LivePush>, Report)> = self
            .live
            .read()
            .values()
            .filter_map(|p| {
                let now = p.report.snapshot(p.record.audience_size);
                (now != *p.persisted.lock()).then(|| (p.clone(), now))
            })
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        let _order = self.accept.lock();
        // A push cancelled or retired meanwhile has its final record written already.
        let changed: Vec<_> = changed
            .into_iter()
            .filter(|(p, _)| !p.retired.load(Ordering::Acquire))
            .collect();
        self.store.write(|w| {
            for (p, report) in &changed {
                let mut record = p.record.clone();
                record.report = *report;
                w.put_push(record.seq, &record)?;
            }
            Ok::<_, PushError>(())
        })?;
        for (p, report) in changed {
            *p.persisted.lock() = report;
        }
        Ok(())
    }

    /// From now on, accepted pushes are marked for mobile notification in the same
    /// transaction, so notifying resumes after a crash ([`Pushes::pending_notifications`]).
    pub fn enable_notifications(&self) {
        self.notify.store(true, Ordering::Release);
    }

    /// Notifying `push` finished: forgets its mark, and writes its notification counters
    /// when it is no longer live (a push with lifetime 0 is finished before its
    /// notifications are); the counters of live ones are written by the sweeper.
    pub fn persist_notifications(&self, push: &LivePush) -> Result<(), PushError> {
        let finished = push.retired.load(Ordering::Acquire)
            || push.record.expires_at <= push.record.created_at;
        let _order = self.accept.lock();
        let now = push.report.snapshot(push.record.audience_size);
        self.store.write(|w| {
            if w.delete_pending_notification(push.record.seq)? {
                self.unfinished.fetch_sub(1, Ordering::Relaxed);
            }
            if !finished {
                return Ok(());
            }
            let Some(mut record) = w.push::<PushRecord>(push.record.seq)? else {
                return Ok(());
            };
            record.report.notifications_sent = now.notifications_sent;
            record.report.notifications_failed = now.notifications_failed;
            record.report.invalid_tokens_removed = now.invalid_tokens_removed;
            w.put_push(record.seq, &record)
        })?;
        Ok(())
    }

    /// The live pushes whose notifying did not finish (Herald stopped first), oldest first;
    /// marks of pushes no longer live are dropped.
    pub fn pending_notifications(&self) -> Result<Vec<Arc<LivePush>>, PushError> {
        let seqs = self.store.read(|r| r.pending_notifications())?;
        let (live, stale): (Vec<_>, Vec<_>) = {
            let map = self.live.read();
            let (live, stale): (Vec<_>, Vec<_>) =
                seqs.iter().partition(|seq| map.contains_key(seq));
            (live.iter().map(|seq| map[*seq].clone()).collect(), stale)
        };
        if !stale.is_empty() {
            self.store.write(|w| {
                for seq in &stale {
                    w.delete_pending_notification(**seq)?;
                }
                Ok::<_, PushError>(())
            })?;
        }
        for push in &live {
            push.marked.store(true, Ordering::Release);
        }
        self.unfinished.store(live.len() as u64, Ordering::Relaxed);
        Ok(live)
    }

    /// How many pushes' notifying has not finished.
    pub fn unfinished_notifications(&self) -> u64 {
        self.unfinished.load(Ordering::Relaxed)
    }

    fn retire(&self, seqs: &[u64]) -> Result<(), PushError> {
        let _order = self.accept.lock();
        let live: Vec<Arc<LivePush>> = {
            let map = self.live.read();
            seqs.iter().filter_map(|s| map.get(s).cloned()).collect()
        };
        self.store.write(|w| {
            for seq in seqs {
                w.delete_audience(*seq)?;
                if w.delete_pending_notification(*seq)? {
                    self.unfinished.fetch_sub(1, Ordering::Relaxed);
                }
            }
            for p in &live {
                let mut record = p.record.clone();
                record.report = p.report.retire(record.audience_size);
                w.put_push(record.seq, &record)?;
            }
            Ok::<_, PushError>(())
        })?;
        let mut map = self.live.write();
        for seq in seqs {
            if let Some(p) = map.remove(seq) {
                p.retired.store(true, Ordering::Release);
            }
        }
        drop(map);
        Ok(())
    }

    /// The live pushes with a sequence above `after`, oldest first (for inbox replay).
    pub fn live_after(&self, after: u64) -> Vec<Arc<LivePush>> {
        let now = self.clock.now();
        self.live
            .read()
            .range(after.saturating_add(1)..)
            .map(|(_, p)| p.clone())
            .filter(|p| p.record.expires_at > now)
            .collect()
    }

    /// The highest sequence number accepted so far (0 before the first push).
    pub fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Acquire)
    }

    /// The counters of all live pushes, summed (for `/metrics`).
    pub fn live_report_totals(&self) -> Report {
        let mut total = Report::default();
        for p in self.live.read().values() {
            let r = p.report.snapshot(p.record.audience_size);
            total.delivered_online += r.delivered_online;
            total.delivered_on_reconnect += r.delivered_on_reconnect;
            total.pending += r.pending;
        }
        total
    }

    /// How many pushes are live now.
    pub fn live_count(&self) -> usize {
        self.live.read().len()
    }
}
