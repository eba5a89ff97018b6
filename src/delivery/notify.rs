//! Mobile notifications: when a push is accepted, the members of its audience who were not
//! reached on a live session and have devices are notified through their platform's
//! transport plugin. Dead tokens are removed from the directory and counted.
//!
//! The work runs on a background task, off the accept path: the push answers as soon as it
//! is durable, and a slow push service never delays it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use roaring::RoaringBitmap;
use tokio::sync::mpsc;

use crate::directory::{DeviceTarget, Directory};
use crate::push::body::{self, Badge, OfflinePush};
use crate::push::{LivePush, Pushes};
use crate::transport::{Message, Notification, Outcome, Plugin, Target, Transports};

/// A push to notify, with the accounts already reached on a live session.
struct Job {
    push: Arc<LivePush>,
    reached: RoaringBitmap,
}

/// Hands accepted pushes to the notification task.
pub struct Notifier {
    /// Whether some transport is ready: without one there is nothing to do.
    active: bool,
    jobs: mpsc::UnboundedSender<Job>,
    task: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Notifier {
    /// Starts the notification task on the current tokio runtime.
    pub fn start(
        directory: Arc<Directory>,
        pushes: Arc<Pushes>,
        transports: Arc<Transports>,
    ) -> Arc<Notifier> {
        let active = !transports.is_empty();
        let (jobs, mut rx) = mpsc::unbounded_channel::<Job>();
        // Weak links: the task must not keep the store open once the app is dropped.
        let (directory, pushes) = (Arc::downgrade(&directory), Arc::downgrade(&pushes));
        let task = tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let (Some(directory), Some(pushes)) = (directory.upgrade(), pushes.upgrade())
                else {
                    break;
                };
                notify(&directory, &pushes, &transports, job).await;
            }
        });
        Arc::new(Notifier {
            active,
            jobs,
            task: parking_lot::Mutex::new(Some(task)),
        })
    }

    /// Whether some transport is ready, so there is anything to notify through.
    pub(super) fn is_active(&self) -> bool {
        self.active
    }

    /// Stops the notification task where it is. What it had not finished stays marked in
    /// the store and is notified at the next start.
    pub async fn stop(&self) {
        let task = self.task.lock().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// Queues a push whose fan-out reached the accounts in `reached`.
    pub(super) fn accepted(&self, push: &Arc<LivePush>, reached: RoaringBitmap) {
        let wants = self.active
            && push
                .record
                .offline_push
                .as_ref()
                .is_none_or(|o| !o.disabled);
        if wants {
            let _ = self.jobs.send(Job {
                push: push.clone(),
                reached,
            });
        }
    }
}

/// The notification fields a plugin of `platforms` shows.
fn notification(text: String, offline: Option<&OfflinePush>, platforms: &[String]) -> Notification {
    let ios = platforms.iter().any(|p| p == "ios");
    let apns = offline.and_then(|o| o.apns.as_ref()).filter(|_| ios);
    let android = offline.and_then(|o| o.android.as_ref()).filter(|_| !ios);
    Notification {
        title: apns
            .and_then(|a| a.title.clone())
            .or_else(|| offline.and_then(|o| o.title.clone())),
        subtitle: apns.and_then(|a| a.subtitle.clone()),
        body: text,
        sound: apns
            .and_then(|a| a.sound.clone())
            .or_else(|| android.and_then(|a| a.sound.clone())),
        badge: apns.and_then(|a| match a.badge {
            Badge::Set(n) => Some(n),
            Badge::Count | Badge::Keep => None,
        }),
        image: apns.and_then(|a| a.image.clone()),
        mutable_content: apns.is_some_and(|a| a.mutable_content),
        channel_id: android.and_then(|a| a.channel_id.clone()),
        ext: offline.and_then(|o| o.ext.clone()),
    }
}

/// Notifies the devices of one push, then marks its notifying finished (durably), whatever
/// happened: a push that cannot be notified is not tried again at the next start.
async fn notify(
    directory: &Arc<Directory>,
    pushes: &Arc<Pushes>,
    transports: &Transports,
    job: Job,
) {
    send(directory, transports, &job).await;
    let pushes = pushes.clone();
    let push = job.push.clone();
    let persisted = tokio::task::spawn_blocking(move || pushes.persist_notifications(&push)).await;
    if let Ok(Err(e)) = persisted {
        tracing::error!(push = %job.push.record.id, error = %e, "cannot persist notification counters");
    }
}

/// Sends the notifications of one push through the plugins of its devices' platforms and
/// counts the outcomes in its report; removes the devices whose tokens are dead.
async fn send(directory: &Arc<Directory>, transports: &Transports, job: &Job) {
    let record = &job.push.record;
    let offline = record.offline_push.as_ref();
    let Some(text) = body::notification_text(&record.body, offline) else {
        return;
    };
    let recipients = &job.push.audience - &job.reached;
    let dir = directory.clone();
    let targets = match tokio::task::spawn_blocking(move || dir.device_targets(&recipients)).await {
        Ok(Ok(targets)) => targets,
        Ok(Err(e)) => {
            tracing::error!(push = %record.id, error = %e, "cannot read device targets");
            return;
        }
        Err(e) => {
            tracing::error!(push = %record.id, error = %e, "device target task failed");
            return;
        }
    };
    if targets.is_empty() {
        return;
    }
    let mut by_plugin: HashMap<String, (Arc<Plugin>, Vec<DeviceTarget>)> = HashMap::new();
    let mut unserved = 0u64;
    for t in targets {
        let plugin = match &t.transport {
            Some(name) => transports.get(name),
            None => transports.for_platform(&t.platform),
        };
        match plugin {
            Some(p) => by_plugin
                .entry(p.name().to_owned())
                .or_insert_with(|| (p, Vec::new()))
                .1
                .push(t),
            None => unserved += 1,
        }
    }
    if unserved > 0 {
        tracing::warn!(push = %record.id, devices = unserved, "no transport serves these devices");
    }
    let body_json = body::body_to_vendor(&record.body).to_string();
    let (mut sent, mut failed, mut removed) = (0u64, unserved, 0u64);
    for (plugin, devices) in by_plugin.into_values() {
        let message = Message {
            push_id: record.id.clone(),
            seq: record.seq,
            sender: record.sender.clone(),
            body_json: body_json.clone(),
            sent_at: record.created_at,
            expires_at: record.expires_at,
            notification: Some(notification(text.clone(), offline, plugin.platforms())),
        };
        let targets = devices
            .iter()
            .map(|d| Target {
                account: d.account.clone(),
                token: d.token.clone(),
            })
            .collect();
        let outcomes = plugin.deliver(message, targets).await;
        let mut dead = Vec::new();
        for (device, outcome) in devices.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Delivered => sent += 1,
                Outcome::InvalidToken => {
                    failed += 1;
                    dead.push(device);
                }
                Outcome::Failed(reason) => {
                    failed += 1;
                    tracing::debug!(push = %record.id, account = %device.account, %reason, "notification failed");
                }
            }
        }
        let dir = directory.clone();
        let gone = tokio::task::spawn_blocking(move || {
            dead.iter()
                .filter(|d| matches!(dir.remove_device(d.uid, &d.token), Ok(true)))
                .count() as u64
        })
        .await
        .unwrap_or(0);
        removed += gone;
    }
    let report = &job.push.report;
    report.notifications_sent.fetch_add(sent, Ordering::Relaxed);
    report
        .notifications_failed
        .fetch_add(failed, Ordering::Relaxed);
    report
        .invalid_tokens_removed
        .fetch_add(removed, Ordering::Relaxed);
}
