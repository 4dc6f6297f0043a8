//! Advances the engine's epoch every millisecond while at least one call is running, and
//! sleeps otherwise (an idle server does not wake up a thousand times a second).

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use wasmtime::Engine;

const TICK: Duration = Duration::from_millis(1);

#[derive(Debug, Default)]
struct State {
    active: usize,
    stopped: bool,
}

#[derive(Debug)]
pub struct EpochTicker {
    shared: Arc<(Mutex<State>, Condvar)>,
}

/// Keeps the ticker running while alive.
#[derive(Debug)]
pub struct Active<'a> {
    ticker: &'a EpochTicker,
}

impl EpochTicker {
    pub fn start(engine: Engine) -> EpochTicker {
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let thread_shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new().name("plugin-epoch".to_owned()).spawn(move || {
            let (lock, wake) = &*thread_shared;
            loop {
                {
                    let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
                    while state.active == 0 && !state.stopped {
                        state = wake.wait(state).unwrap_or_else(PoisonError::into_inner);
                    }
                    if state.stopped {
                        return;
                    }
                }
                std::thread::sleep(TICK);
                engine.increment_epoch();
            }
        });
        if let Err(e) = spawned {
            // Without the ticker no deadline would ever fire: calls then end only by fuel.
            tracing::error!(error = %e, "could not start the plugin epoch thread");
        }
        EpochTicker { shared }
    }

    pub fn active(&self) -> Active<'_> {
        let (lock, wake) = &*self.shared;
        lock.lock().unwrap_or_else(PoisonError::into_inner).active += 1;
        wake.notify_one();
        Active { ticker: self }
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        let (lock, _) = &*self.ticker.shared;
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        state.active = state.active.saturating_sub(1);
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        let (lock, wake) = &*self.shared;
        lock.lock().unwrap_or_else(PoisonError::into_inner).stopped = true;
        wake.notify_one();
    }
}
