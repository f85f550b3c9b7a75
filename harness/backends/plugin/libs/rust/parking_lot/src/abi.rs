//! The C declarations of harness/include/jostle/plugin.h (ABI version 1), written out by hand: the header is
//! small and stable (append-only), so no bindgen. Field order and types must match the header exactly.

use std::os::raw::{c_char, c_int, c_void};

pub const ABI_VERSION: u32 = 1;
pub const OK: c_int = 0;
pub const TIMEDOUT: c_int = 1;
pub const AGAIN: c_int = 2;

/// A raw pointer to a static table; the harness only reads through it.
#[repr(transparent)]
pub struct Ptr<T>(pub *const T);
// The tables are immutable statics, so sharing their addresses between threads is sound.
unsafe impl<T> Sync for Ptr<T> {}

impl<T> Ptr<T> {
    pub const NULL: Ptr<T> = Ptr(std::ptr::null());
}

#[repr(C)]
pub struct FutexOps {
    pub wait: extern "C" fn(word: *mut u32, expected: u32, timeout_ns: i64) -> c_int,
    pub wake: extern "C" fn(word: *mut u32, n: c_int) -> c_int,
}

#[repr(C)]
pub struct MutexOps {
    pub size: usize,
    pub align: usize,
    pub init: extern "C" fn(*mut c_void),
    pub destroy: extern "C" fn(*mut c_void),
    pub lock: extern "C" fn(*mut c_void),
    pub try_lock: extern "C" fn(*mut c_void) -> c_int,
    pub unlock: extern "C" fn(*mut c_void),
}

#[repr(C)]
pub struct RwLockOps {
    pub size: usize,
    pub align: usize,
    pub init: extern "C" fn(*mut c_void),
    pub destroy: extern "C" fn(*mut c_void),
    pub lock: extern "C" fn(*mut c_void),
    pub try_lock: extern "C" fn(*mut c_void) -> c_int,
    pub unlock: extern "C" fn(*mut c_void),
    pub lock_shared: extern "C" fn(*mut c_void),
    pub try_lock_shared: extern "C" fn(*mut c_void) -> c_int,
    pub unlock_shared: extern "C" fn(*mut c_void),
    pub timed_lock: Option<extern "C" fn(*mut c_void, i64) -> c_int>,
    pub timed_lock_shared: Option<extern "C" fn(*mut c_void, i64) -> c_int>,
}

#[repr(C)]
pub struct CondvarOps {
    pub size: usize,
    pub align: usize,
    pub init: extern "C" fn(*mut c_void),
    pub destroy: extern "C" fn(*mut c_void),
    pub wait: extern "C" fn(cv: *mut c_void, mutex: *mut c_void),
    pub timed_wait: extern "C" fn(cv: *mut c_void, mutex: *mut c_void, timeout_ns: i64) -> c_int,
    pub signal: extern "C" fn(*mut c_void),
    pub broadcast: extern "C" fn(*mut c_void),
    pub profile: Ptr<c_char>,
}

/// The semaphore table exists in the header; this plugin does not offer one.
pub enum SemaphoreOps {}

#[repr(C)]
pub struct Plugin {
    pub abi_version: u32,
    pub struct_size: u32,
    pub name: Ptr<c_char>,
    pub description: Ptr<c_char>,
    pub futex: Ptr<FutexOps>,
    pub mutex: Ptr<MutexOps>,
    pub rwlock: Ptr<RwLockOps>,
    pub condvar: Ptr<CondvarOps>,
    pub semaphore: Ptr<SemaphoreOps>,
}
