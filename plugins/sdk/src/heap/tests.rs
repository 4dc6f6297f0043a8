use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::prelude::*;

use super::{BUDGET_BYTES, CHUNK_BYTES, CallHeap, LARGE_BYTES};

/// Blocks the system allocator gave and took back through [`Counting`].
#[derive(Debug, Default)]
struct Counts {
    allocs: Cell<usize>,
    frees: Cell<usize>,
}

/// The system allocator, counting.
#[derive(Debug)]
struct Counting<'a>(&'a Counts);

unsafe impl GlobalAlloc for Counting<'_> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0.allocs.set(self.0.allocs.get() + 1);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.0.frees.set(self.0.frees.get() + 1);
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).expect("layout")
}

#[test]
fn small_blocks_follow_each_other_in_one_chunk_and_the_last_freed_gives_its_place_back() {
    let counts = Counts::default();
    let heap = CallHeap::with_backing(Counting(&counts));
    unsafe {
        let a = heap.alloc(layout(10, 1));
        let b = heap.alloc(layout(8, 8));
        assert_eq!(b as usize, (a as usize + 10).next_multiple_of(8), "the next block, aligned");
        assert_eq!(counts.allocs.get(), 1, "one chunk");
        heap.dealloc(b, layout(8, 8));
        let c = heap.alloc(layout(8, 8));
        assert_eq!(c, b, "the last block's place is given back");
        heap.dealloc(a, layout(10, 1));
        let d = heap.alloc(layout(4, 4));
        assert!(d as usize > c as usize, "an earlier block's place is not");
    }
}

#[test]
fn the_last_block_grows_in_place_and_another_moves_with_its_bytes() {
    let heap = CallHeap::new();
    unsafe {
        let a = heap.alloc(layout(4, 1));
        a.copy_from_nonoverlapping(b"abcd".as_ptr(), 4);
        let grown = heap.realloc(a, layout(4, 1), 1_000);
        assert_eq!(grown, a, "the last block grows where it is");
        let b = heap.alloc(layout(4, 1));
        let moved = heap.realloc(a, layout(1_000, 1), 2_000);
        assert!(moved != a && moved as usize > b as usize, "moved after the block allocated since");
        assert_eq!(std::slice::from_raw_parts(moved, 4), b"abcd");
        let shrunk = heap.realloc(b, layout(4, 1), 2);
        assert_eq!(shrunk, b, "shrinking never moves");
    }
}

#[test]
fn large_and_over_aligned_blocks_go_to_the_system_allocator() {
    let counts = Counts::default();
    let heap = CallHeap::with_backing(Counting(&counts));
    unsafe {
        let big = heap.alloc(layout(LARGE_BYTES, 8));
        let aligned = heap.alloc(layout(64, 64));
        assert_eq!(counts.allocs.get(), 2, "no chunk taken");
        assert_eq!(aligned as usize % 64, 0);
        let bigger = heap.realloc(big, layout(LARGE_BYTES, 8), 4 * LARGE_BYTES);
        heap.dealloc(bigger, layout(4 * LARGE_BYTES, 8));
        heap.dealloc(aligned, layout(64, 64));
        assert_eq!(counts.frees.get(), counts.allocs.get(), "given back to it (a reallocation included)");
    }
}

#[test]
fn past_the_budget_every_block_goes_to_the_system_allocator_and_back() {
    let counts = Counts::default();
    let heap = CallHeap::with_backing(Counting(&counts));
    let block = layout(LARGE_BYTES - 1, 1);
    let chunks = BUDGET_BYTES / CHUNK_BYTES;
    unsafe {
        // Blocks that are never freed fill every chunk the budget allows.
        let per_chunk = CHUNK_BYTES / block.size();
        for _ in 0..chunks * per_chunk {
            heap.alloc(block);
        }
        assert_eq!(counts.allocs.get(), chunks);
        let over = heap.alloc(block);
        assert_eq!(counts.allocs.get(), chunks + 1, "from the system allocator");
        heap.dealloc(over, block);
        assert_eq!(counts.frees.get(), 1, "and back to it");
    }
    drop(heap);
    assert_eq!(counts.frees.get(), 1 + BUDGET_BYTES / CHUNK_BYTES, "the chunks given back when the heap goes");
}

#[derive(Debug, Clone)]
enum Op {
    Alloc { size: usize, align_log2: u32 },
    Free(usize),
    Realloc(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let size = prop_oneof![1usize..64, 64usize..4_096, (LARGE_BYTES - 8)..(LARGE_BYTES + 8), 40_000usize..70_000];
    prop_oneof![
        4 => (size.clone(), 0u32..7).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
        2 => any::<usize>().prop_map(Op::Free),
        2 => (any::<usize>(), size).prop_map(|(i, size)| Op::Realloc(i, size)),
    ]
}

proptest! {
    /// Any sequence of allocations, frees and reallocations: blocks are aligned, never
    /// overlap, keep their bytes (checked for the block changed at each step, and for all
    /// of them at the end), and everything the system allocator gave goes back when
    /// the heap is dropped.
    #[test]
    fn blocks_are_aligned_disjoint_and_keep_their_bytes(ops in prop::collection::vec(op(), 1..300)) {
        let counts = Counts::default();
        let heap = CallHeap::with_backing(Counting(&counts));
        // (pointer, layout, the byte it is filled with)
        let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
        for (n, op) in ops.into_iter().enumerate() {
            let fill = (n % 251) as u8;
            unsafe {
                match op {
                    Op::Alloc { size, align_log2 } => {
                        let l = layout(size, 1 << align_log2);
                        let p = heap.alloc(l);
                        prop_assert!(!p.is_null());
                        prop_assert_eq!(p as usize % l.align(), 0);
                        p.write_bytes(fill, size);
                        live.push((p, l, fill));
                    }
                    Op::Free(i) if !live.is_empty() => {
                        let (p, l, _) = live.swap_remove(i % live.len());
                        heap.dealloc(p, l);
                    }
                    Op::Realloc(i, size) if !live.is_empty() => {
                        let i = i % live.len();
                        let (p, l, old) = live[i];
                        let q = heap.realloc(p, l, size);
                        prop_assert!(!q.is_null());
                        let kept = std::slice::from_raw_parts(q, l.size().min(size));
                        prop_assert!(kept.iter().all(|&b| b == old), "bytes kept");
                        q.write_bytes(fill, size);
                        live[i] = (q, layout(size, l.align()), fill);
                    }
                    _ => {}
                }
            }
            let mut spans: Vec<(usize, usize)> = live.iter().map(|(p, l, _)| (*p as usize, *p as usize + l.size())).collect();
            spans.sort_unstable();
            prop_assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "blocks overlap");
        }
        for (p, l, f) in &live {
            let bytes = unsafe { std::slice::from_raw_parts(*p, l.size()) };
            prop_assert!(bytes.iter().all(|b| b == f), "a block's bytes changed");
        }
        for (p, l, _) in live {
            unsafe { heap.dealloc(p, l) };
        }
        drop(heap);
        prop_assert_eq!(counts.allocs.get(), counts.frees.get(), "every block the system allocator gave, chunks included, given back");
    }
}
