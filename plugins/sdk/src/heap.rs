//! The memory allocator of a plugin built with the SDK (WebAssembly builds, feature
//! `call-heap`, on by default).
//!
//! The host runs every call in a fresh instance and throws it away afterwards, so memory a
//! call frees is hardly ever worth finding again: [`CallHeap`] hands out small blocks by
//! moving a pointer through chunks it takes from the system allocator, gives a block's
//! place back only when it was the last one handed out (a `String` built and dropped, a
//! `Vec` grown by `push`, which grows in place), and never searches free lists. On the
//! bundled plugins, against the standard allocator (wasi-libc's dlmalloc), a call took
//! ~10 % less time (BENCHMARKS.md, "2026-12-07 ~09:50–10:25").
//!
//! Bounded: large blocks (from [`LARGE_BYTES`]) always go to the system allocator, and once
//! the chunks reach [`BUDGET_BYTES`] every block does, so a call that allocates and frees
//! without end runs as it would with the standard allocator (at most the budget more).
//!
//! No crate fits: the bump allocators published for WebAssembly (`lol_alloc`, `silly-alloc`)
//! never reuse anything and have no budget, so a long loop of small allocations would run
//! into the memory cap that the standard allocator never reaches.
//!
//! A plugin that wants an allocator of its own turns the feature off
//! (`default-features = false`) and sets its `#[global_allocator]`.

// An allocator is unsafe code by nature (`GlobalAlloc`); this module is the SDK's only place
// for it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;

/// The size of each chunk taken from the system allocator.
pub const CHUNK_BYTES: usize = 256 << 10;
/// Blocks of this size or more go straight to the system allocator.
pub const LARGE_BYTES: usize = 16 << 10;
/// Chunks taken at most; after that every block goes to the system allocator.
pub const BUDGET_BYTES: usize = 8 << 20;
/// The alignment of a chunk: blocks aligned to more go to the system allocator.
const CHUNK_ALIGN: usize = 16;
const MAX_CHUNKS: usize = BUDGET_BYTES / CHUNK_BYTES;

/// A bump allocator over chunks of `B` (the system allocator by default), for one thread.
#[derive(Debug)]
pub struct CallHeap<B: GlobalAlloc = System> {
    state: UnsafeCell<State>,
    backing: B,
}

#[derive(Debug)]
struct State {
    /// The free part of the current chunk: `next..end` (both 0 before the first chunk).
    next: usize,
    end: usize,
    /// The block handed out last from the current chunk, if it is still in use: freeing it
    /// moves `next` back, growing it moves `next` on.
    last: Option<usize>,
    /// Every chunk taken, `(start, end)`: a block inside one is ours, any other the backing
    /// allocator's.
    chunks: [(usize, usize); MAX_CHUNKS],
    count: usize,
}

// SAFETY: a plugin built for WebAssembly without the `atomics` feature has one thread, so the
// state is never reached from two threads at once.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl<B: GlobalAlloc + Sync> Sync for CallHeap<B> {}

impl CallHeap<System> {
    pub const fn new() -> CallHeap<System> {
        CallHeap::with_backing(System)
    }
}

impl Default for CallHeap<System> {
    fn default() -> Self {
        CallHeap::new()
    }
}

impl<B: GlobalAlloc> CallHeap<B> {
    pub const fn with_backing(backing: B) -> CallHeap<B> {
        CallHeap { state: UnsafeCell::new(State { next: 0, end: 0, last: None, chunks: [(0, 0); MAX_CHUNKS], count: 0 }), backing }
    }

    /// The state. SAFETY: the caller holds no other reference to it (every method takes it
    /// once, and none calls another while holding it).
    #[allow(clippy::mut_from_ref)]
    unsafe fn state(&self) -> &mut State {
        // SAFETY: one thread (see the `Sync` impl) and no other reference (the caller's promise).
        unsafe { &mut *self.state.get() }
    }

    const CHUNK: Layout = match Layout::from_size_align(CHUNK_BYTES, CHUNK_ALIGN) {
        Ok(layout) => layout,
        Err(_) => panic!("the chunk's layout"),
    };
}

