//! Advances the engine's epoch every millisecond while at least one call is running, and
//! sleeps otherwise (an idle server does not wake up a thousand times a second). It goes to
//! sleep only after [`LINGER_TICKS`] ticks without a call, so that back-to-back calls (a
//! pipeline, an import) find it awake and need not wake it: waking it is a system call and a
//! thread switch on the other core, for every call.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use wasmtime::Engine;

const TICK: Duration = Duration::from_millis(1);
/// Ticks without any call after which the thread waits for the next call.
const LINGER_TICKS: u32 = 50;

#[derive(Debug, Default)]
struct State {
    active: usize,
    stopped: bool,
    /// The thread is waiting for a call (and must be woken for one).
    waiting: bool,
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
            let mut idle_ticks = 0;
            loop {
                {
                    let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
                    if state.active > 0 {
                        idle_ticks = 0;
                    } else {
                        idle_ticks += 1;
                    }
                    if idle_ticks >= LINGER_TICKS {
                        state.waiting = true;
                        while state.active == 0 && !state.stopped {
                            state = wake.wait(state).unwrap_or_else(PoisonError::into_inner);
                        }
                        state.waiting = false;
                        idle_ticks = 0;
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
        let mut state = lock.lock().unwrap_or_else(PoisonError::into_inner);
        state.active += 1;
        if state.waiting {
            wake.notify_one();
        }
        drop(state);
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn waiting(ticker: &EpochTicker) -> bool {
        ticker.shared.0.lock().unwrap_or_else(PoisonError::into_inner).waiting
    }

    /// Polls `condition` for up to 5 s.
    fn eventually(condition: impl Fn() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if condition() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }

    #[test]
    fn sleeps_when_idle_and_wakes_for_a_call() {
        let engine = Engine::new(wasmtime::Config::new().epoch_interruption(true)).expect("engine");
        let ticker = EpochTicker::start(engine);
        assert!(eventually(|| waiting(&ticker)), "an idle ticker waits");
        {
            let _call = ticker.active();
            assert!(eventually(|| !waiting(&ticker)), "a call wakes it");
            std::thread::sleep(TICK * (LINGER_TICKS + 20));
            assert!(!waiting(&ticker), "it stays awake while the call runs");
        }
        assert!(eventually(|| waiting(&ticker)), "and waits again once the calls are over");
    }
}
