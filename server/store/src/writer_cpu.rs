//! Keeping a write transaction and SQLite's writer connection on one CPU.
//!
//! sqlx runs each SQLite connection on a thread of its own, and every statement is a round
//! trip to that thread and back: two thread wake-ups. When the two threads are on different
//! CPUs the woken one's CPU is usually idle, and on a virtual machine waking an idle CPU goes
//! through the hypervisor: a round trip measured 35–45 µs on this project's 2-vCPU machines,
//! against ~8 µs with both threads on one CPU (BENCHMARKS.md, email intake), where running the
//! statement itself takes a few µs. A transaction of an email group makes ~100 round trips
//! while it holds SQLite's one writer slot, so that wait is most of the writer's time.
//!
//! So on SQLite, writes go through one connection of their own (`Db::write`) whose thread
//! is pinned to one CPU ([`pin_named_thread`]), and the hot write transactions (a group of
//! emails, a group of plugin runs, the outbox's claims and results) run whole through
//! [`on_cpu`]: the calling tokio worker gives its other tasks to another thread
//! (`tokio::task::block_in_place`), pins itself to that CPU, drives the transaction to its
//! end, and goes back to running anywhere. Nothing changes on PostgreSQL (its round trips are
//! the network's), on a single-threaded runtime (tests), on a machine (or cgroup) with one
//! CPU, or where pinning is refused: everything then runs as before, only slower.

use std::cell::Cell;
use std::future::Future;

use rustix::thread::{CpuSet, Pid, sched_getaffinity, sched_setaffinity};

thread_local! {
    /// This thread is inside [`on_cpu`] already (a nested call just awaits).
    static PINNED: Cell<bool> = const { Cell::new(false) };
}

/// The CPU the writer connection's thread goes to: the first this process may run on, when
/// it may run on more than one (with one there is nothing to gain).
pub(crate) fn choose() -> Option<usize> {
    let allowed = sched_getaffinity(None).ok()?;
    if allowed.count() < 2 {
        return None;
    }
    (0..CpuSet::MAX_CPU).find(|&cpu| allowed.is_set(cpu))
}

/// Pins the thread of this process named `name` (its `comm`) to `cpu`; false when there is no
/// such thread or the kernel refused.
pub(crate) fn pin_named_thread(name: &str, cpu: usize) -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return false };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let tid = task.file_name().to_str().and_then(|t| t.parse::<i32>().ok()).and_then(Pid::from_raw);
        return tid.is_some_and(|tid| sched_setaffinity(Some(tid), &only(cpu)).is_ok());
    }
    false
}

fn only(cpu: usize) -> CpuSet {
    let mut set = CpuSet::new();
    set.set(cpu);
    set
}

/// Runs `work` to its end with this thread pinned to `cpu` (see the module's text), or simply
/// awaits it where that cannot be done.
pub(crate) async fn on_cpu<F: Future>(cpu: Option<usize>, work: F) -> F::Output {
    let handle = tokio::runtime::Handle::try_current().ok().filter(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    match (cpu, handle) {
        (Some(cpu), Some(handle)) if !PINNED.get() => tokio::task::block_in_place(|| {
            let _pinned = Pinned::to(cpu);
            handle.block_on(work)
        }),
        _ => work.await,
    }
}

/// This thread pinned to a CPU until dropped, then allowed back where it was.
struct Pinned {
    before: Option<CpuSet>,
}

impl Pinned {
    fn to(cpu: usize) -> Pinned {
        PINNED.set(true);
        let before = sched_getaffinity(None).ok().filter(|_| sched_setaffinity(None, &only(cpu)).is_ok());
        Pinned { before }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(before) = &self.before {
            // Failing to widen the mask again leaves this thread on one CPU: slower, not wrong.
            let _ = sched_setaffinity(None, before);
        }
        PINNED.set(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inside `on_cpu` the thread runs on the CPU asked for, and only there; afterwards its
    /// mask is what it was; a nested call neither pins again nor unpins early.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_runs_pinned_and_the_thread_is_let_go_after() {
        let Some(cpu) = choose() else {
            eprintln!("one CPU only: nothing to pin");
            return;
        };
        let before = sched_getaffinity(None).expect("mask").count();
        let (inside, nested, after_nested) = on_cpu(Some(cpu), async {
            let inside = (sched_getaffinity(None).expect("mask").count(), rustix::thread::sched_getcpu());
            tokio::task::yield_now().await;
            let nested = on_cpu(Some(cpu), async { sched_getaffinity(None).expect("mask").count() }).await;
            (inside, nested, sched_getaffinity(None).expect("mask").count())
        })
        .await;
        assert_eq!(inside, (1, cpu), "pinned to the one CPU while the work runs");
        assert_eq!((nested, after_nested), (1, 1), "a nested call keeps the pin");
        assert_eq!(sched_getaffinity(None).expect("mask").count(), before, "let go afterwards");
        assert!(!PINNED.get());
    }

    /// Where pinning cannot be done (a single-threaded runtime, no CPU chosen) the work is
    /// simply awaited, on whatever CPU.
    #[tokio::test]
    async fn without_a_multi_threaded_runtime_the_work_is_just_awaited() {
        let before = sched_getaffinity(None).expect("mask").count();
        let inside = on_cpu(choose(), async { sched_getaffinity(None).expect("mask").count() }).await;
        assert_eq!(inside, before);
        let inside = on_cpu(None, async { sched_getaffinity(None).expect("mask").count() }).await;
        assert_eq!(inside, before);
    }

    #[test]
    fn a_thread_is_found_by_name_and_pinned() {
        let Some(cpu) = choose() else { return };
        let (started, wait_started) = std::sync::mpsc::channel();
        let (pinned, wait_pinned) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tandem-pin-test".into())
            .spawn(move || {
                // Named by now: a thread's name is set as it starts.
                let _ = started.send(());
                let _ = wait_pinned.recv();
                let mask = sched_getaffinity(None).expect("mask");
                (mask.count(), mask.is_set(cpu))
            })
            .expect("thread");
        wait_started.recv().expect("started");
        assert!(pin_named_thread("tandem-pin-test", cpu), "found and pinned");
        assert!(!pin_named_thread("tandem-no-such", cpu));
        pinned.send(()).expect("send");
        assert_eq!(thread.join().expect("join"), (1, true));
    }
}
