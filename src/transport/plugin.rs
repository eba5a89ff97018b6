//! One loaded plugin: its instances (reused, re-created after any failure), guarded calls
//! (deadline, memory cap), and `deliver` (render once, send in batches, retry).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt as _;
use parking_lot::Mutex;
use wasmtime::component::Component;
use wasmtime::{Store, Trap, UpdateDeadline};

use super::capabilities::{Capabilities, HostState};
use super::config::PluginConfig;
use super::contract::herald::transport::types::{Outcome as WitOutcome, Setting};
use super::contract::{Transport, TransportPre};
use super::counters::{Counters, PluginCounters};
use super::engine::Runtime;
use super::error::{CallError, TransportError};
use super::retry::Backoff;
use super::{Message, Outcome, PluginInfo, Target};

/// Extra wall-clock time a call gets beyond its deadline before the host drops it: the
/// deadline itself is checked at epoch ticks while the plugin runs, this bounds time spent
/// in host imports.
const GRACE: Duration = Duration::from_millis(250);

type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

/// A store and the component instantiated in it.
pub(crate) struct Instance {
    store: Store<HostState>,
    bindings: Transport,
}

impl Instance {
    /// Instantiates `pre` in a new store with a memory cap and an epoch-driven deadline.
    pub(crate) async fn new(
        pre: &TransportPre<HostState>,
        caps: Arc<Capabilities>,
        memory_mib: usize,
        timeout: Duration,
    ) -> Result<Instance, CallError> {
        let mut store = Store::new(pre.engine(), HostState::new(caps, memory_mib << 20));
        store.limiter(|state| &mut state.limits);
        // At each epoch tick inside wasm: stop past the deadline, else yield to the executor
        // (a busy plugin never holds a runtime thread for longer than a tick).
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        arm(&mut store, timeout);
        let started = tokio::time::timeout(timeout + GRACE, pre.instantiate_async(&mut store));
        match started.await {
            Ok(Ok(bindings)) => Ok(Instance { store, bindings }),
            Ok(Err(e)) => Err(classify(&e, &store, memory_mib, timeout)),
            Err(_) => Err(CallError::Deadline(millis(timeout))),
        }
    }

    /// Runs one export under the deadline. After an error the instance must be dropped.
    pub(crate) async fn call<R: Send>(
        &mut self,
        memory_mib: usize,
        timeout: Duration,
        call: impl for<'a> FnOnce(&'a Transport, &'a mut Store<HostState>) -> CallFuture<'a, R>,
    ) -> Result<R, CallError> {
        arm(&mut self.store, timeout);
        let result = tokio::time::timeout(timeout + GRACE, call(&self.bindings, &mut self.store));
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(classify(&e, &self.store, memory_mib, timeout)),
            Err(_) => Err(CallError::Deadline(millis(timeout))),
        }
    }

    /// Calls `describe`.
    pub(crate) async fn describe(
        &mut self,
        memory_mib: usize,
        timeout: Duration,
    ) -> Result<(String, String, Vec<String>), CallError> {
        let info = self
            .call(memory_mib, timeout, |b, s| {
                Box::pin(async move { b.call_describe(s).await })
            })
            .await?;
        Ok((info.name, info.version, info.platforms))
    }

    /// What the plugin wrote to stdout/stderr lately (a panic message, typically).
    pub(crate) fn output(&self) -> String {
        self.store.data().output.take()
    }
}

fn arm(store: &mut Store<HostState>, timeout: Duration) {
    let state = store.data_mut();
    state.deadline = Instant::now() + timeout;
    state.limits.hit = false;
    store.set_epoch_deadline(1);
}

/// Names a failed call: the memory cap if it refused a growth during the call (the guest's
/// reaction, usually an abort, is a consequence), the deadline for an interrupt, else a trap.
fn classify(
    error: &wasmtime::Error,
    store: &Store<HostState>,
    memory_mib: usize,
    timeout: Duration,
) -> CallError {
    if store.data().limits.hit {
        return CallError::Memory(memory_mib);
    }
    if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return CallError::Deadline(millis(timeout));
    }
    let output = store.data().output.take();
    let reason = match error.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    match last_words(&output) {
        Some(words) => CallError::Trap(format!("{reason} ({words})")),
        None => CallError::Trap(reason),
    }
}

