//! A bump allocator for policy plugins, used as the global allocator.
//!
//! The host runs every decision in a fresh instance. With Rust's default
//! allocator the first allocation of each instance calls `memory.grow`,
//! so every decision would grow its memory, which is host work in the
//! middle of every call: the host reallocates, copies and zeroes the
//! memory (when its memories were pooled mappings, two `mprotect` calls
//! and page faults, measured as most of a decision's time). This
//! allocator serves allocations from a static arena in `.bss`, inside the
//! module's initial memory, so a typical decision never grows memory.
//! Memory is never reused (an instance lives for one call); an allocation
//! that does not fit falls back to the system allocator, so large inputs
//! still work within the host's memory cap.
//!
//! Use it with `rrs_plugin_arena::install!();` at the crate root.

#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

/// Arena size: a typical decision allocates a few KiB (its input, its
/// output, its settings), and a plan with about a hundred delete
/// candidates fits. It is part of the module's initial memory, which the
/// host allocates and zeroes for every decision: with the 16 KiB stack and
/// the data it fits in one 64 KiB wasm page.
pub const ARENA_BYTES: usize = 24 * 1024;

#[repr(C, align(16))]
struct Space([u8; ARENA_BYTES]);

/// The allocator: a bump pointer over a static arena, then `fallback`.
pub struct Arena<A> {
    space: UnsafeCell<Space>,
    next: UnsafeCell<usize>,
    fallback: A,
}

// SAFETY: policy plugins run on wasm32 without threads: there is exactly
// one thread, so the cells are never accessed concurrently.
unsafe impl<A: Sync> Sync for Arena<A> {}

impl<A> Arena<A> {
    pub const fn new(fallback: A) -> Self {
        Self {
            space: UnsafeCell::new(Space([0; ARENA_BYTES])),
            next: UnsafeCell::new(0),
            fallback,
        }
    }

    fn contains(&self, ptr: *mut u8) -> bool {
        let start = self.space.get() as usize;
        (start..start + ARENA_BYTES).contains(&(ptr as usize))
    }
}

// SAFETY: `alloc` returns either a fresh, suitably aligned range of the
// arena that no earlier allocation overlaps (the bump pointer only moves
// forward), or the fallback's allocation; `dealloc` hands fallback pointers
// back to the fallback and ignores arena pointers (never reused).
unsafe impl<A: GlobalAlloc> GlobalAlloc for Arena<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let start = self.space.get() as usize;
        // SAFETY: single-threaded (see `Sync`); no other reference exists.
        let next = unsafe { &mut *self.next.get() };
        let aligned = (start + *next + layout.align() - 1) & !(layout.align() - 1);
        let end = aligned - start + layout.size();
        if end <= ARENA_BYTES {
            *next = end;
            aligned as *mut u8
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { self.fallback.alloc(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.contains(ptr) {
            // SAFETY: `ptr` came from the fallback with this layout.
            unsafe { self.fallback.dealloc(ptr, layout) }
        }
    }
}

/// Installs the arena (over the system allocator) as the global allocator.
#[macro_export]
macro_rules! install {
    () => {
        #[global_allocator]
        static ALLOCATOR: $crate::Arena<::std::alloc::System> =
            $crate::Arena::new(::std::alloc::System);
    };
}
