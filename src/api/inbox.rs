//! The inbox of end-user apps: `subscription inbox(after)` and `ackInbox(through)`, for
//! client tokens. A valid client token for an unknown account creates it (a login).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_graphql::{Context, Object, Result, SimpleObject, Subscription};
use futures_util::Stream;

use super::body::MessageElement;
use super::errors::{blocking, gql};
use super::{app, client};
use crate::delivery::{Session, parse_seq};
use crate::error::{Classified, Classify};
use crate::push::LivePush;

/// A push as an inbox receives it.
pub(super) struct InboxMessage(Arc<LivePush>);

#[Object]
impl InboxMessage {
    /// The push id.
    async fn id(&self) -> &str {
        &self.0.record.id
    }

    /// Its sequence number: pass it to `ackInbox(through:)` once handled.
    async fn seq(&self) -> String {
        self.0.record.seq.to_string()
    }

    /// The sender account id.
    async fn sender(&self) -> &str {
        &self.0.record.sender
    }

    /// The message elements.
    async fn body(&self) -> Vec<MessageElement> {
        self.0
            .record
            .body
            .iter()
            .map(MessageElement::from)
            .collect()
    }

    /// When it was sent (RFC 3339).
    async fn sent_at(&self) -> String {
        crate::time::rfc3339(self.0.record.created_at)
    }

    /// When it stops being delivered (RFC 3339).
    async fn expires_at(&self) -> String {
        crate::time::rfc3339(self.0.record.expires_at)
    }
}

/// The session fell a whole queue behind and was closed.
#[derive(Debug, thiserror::Error)]
#[error(
    "this inbox session fell {0} messages behind and was closed; subscribe again to catch up from your cursor"
)]
struct Overflow(usize);

impl Classify for Overflow {
    fn classify(&self) -> Classified {
        Classified::limit("sessionQueue", "inbox")
    }
}

/// The inbox stream of one session: the replay, then pushes as they are accepted, each at
/// most once, never one that was cancelled or expired meanwhile.
fn messages(session: Session, queue: usize) -> impl Stream<Item = Result<InboxMessage>> {
    struct State {
        session: Session,
        next_replay: usize,
        last_seq: u64,
        done: bool,
    }
    let state = State {
        session,
        next_replay: 0,
        last_seq: 0,
        done: false,
    };
    futures_util::stream::unfold(state, move |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            let (push, replayed) = match st.session.replay.get(st.next_replay) {
                Some(p) => {
                    st.next_replay += 1;
                    (p.clone(), true)
                }
                None => match st.session.rx.recv().await {
                    Some(p) => (p, false),
                    None => {
                        st.done = true;
                        let overflowed = st.session.overflowed.load(Ordering::Acquire);
                        return overflowed.then(|| (Err(gql(Overflow(queue))), st));
                    }
                },
            };
            let now = st.session.delivery().now();
            if push.record.seq <= st.last_seq || !push.deliverable(now) {
                continue;
            }
            st.last_seq = push.record.seq;
            if replayed {
                push.count_delivered([st.session.uid], true);
                let stats = &st.session.delivery().stats;
                stats.sent_on_reconnect.fetch_add(1, Ordering::Relaxed);
            }
            return Some((Ok(InboxMessage(push)), st));
        }
    })
}

/// Inbox subscriptions.
#[derive(Default)]
pub(super) struct InboxSubscription;

#[Subscription]
impl InboxSubscription {
    /// Every live push for this account with a sequence above `after` (else above its
    /// acknowledged cursor), oldest first, then new pushes as they are accepted.
    async fn inbox(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<InboxMessage>> + use<>> {
        let account = client(ctx)?.to_owned();
        let app = app(ctx).clone();
        let after = after
            .map(|a| parse_seq("after", &a))
            .transpose()
            .map_err(gql)?;
        let directory = app.directory.clone();
        let uid = blocking(move || directory.ensure_account(&account)).await?;
        let delivery = app.delivery.clone();
        let session = blocking(move || delivery.open(uid, after)).await?;
        Ok(messages(session, app.config.delivery.session_queue))
    }
}

/// The account's cursor after an acknowledgement.
#[derive(SimpleObject)]
pub(super) struct InboxCursor {
    /// Pushes up to this sequence number are acknowledged.
    through: String,
}

/// Inbox mutations.
#[derive(Default)]
pub(super) struct InboxMutation;

#[Object]
impl InboxMutation {
    /// Acknowledges the inbox through sequence `through`: a later subscription without
    /// `after` starts after it. The cursor never moves back.
    async fn ack_inbox(&self, ctx: &Context<'_>, through: String) -> Result<InboxCursor> {
        let account = client(ctx)?.to_owned();
        let app = app(ctx).clone();
        let through = parse_seq("through", &through).map_err(gql)?;
        let directory = app.directory.clone();
        let uid = blocking(move || directory.ensure_account(&account)).await?;
        let delivery = app.delivery.clone();
        let cursor = blocking(move || delivery.ack(uid, through)).await?;
        Ok(InboxCursor {
            through: cursor.to_string(),
        })
    }
}