/// The end of what a failed plugin printed, on one line: for a Rust panic, "thread '...'
/// panicked at src/lib.rs:1:2: message" (the backtrace hint dropped).
fn last_words(output: &str) -> Option<String> {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    let start = lines
        .iter()
        .rposition(|l| l.contains(" panicked at "))
        .unwrap_or(lines.len().saturating_sub(1));
    let words = lines.get(start..)?.join(" ");
    (!words.is_empty()).then(|| words.chars().take(300).collect())
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// A loaded, configured plugin. Cheap to share (`Arc`); calls run on up to `instances`
/// instances at once.
pub struct Plugin {
    name: String,
    info: PluginInfo,
    platforms: Vec<String>,
    config: PluginConfig,
    settings: Vec<Setting>,
    pre: TransportPre<HostState>,
    caps: Arc<Capabilities>,
    idle: Mutex<Vec<Instance>>,
    permits: tokio::sync::Semaphore,
    counters: Counters,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("info", &self.info)
            .field("platforms", &self.platforms)
            .finish_non_exhaustive()
    }
}

/// What a call into the plugin should do (owned: the call's future must not borrow from
/// the caller, its lifetime is the instance's).
enum Call {
    Render(Box<Message>),
    Send(Arc<[u8]>, Vec<Target>),
}

/// Its answer.
enum Answer {
    Render(Result<Vec<u8>, String>),
    Send(Vec<WitOutcome>),
}

impl Plugin {
    /// Links the component, instantiates it once, reads `describe`, applies `configure`.
    pub(crate) async fn start(
        runtime: &Runtime,
        name: &str,
        config: &PluginConfig,
        component: &Component,
        caps: Arc<Capabilities>,
    ) -> Result<Plugin, TransportError> {
        let pre = link(runtime, component)?;
        let settings = config
            .resolved_settings()?
            .into_iter()
            .map(|(key, value)| Setting { key, value })
            .collect();
        let timeout = Duration::from_millis(config.call_timeout_ms);
        let fail = |e: CallError| TransportError::Instantiate(e.to_string());
        let mut first = Instance::new(&pre, caps.clone(), config.memory_mib, timeout)
            .await
            .map_err(fail)?;
        let (declared_name, version, declared) = first
            .describe(config.memory_mib, timeout)
            .await
            .map_err(fail)?;
        let platforms = if config.platforms.is_empty() {
            declared.clone()
        } else {
            if let Some(p) = config.platforms.iter().find(|p| !declared.contains(p)) {
                return Err(TransportError::Config {
                    plugin: name.to_owned(),
                    message: format!(
                        "platforms: the plugin does not serve {p:?} (it declares {declared:?})"
                    ),
                });
            }
            config.platforms.clone()
        };
        let plugin = Plugin {
            name: name.to_owned(),
            info: PluginInfo {
                name: declared_name,
                version,
                platforms: declared,
                imports: Vec::new(),
                exports: Vec::new(),
            },
            platforms,
            config: config.clone(),
            settings,
            pre,
            caps,
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(config.instances),
            counters: Counters::default(),
        };
        plugin.configure(&mut first).await?;
        plugin.idle.lock().push(first);
        Ok(plugin)
    }

    /// The plugin's name in the config file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the plugin declares about itself (`describe`).
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The platforms it serves here (its declared ones, or the configured subset).
    pub fn platforms(&self) -> &[String] {
        &self.platforms
    }

    /// Its counters now.
    pub fn counters(&self) -> PluginCounters {
        self.counters.snapshot(
            self.caps.http_micros.load(Ordering::Relaxed),
            self.caps.http_latency.snapshot(),
        )
    }

