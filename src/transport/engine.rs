//! The WebAssembly engine (one per process), its epoch ticker, the host linker, and the
//! on-disk cache of compiled components.
//!
//! Compiling a component with Cranelift takes tens of milliseconds; loading the compiled
//! artifact takes well under one. Artifacts live in `<data_dir>/plugin-cache/`, named by the
//! wasm's SHA-256 and the engine's compatibility hash (wasmtime version, target, settings),
//! so a change of any of them is a miss, never a wrong hit.

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::capabilities::HostState;
use super::config::MAX_MEMORY_MIB;
use super::contract::Transport;
use super::error::TransportError;

/// How often the epoch advances: the granularity of call deadlines.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The process's engine and the linker holding the host imports.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
}

/// The shared runtime, created on first use with its epoch ticker thread.
pub(crate) fn runtime() -> Result<&'static Runtime, TransportError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let engine = engine()?;
            let linker = linker(&engine).map_err(|e| format!("cannot link host imports: {e}"))?;
            let weak = engine.weak();
            std::thread::Builder::new()
                .name("herald-wasm-epoch".to_owned())
                .spawn(move || {
                    while let Some(engine) = weak.upgrade() {
                        engine.increment_epoch();
                        drop(engine);
                        std::thread::sleep(EPOCH_TICK);
                    }
                })
                .map_err(|e| format!("cannot start the epoch ticker: {e}"))?;
            Ok(Runtime { engine, linker })
        })
        .as_ref()
        .map_err(|e| TransportError::Engine(e.clone()))
}

/// Cranelift, epoch interruption, and the pooling allocator (instances are re-created after
/// every failure, so their allocation must be cheap). Falls back to on-demand allocation
/// where the pool's address-space reservation is refused.
fn engine() -> Result<Engine, String> {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(256)
        .total_core_instances(1024)
        .total_memories(256)
        .total_tables(1024)
        .total_stacks(256)
        .max_memory_size(MAX_MEMORY_MIB << 20);
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&config) {
        Ok(engine) => Ok(engine),
        Err(pooled) => {
            tracing::warn!(error = %pooled, "pooling allocator unavailable, using on-demand allocation");
            Engine::new(&base_config()).map_err(|e| e.to_string())
        }
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    config
}

/// WASI p2 (its context is empty, see `capabilities`) and the contract's `host` imports.
fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    Transport::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
    Ok(linker)
}

/// Refuses what is not a component before handing it to the compiler, so the error says what
/// the file is.
pub(crate) fn sniff(wasm: &[u8]) -> Result<(), TransportError> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return Err(TransportError::NotWasm);
    }
    // Bytes 4..8: a core module is version 1, layer 0; a component has layer 1.
    match wasm[6..8] {
        [1, 0] => Ok(()),
        [0, 0] => Err(TransportError::NotComponent),
        _ => Err(TransportError::Compile(
            "unsupported WebAssembly binary version".to_owned(),
        )),
    }
}

/// Where a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Compiled now (and written to the cache when there is one).
    Compiled,
    /// Loaded from the cache.
    Cached,
}

/// Compiles `wasm`, or loads the artifact compiled earlier from `cache_dir`.
pub(crate) fn load(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&Path>,
) -> Result<(Component, Source), TransportError> {
    sniff(wasm)?;
    let Some(dir) = cache_dir else {
        return Ok((compile(engine, wasm)?, Source::Compiled));
    };
    let path = dir.join(artifact_name(engine, wasm));
    match std::fs::read(&path) {
        Ok(bytes) => match deserialize_own_artifact(engine, &bytes) {
            Ok(component) => return Ok((component, Source::Cached)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "stale plugin cache entry, recompiling")
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read plugin cache entry")
        }
    }
    let component = compile(engine, wasm)?;
    match component.serialize() {
        Ok(bytes) => {
            if let Err(e) = write_atomically(dir, &path, &bytes) {
                tracing::warn!(path = %path.display(), error = %e, "cannot write plugin cache entry");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot serialize a compiled plugin"),
    }
    Ok((component, Source::Compiled))
}

fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component, TransportError> {
    Component::new(engine, wasm).map_err(|e| TransportError::Compile(format!("{e:#}")))
}

/// `<sha256 of the wasm>-<engine compatibility hash>.cwasm`.
fn artifact_name(engine: &Engine, wasm: &[u8]) -> String {
    let digest = Sha256::digest(wasm);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let mut hasher = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    format!("{hex}-{:016x}.cwasm", hasher.finish())
}

/// Loads an artifact from Herald's own cache.
#[allow(unsafe_code)]
fn deserialize_own_artifact(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize` trusts its input to be an artifact produced by
    // `Component::serialize` (it runs the machine code inside). The only files read here
    // are in Herald's own cache folder under its data dir, written by `load` above from a
    // component this process compiled, atomically (temp file + rename, so never partial),
    // and named by the wasm's hash and the engine's compatibility hash; wasmtime also
    // checks the header (version, target, settings) and refuses a mismatch. The data dir
    // is as trusted as the binary: whoever can write it can already replace the store.
    unsafe { Component::deserialize(engine, bytes) }
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let tmp: PathBuf = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_names_what_the_file_is() {
        assert!(matches!(
            sniff(b"hello world"),
            Err(TransportError::NotWasm)
        ));
        assert!(matches!(
            sniff(b"\0asm\x01\0\0\0"),
            Err(TransportError::NotComponent)
        ));
        assert!(sniff(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
