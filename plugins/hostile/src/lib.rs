//! A classifier that misbehaves on purpose, chosen by its configuration's `mode`:
//!
//! | mode | what it does |
//! |---|---|
//! | `loop` | spins forever |
//! | `sleep` | sleeps for an hour (WASI's monotonic clock: the host waits, no WebAssembly runs) |
//! | `copy-loop` | copies 8 MiB within its memory, forever (few instructions, much work each) |
//! | `chase` | follows a cycle through 16 MiB forever, each load missing the cache (slow instructions) |
//! | `memory` | allocates until refused |
//! | `recursion` | recurses without end |
//! | `panic` | panics with a message |
//! | `huge-output` | returns a 100 MB reason |
//! | `huge-tags` | returns 1,000 tags of 100 bytes |
//! | `bad-values` | confidence NaN, an empty tag, a 5 KB category |
//! | `plugin-error` | returns its own `internal` error |
//! | `log-flood` | logs 10,000 lines, then behaves |
//! | `slow-ok` | works for ~20 ms of CPU, then behaves |
//! | `churn` | allocates 64 MiB in 256-byte strings, each freed two allocations later, then behaves |
//! | `state` | reports whether its warm-up ran and how many calls its instance has seen |
//! | (anything else) | behaves: tags the message `hostile-fixture-ok` |
//!
//! Built by the test suite (`./x test`), never bundled.

// Natively (workspace builds and tests) nothing is exported, so nothing here is used.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use serde::Deserialize;
use tandem_plugin_sdk::{Classification, ClassifyInput, Classifier, Context, PluginError};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Config {
    mode: String,
}

/// Set by the warm-up, which runs once at upload: a call sees it set only if it starts from
/// the pre-initialised state.
static WARMED_UP: AtomicBool = AtomicBool::new(false);
/// Calls this instance has served: 1 in every call if each call gets a fresh instance.
static CALLS: AtomicU32 = AtomicU32::new(0);

#[derive(Debug)]
struct Hostile;

impl Classifier for Hostile {
    fn classify(input: ClassifyInput, cx: &Context) -> Result<Classification, PluginError> {
        let calls = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
        let config: Config = cx.config()?;
        let ok = || Classification { add_tags: vec!["hostile-fixture-ok".to_owned()], reason: "behaved".to_owned(), ..Classification::none() };
        match config.mode.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3_600));
                Ok(ok())
            }
            "copy-loop" => {
                let (mut from, mut to) = (vec![1u8; 8 << 20], vec![0u8; 8 << 20]);
                loop {
                    to.copy_from_slice(std::hint::black_box(&from));
                    std::mem::swap(&mut from, &mut to);
                }
            }
            "chase" => {
                // x -> (1664525 x + 1013904223) mod 2^22 visits every slot once per cycle (c
                // odd, a = 1 mod 4) in an order no prefetcher follows.
                const SLOTS: u32 = 1 << 22;
                let next: Vec<u32> = (0..SLOTS).map(|x| x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223) & (SLOTS - 1)).collect();
                let mut at = 0u32;
                loop {
                    at = std::hint::black_box(next[at as usize]);
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recursion" => Ok(Classification { reason: format!("{}", recurse(std::hint::black_box(1))), ..ok() }),
            "panic" => panic!("hostile fixture panics on purpose (message: {})", input.message.subject),
            "huge-output" => Ok(Classification { reason: "x".repeat(100 << 20), ..ok() }),
            "huge-tags" => Ok(Classification { add_tags: (0..1_000).map(|i| format!("{i:0100}")).collect(), ..ok() }),
            "bad-values" => Ok(Classification {
                add_tags: vec![String::new()],
                category: Some("c".repeat(5_000)),
                confidence: f32::NAN,
                ..ok()
            }),
            "plugin-error" => Err(PluginError::Internal("the fixture reports an internal error".to_owned())),
            "log-flood" => {
                for i in 0..10_000 {
                    cx.info(format!("line {i}"));
                }
                Ok(ok())
            }
            "slow-ok" => {
                let mut x: u64 = 1;
                for i in 0..20_000_000u64 {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                }
                Ok(Classification { reason: format!("worked ({x})"), ..ok() })
            }
            "churn" => {
                // Never the last block freed, so the SDK's bump allocator cannot take any
                // place back: it must hand over to the standard allocator at its budget, or
                // the call would need twice the memory cap.
                let mut ring: [String; 2] = Default::default();
                for i in 0..(64usize << 20) / 256 {
                    ring[i % 2] = std::hint::black_box("x".repeat(256));
                }
                Ok(Classification { reason: format!("churned ({} bytes kept)", ring[0].len() + ring[1].len()), ..ok() })
            }
            "state" => Ok(Classification { reason: format!("warmed up: {}, calls: {calls}", WARMED_UP.load(Ordering::Relaxed)), ..ok() }),
            _ => Ok(ok()),
        }
    }

    fn warm_up() {
        WARMED_UP.store(true, Ordering::Relaxed);
    }
}

/// Recursion that keeps everything in WebAssembly locals (no address-taken data), so each
/// level is a frame on the engine's stack, and that LLVM cannot turn into a loop.
fn recurse(n: u64) -> u64 {
    if n % 1_000_000_007 == 999_999 {
        return n;
    }
    let r = recurse(n + 1);
    r ^ (r >> 3) ^ n
}

tandem_plugin_sdk::export_classifier!(Hostile);
