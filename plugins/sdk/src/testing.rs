//! Fixtures for the plugins' native unit tests (feature `testing`, for `[dev-dependencies]`).

use std::cell::{Cell, RefCell};

use crate::{
    Host, HttpError, Level, Message, Notification, Outcome, Request, Response, Setting, Target,
    Transport,
};

/// A fake service behind a [`FakeHost`]: how it answers one request.
pub trait Service {
    /// Herald's result for `request`.
    fn respond(&self, request: &Request) -> Result<Response, HttpError>;
}

/// A [`Host`] for native tests: a settable clock, every `http-send` batch and log line
/// recorded, each request answered by the fake `service`.
pub struct FakeHost<S> {
    /// What `now_ms` answers; starts at 1764300000000 (the fixtures' `sent_at`).
    pub now_ms: Cell<u64>,
    /// The requests of each `http-send`, in order.
    pub batches: RefCell<Vec<Vec<Request>>>,
    /// The messages logged, in order.
    pub logs: RefCell<Vec<String>>,
    /// The fake service, with whatever state the test sets.
    pub service: S,
}

impl<S: Default> Default for FakeHost<S> {
    fn default() -> FakeHost<S> {
        FakeHost {
            now_ms: Cell::new(1_764_300_000_000),
            batches: RefCell::default(),
            logs: RefCell::default(),
            service: S::default(),
        }
    }
}

impl<S: Default> FakeHost<S> {
    /// A host at 1764300000000 ms with nothing recorded and a default service.
    pub fn new() -> FakeHost<S> {
        FakeHost::default()
    }
}

impl<S: Service> Host for FakeHost<S> {
    fn http_send(&self, requests: &[Request]) -> Vec<Result<Response, HttpError>> {
        self.batches.borrow_mut().push(requests.to_vec());
        requests.iter().map(|r| self.service.respond(r)).collect()
    }

    fn now_ms(&self) -> u64 {
        self.now_ms.get()
    }

    fn log(&self, _level: Level, message: &str) {
        self.logs.borrow_mut().push(message.to_owned());
    }
}

/// Checks that `transport` makes no request for a batch without a usable token: target
/// `unusable` is invalid-token and an empty batch has no outcome.
pub fn assert_no_request_without_a_usable_token<T: Transport, S: Service>(
    transport: &mut T,
    host: &FakeHost<S>,
    unusable: &str,
) {
    let payload = transport.render(&message()).unwrap();
    assert_eq!(
        transport.send(host, &payload, &[target(unusable)]),
        [Outcome::InvalidToken]
    );
    assert!(transport.send(host, &payload, &[]).is_empty());
    assert!(host.batches.borrow().is_empty());
}

/// Checks that a payload `transport` did not render fails each of `targets`, naming the
/// transport, without a request.
pub fn assert_a_foreign_payload_fails<T: Transport, S: Service>(
    transport: &mut T,
    host: &FakeHost<S>,
    targets: &[Target],
) {
    let outcomes = transport.send(host, b"{}", targets);
    let expected = format!("not rendered by the {}", T::describe().name);
    assert_eq!(outcomes.len(), targets.len());
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Outcome::Failed(e) if e.contains(&expected)),
            "{outcome:?}"
        );
    }
    assert!(host.batches.borrow().is_empty());
}

/// A push with every notification field set, sent at 1764300000 and kept for a day.
pub fn message() -> Message {
    Message {
        push_id: "1400000000_7_1764300000".into(),
        seq: 7,
        sender: "administrator".into(),
        body_json: "[]".into(),
        sent_at: 1_764_300_000,
        expires_at: 1_764_386_400,
        notification: Some(Notification {
            title: Some("Sale".into()),
            subtitle: Some("Today".into()),
            body: "50% off".into(),
            sound: Some("default".into()),
            badge: Some(3),
            image: Some("https://example.com/i.png".into()),
            mutable_content: true,
            channel_id: Some("promo".into()),
            ext: Some(r#"{"deeplink":"app://sale"}"#.into()),
        }),
    }
}

/// Herald's result for a request the service answered with `status`, `body` and `headers`.
pub fn response(status: u16, body: &str, headers: &[(&str, &str)]) -> Result<Response, HttpError> {
    Ok(Response {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.as_bytes().to_vec(),
    })
}

/// One `key = value` setting.
pub fn setting(key: &str, value: &str) -> Setting {
    Setting {
        key: key.into(),
        value: value.into(),
    }
}

/// A device of account `alice` with this token.
pub fn target(token: &str) -> Target {
    Target {
        account: "alice".into(),
        token: token.into(),
    }
}

/// The value of the first header of `request` named exactly `name`.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
