//! GraphQL surface of pushes: `push`, `cancelPush`, `push(id)`, `pushes`, `audienceSize`.

use super::body::{MessageElement, MessageElementInput, OfflinePush, OfflinePushInput};
use super::errors::{blocking, gql};
use super::target::TargetInput;
use super::{admin, cursor};
use crate::audience::Target;
use crate::push::{self, PushRequest, PushView};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};

/// Pushes a page of `pushes` returns when `first` is not given.
const DEFAULT_PAGE: usize = 50;
/// The largest page of `pushes`.
const MAX_PAGE: usize = 500;

/// Where a push is in its life.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub(super) enum PushStatus {
    /// Within its lifetime: delivered to online users and to users who come back.
    Live,
    /// Its lifetime has run out; nothing more is delivered.
    Expired,
    /// Cancelled; nothing more is delivered.
    Cancelled,
}

impl From<push::Status> for PushStatus {
    fn from(s: push::Status) -> Self {
        match s {
            push::Status::Live => PushStatus::Live,
            push::Status::Expired => PushStatus::Expired,
            push::Status::Cancelled => PushStatus::Cancelled,
        }
    }
}

impl From<PushStatus> for push::Status {
    fn from(s: PushStatus) -> Self {
        match s {
            PushStatus::Live => push::Status::Live,
            PushStatus::Expired => push::Status::Expired,
            PushStatus::Cancelled => push::Status::Cancelled,
        }
    }
}

/// Delivery counters of a push.
#[derive(SimpleObject)]
pub(super) struct PushReport {
    /// Recipients that received it on a live session when it was accepted.
    delivered_online: u64,
    /// Recipients that received it when they came back.
    delivered_on_reconnect: u64,
    /// Recipients that have not received it yet and still may.
    pending: u64,
    /// Recipients that never received it before it expired or was cancelled.
    expired_undelivered: u64,
    /// Mobile notifications accepted by APNs / FCM.
    notifications_sent: u64,
    /// Mobile notifications that failed for good.
    notifications_failed: u64,
    /// Dead device tokens removed.
    invalid_tokens_removed: u64,
}

/// A push.
#[derive(SimpleObject)]
pub(super) struct Push {
    /// Its id.
    id: String,
    /// Its sequence number (the inbox cursor unit), as a string.
    seq: String,
    /// Where it is in its life.
    status: PushStatus,
    /// The sender account id.
    sender: String,
    /// The message elements.
    body: Vec<MessageElement>,
    /// Mobile notification options.
    offline_push: Option<OfflinePush>,
    /// When it was accepted (RFC 3339).
    created_at: String,
    /// When its lifetime ends (RFC 3339).
    expires_at: String,
    /// Accounts in its audience, fixed when it was accepted.
    audience_size: u64,
    /// The idempotency key it was sent with.
    idempotency_key: Option<String>,
    /// Delivery counters.
    report: PushReport,
}

impl From<PushView> for Push {
    fn from(v: PushView) -> Self {
        let r = v.report;
        Push {
            id: v.record.id,
            seq: v.record.seq.to_string(),
            status: v.status.into(),
            sender: v.record.sender,
            body: v.record.body.iter().map(MessageElement::from).collect(),
            offline_push: v.record.offline_push.as_ref().map(OfflinePush::from),
            created_at: crate::time::rfc3339(v.record.created_at),
            expires_at: crate::time::rfc3339(v.record.expires_at),
            audience_size: v.record.audience_size,
            idempotency_key: v.record.idempotency_key,
            report: PushReport {
                delivered_online: r.delivered_online,
                delivered_on_reconnect: r.delivered_on_reconnect,
                pending: r.pending,
                expired_undelivered: r.expired_undelivered,
                notifications_sent: r.notifications_sent,
                notifications_failed: r.notifications_failed,
                invalid_tokens_removed: r.invalid_tokens_removed,
            },
        }
    }
}

/// A push to send.
#[derive(InputObject)]
pub(super) struct PushInput {
    /// Who it is for; omitted = all accounts.
    target: Option<TargetInput>,
    /// The sender account id; omitted = the admin identity.
    sender: Option<String>,
    /// The message elements (at most 12 KB in all).
    body: Vec<MessageElementInput>,
    /// Mobile notification options.
    offline_push: Option<OfflinePushInput>,
    /// Seconds it stays deliverable to users offline now, 0..604800; 0 = online users only.
    #[graphql(default = 0)]
    lifetime_seconds: i64,
    /// The same key (1..64 bytes) within 7 days returns the first push; nothing is sent again.
    idempotency_key: Option<String>,
}

/// The audience target of an optional input (omitted = all accounts).
fn target_of(input: Option<TargetInput>) -> Result<Target> {
    input
        .map(Target::try_from)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(gql)
}

/// Push queries.
#[derive(Default)]
pub(super) struct PushQuery;

#[Object]
impl PushQuery {
    /// One push by id; null when there is none.
    async fn push(&self, ctx: &Context<'_>, id: String) -> Result<Option<Push>> {
        let pushes = admin(ctx)?.pushes.clone();
        Ok(blocking(move || pushes.get(&id)).await?.map(Push::from))
    }

    /// Pushes, newest first (a Relay connection), optionally only those with `status`.
    async fn pushes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0..500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last push of the previous page.")] after: Option<String>,
        status: Option<PushStatus>,
    ) -> Result<Connection<String, Push, EmptyFields>> {
        let pushes = admin(ctx)?.pushes.clone();
        let first = cursor::page_size(first, DEFAULT_PAGE, MAX_PAGE).map_err(gql)?;
        let before = cursor::after("push", after.as_deref()).map_err(gql)?;
        let status = status.map(push::Status::from);
        let (page, more) = blocking(move || pushes.list(first, before, status)).await?;
        let mut connection = Connection::new(before.is_some(), more);
        connection.edges.extend(
            page.into_iter()
                .map(|v| Edge::new(cursor::encode("push", v.record.seq), Push::from(v))),
        );
        Ok(connection)
    }

    /// How many accounts `target` selects now (omitted = all accounts).
    async fn audience_size(&self, ctx: &Context<'_>, target: Option<TargetInput>) -> Result<u64> {
        let pushes = admin(ctx)?.pushes.clone();
        let target = target_of(target)?;
        blocking(move || pushes.audience_size(&target)).await
    }
}

/// Push mutations.
#[derive(Default)]
pub(super) struct PushMutation;

#[Object]
impl PushMutation {
    /// Sends a push. Its audience is fixed now, and it is durable before this answers.
    async fn push(&self, ctx: &Context<'_>, input: PushInput) -> Result<Push> {
        let pushes = admin(ctx)?.pushes.clone();
        let offline_push = input
            .offline_push
            .map(push::body::OfflinePush::try_from)
            .transpose()
            .map_err(gql)?;
        let req = PushRequest {
            target: target_of(input.target)?,
            sender: input.sender,
            body: input.body.into_iter().map(Into::into).collect(),
            offline_push,
            lifetime_seconds: input.lifetime_seconds,
            idempotency_key: input.idempotency_key,
        };
        Ok(blocking(move || pushes.accept(req)).await?.into())
    }

    /// Cancels a push: nothing more is delivered, online or on reconnect.
    async fn cancel_push(&self, ctx: &Context<'_>, id: String) -> Result<Push> {
        let pushes = admin(ctx)?.pushes.clone();
        Ok(blocking(move || pushes.cancel(&id)).await?.into())
    }
}