    /// Renders `message` once, sends to `targets` in batches of `batch_size`, retries
    /// retry-after and failed-call (trap, deadline, memory cap) outcomes with exponential
    /// backoff and jitter up to `max_attempts`, and returns one final outcome per target, in
    /// order. A message past its `expires_at` (unless 0) is not retried further.
    pub async fn deliver(&self, message: Message, targets: Vec<Target>) -> Vec<Outcome> {
        let n = targets.len();
        if n == 0 {
            return Vec::new();
        }
        let backoff = Backoff::new(self.config.retry_base_ms, self.config.retry_max_ms);
        let max_attempts = self.config.max_attempts;
        let failed_all = |reason: String| {
            Counters::add(&self.counters.failed, n);
            vec![Outcome::Failed(reason); n]
        };
        if expired(&message) {
            return failed_all("expired before delivery".to_owned());
        }

        let mut attempt = 1;
        let payload = loop {
            match self.call(Call::Render(Box::new(message.clone()))).await {
                Ok(Answer::Render(Ok(payload))) => {
                    Counters::add(&self.counters.rendered, 1);
                    break Arc::<[u8]>::from(payload);
                }
                Ok(Answer::Render(Err(reason))) => {
                    return failed_all(format!("the plugin cannot render this push: {reason}"));
                }
                Ok(Answer::Send(_)) => unreachable!("render answers render"),
                Err(e) if attempt >= max_attempts || expired(&message) => {
                    return failed_all(format!("{e} (render, attempt {attempt})"));
                }
                Err(_) => {
                    Counters::add(&self.counters.retried, n);
                    tokio::time::sleep(backoff.delay(attempt, 0)).await;
                    attempt += 1;
                }
            }
        };

        let mut finals: Vec<Option<Outcome>> = vec![None; n];
        let mut reasons: Vec<String> = vec![String::new(); n];
        let mut pending: Vec<usize> = (0..n).collect();
        let mut attempt = 1;
        let batch_size = self.config.batch_size;
        loop {
            // The calls are built in a loop, not by a closure in `stream.map`: a closure
            // taking a borrowed chunk makes the future lose `Send` for `tokio::spawn`.
            let mut calls = Vec::new();
            for chunk in pending.chunks(batch_size) {
                let batch: Vec<Target> = chunk.iter().map(|&i| targets[i].clone()).collect();
                let payload = payload.clone();
                calls.push(async move {
                    Counters::add(&self.counters.sent, batch.len());
                    (chunk, self.call(Call::Send(payload, batch)).await)
                });
            }
            let answers: Vec<(&[usize], Result<Answer, CallError>)> =
                futures_util::stream::iter(calls)
                    .buffered(self.config.instances)
                    .collect()
                    .await;
            let mut again = Vec::new();
            let mut retry_after = 0;
            for (chunk, answer) in answers {
                let outcomes = match answer {
                    Ok(Answer::Send(outcomes)) if outcomes.len() == chunk.len() => outcomes,
                    Ok(Answer::Send(outcomes)) => {
                        let reason = format!(
                            "the plugin answered {} outcomes for {} targets",
                            outcomes.len(),
                            chunk.len()
                        );
                        for &i in chunk {
                            finals[i] = Some(Outcome::Failed(reason.clone()));
                        }
                        continue;
                    }
                    Ok(Answer::Render(_)) => unreachable!("send answers send"),
                    Err(e) => {
                        for &i in chunk {
                            reasons[i] = e.to_string();
                            again.push(i);
                        }
                        continue;
                    }
                };
                for (&i, outcome) in chunk.iter().zip(outcomes) {
                    match outcome {
                        WitOutcome::Delivered => finals[i] = Some(Outcome::Delivered),
                        WitOutcome::InvalidToken => finals[i] = Some(Outcome::InvalidToken),
                        WitOutcome::Failed(reason) => finals[i] = Some(Outcome::Failed(reason)),
                        WitOutcome::RetryAfter(seconds) => {
                            retry_after = retry_after.max(seconds);
                            reasons[i] = format!("the service asked to retry after {seconds} s");
                            again.push(i);
                        }
                    }
                }
            }
            if again.is_empty() {
                break;
            }
            if attempt >= max_attempts || expired(&message) {
                let why = if attempt >= max_attempts {
                    format!("after {attempt} attempts")
                } else {
                    "and the push expired".to_owned()
                };
                for i in again {
                    finals[i] = Some(Outcome::Failed(format!("{} ({why})", reasons[i])));
                }
                break;
            }
            Counters::add(&self.counters.retried, again.len());
            again.sort_unstable();
            pending = again;
            tokio::time::sleep(backoff.delay(attempt, retry_after)).await;
            attempt += 1;
        }

        let finals: Vec<Outcome> = finals
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Failed("no outcome".to_owned())))
            .collect();
        for outcome in &finals {
            let counter = match outcome {
                Outcome::Delivered => &self.counters.delivered,
                Outcome::InvalidToken => &self.counters.invalid_tokens,
                Outcome::Failed(_) => &self.counters.failed,
            };
            Counters::add(counter, 1);
        }
        finals
    }

    /// One call on an idle instance (or a new one). A failed instance is dropped and
    /// replaced at once, so the next call finds a fresh one.
    async fn call(&self, call: Call) -> Result<Answer, CallError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let idle = self.idle.lock().pop();
        let mut instance = match idle {
            Some(instance) => instance,
            None => self.fresh().await?,
        };
        let (memory, timeout) = (self.config.memory_mib, self.timeout());
        let started = Instant::now();
        let result = match call {
            Call::Render(message) => instance
                .call(memory, timeout, |b, s| {
                    Box::pin(async move { b.call_render(s, &message).await })
                })
                .await
                .map(Answer::Render),
            Call::Send(payload, targets) => instance
                .call(memory, timeout, |b, s| {
                    Box::pin(async move { b.call_send_batch(s, &payload, &targets).await })
                })
                .await
                .map(Answer::Send),
        };
        Counters::add(&self.counters.calls, 1);
        Counters::add(
            &self.counters.call_micros,
            started.elapsed().as_micros() as usize,
        );
        match result {
            Ok(answer) => {
                self.idle.lock().push(instance);
                Ok(answer)
            }
            Err(e) => {
                self.count_failure(&e);
                let output = instance.output();
                tracing::warn!(plugin = %self.name, error = %e, output, "plugin call failed, restarting the instance");
                drop(instance);
                Counters::add(&self.counters.restarts, 1);
                match self.fresh().await {
                    Ok(instance) => self.idle.lock().push(instance),
                    Err(e) => {
                        tracing::error!(plugin = %self.name, error = %e, "cannot restart plugin instance")
                    }
                }
                Err(e)
            }
        }
    }

    fn count_failure(&self, e: &CallError) {
        Counters::add(&self.counters.traps, 1);
        match e {
            CallError::Deadline(_) => Counters::add(&self.counters.deadline_exceeded, 1),
            CallError::Memory(_) => Counters::add(&self.counters.memory_exceeded, 1),
            CallError::Trap(_) | CallError::Restart(_) => {}
        }
    }

    /// A new, configured instance.
    async fn fresh(&self) -> Result<Instance, CallError> {
        let mut instance = Instance::new(
            &self.pre,
            self.caps.clone(),
            self.config.memory_mib,
            self.timeout(),
        )
        .await
        .map_err(|e| CallError::Restart(e.to_string()))?;
        self.configure(&mut instance)
            .await
            .map_err(|e| CallError::Restart(e.to_string()))?;
        Ok(instance)
    }

    async fn configure(&self, instance: &mut Instance) -> Result<(), TransportError> {
        let settings = self.settings.clone();
        let answer = instance
            .call(self.config.memory_mib, self.timeout(), |b, s| {
                Box::pin(async move { b.call_configure(s, &settings).await })
            })
            .await
            .map_err(|e| TransportError::Instantiate(format!("configure: {e}")))?;
        answer.map_err(|message| TransportError::Configure {
            plugin: self.name.clone(),
            message,
        })
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.config.call_timeout_ms)
    }
}

/// Pre-links a component against the host: fails when it imports what Herald does not
/// provide or lacks an export of the contract.
pub(crate) fn link(
    runtime: &Runtime,
    component: &Component,
) -> Result<TransportPre<HostState>, TransportError> {
    let pre = runtime
        .linker
        .instantiate_pre(component)
        .map_err(|e| TransportError::WrongWorld(format!("{e:#}")))?;
    TransportPre::new(pre).map_err(|e| TransportError::WrongWorld(format!("{e:#}")))
}

fn expired(message: &Message) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    message.expires_at != 0 && now >= message.expires_at
}

#[cfg(test)]
mod tests {
    use super::last_words;

    #[test]
    fn last_words_keep_the_panic_message() {
        let out = "starting\nthread '<unnamed>' panicked at src/lib.rs:60:22:\nboom\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            last_words(out).unwrap(),
            "thread '<unnamed>' panicked at src/lib.rs:60:22: boom"
        );
        assert_eq!(last_words("a\nb\n").unwrap(), "b");
        assert_eq!(last_words(""), None);
    }
}