/// Whether a block of `layout` goes straight to the backing allocator: too large for a
/// chunk to be worth it, or aligned more than a chunk is.
fn for_backing(layout: Layout) -> bool {
    layout.size() >= LARGE_BYTES || layout.align() > CHUNK_ALIGN
}

impl State {
    /// A block of `layout` from the current chunk, if it has room.
    fn carve(&mut self, layout: Layout) -> Option<*mut u8> {
        let start = self.next.checked_add(layout.align() - 1)? & !(layout.align() - 1);
        let stop = start.checked_add(layout.size())?;
        if self.end == 0 || stop > self.end {
            return None;
        }
        self.next = stop;
        self.last = Some(start);
        Some(start as *mut u8)
    }

    fn owns(&self, at: usize) -> bool {
        self.chunks[..self.count].iter().any(|&(start, end)| (start..end).contains(&at))
    }
}

unsafe impl<B: GlobalAlloc> GlobalAlloc for CallHeap<B> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if for_backing(layout) {
            // SAFETY: the caller's layout, passed on.
            return unsafe { self.backing.alloc(layout) };
        }
        // SAFETY: the only reference to the state in this call.
        let state = unsafe { self.state() };
        if let Some(block) = state.carve(layout) {
            return block;
        }
        if state.count < MAX_CHUNKS {
            // SAFETY: a non-zero size.
            let chunk = unsafe { self.backing.alloc(Self::CHUNK) } as usize;
            if chunk != 0 {
                state.chunks[state.count] = (chunk, chunk + CHUNK_BYTES);
                state.count += 1;
                (state.next, state.end, state.last) = (chunk, chunk + CHUNK_BYTES, None);
                if let Some(block) = state.carve(layout) {
                    return block;
                }
            }
        }
        // SAFETY: the caller's layout, passed on.
        unsafe { self.backing.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if for_backing(layout) {
            // SAFETY: the caller's layout, passed on (its memory may come zeroed for free).
            return unsafe { self.backing.alloc_zeroed(layout) };
        }
        // SAFETY: the caller's layout; a block of it is `layout.size()` writable bytes.
        unsafe {
            let block = self.alloc(layout);
            if !block.is_null() {
                block.write_bytes(0, layout.size());
            }
            block
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the only reference to the state in this call.
        let state = unsafe { self.state() };
        let at = ptr as usize;
        if state.owns(at) {
            if state.last == Some(at) {
                state.next = at;
                state.last = None;
            }
            return;
        }
        // SAFETY: not in a chunk, so the backing allocator gave it, with this layout.
        unsafe { self.backing.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let at = ptr as usize;
        {
            // SAFETY: the only reference to the state, dropped before `alloc` and `dealloc` below.
            let state = unsafe { self.state() };
            if !state.owns(at) {
                // SAFETY: the backing allocator gave it, with this layout; it keeps it.
                return unsafe { self.backing.realloc(ptr, layout, new_size) };
            }
            if state.last == Some(at) && at.checked_add(new_size).is_some_and(|stop| stop <= state.end) {
                state.next = at + new_size;
                return ptr;
            }
            if new_size <= layout.size() {
                return ptr;
            }
        }
        // SAFETY: the caller promises `new_size`, rounded up to the alignment, fits an `isize`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid layout; the old block holds `layout.size()` bytes, fewer than the new
        // one, and the two do not overlap (the old one is still in use while the new is made).
        unsafe {
            let moved = self.alloc(new_layout);
            if !moved.is_null() {
                moved.copy_from_nonoverlapping(ptr, layout.size());
                self.dealloc(ptr, layout);
            }
            moved
        }
    }
}

impl<B: GlobalAlloc> Drop for CallHeap<B> {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        for &(start, _) in &state.chunks[..state.count] {
            // SAFETY: each chunk came from the backing allocator with this layout.
            unsafe { self.backing.dealloc(start as *mut u8, Self::CHUNK) };
        }
    }
}

#[cfg(test)]
mod tests;
