//! The C declarations of harness/include/jostle/plugin.h (ABI version 1), written out by hand: the header is
//! small and stable (append-only), so no bindgen. Field order and types must match the header exactly.
//!
//! Also the two helpers every plugin needs for harness-owned objects: `obj` (the object behind a `void*`) and
//! `init`/`destroy` (construct in place, drop in place).

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

/// The semaphore table (not used by the Rust plugins yet: declared opaque).
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

/// The object of type T in harness-owned storage (the harness never moves it between init and destroy).
pub fn obj<'a, T>(p: *mut c_void) -> &'a T {
    unsafe { &*(p as *const T) }
}

/// Constructs T in the storage the harness allocated with the table's size and alignment.
pub extern "C" fn init<T: Default>(p: *mut c_void) {
    unsafe { std::ptr::write(p as *mut T, T::default()) }
}

/// Drops the T constructed by `init`; the harness calls it once, after last use.
pub extern "C" fn destroy<T>(p: *mut c_void) {
    unsafe { std::ptr::drop_in_place(p as *mut T) }
}

/// A NUL-terminated static string for the tables.
pub const fn cstr(s: &'static [u8]) -> Ptr<c_char> {
    Ptr(s.as_ptr() as *const c_char)
}
