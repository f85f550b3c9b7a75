//! The spin crate's locks through the jostle plugin ABI: spin::mutex::SpinMutex and spin::RwLock. Their guards
//! cannot live across two C calls, so lock() forgets the guard and unlock() releases with the crate's `force_*`
//! functions, which exist for exactly this (FFI and manual locking).

use std::mem::{align_of, forget, size_of};
use std::os::raw::{c_int, c_void};

use jostle_plugin_abi::*;

type SpinMutex = spin::mutex::SpinMutex<()>;
type SpinRwLock = spin::RwLock<()>;

#[derive(Default)]
struct Mutex(SpinMutex);
#[derive(Default)]
struct RwLock(SpinRwLock);

fn m<'a>(p: *mut c_void) -> &'a SpinMutex {
    &obj::<Mutex>(p).0
}
fn rw<'a>(p: *mut c_void) -> &'a SpinRwLock {
    &obj::<RwLock>(p).0
}
/// 1 and keep the lock when a guard came back, else 0.
fn took<G>(guard: Option<G>) -> c_int {
    guard.map(forget).is_some() as c_int
}

extern "C" fn mutex_lock(p: *mut c_void) {
    forget(m(p).lock())
}
extern "C" fn mutex_try_lock(p: *mut c_void) -> c_int {
    took(m(p).try_lock())
}
extern "C" fn mutex_unlock(p: *mut c_void) {
    unsafe { m(p).force_unlock() }
}

extern "C" fn rw_lock(p: *mut c_void) {
    forget(rw(p).write())
}
extern "C" fn rw_try_lock(p: *mut c_void) -> c_int {
    took(rw(p).try_write())
}
extern "C" fn rw_unlock(p: *mut c_void) {
    unsafe { rw(p).force_write_unlock() }
}
extern "C" fn rw_lock_shared(p: *mut c_void) {
    forget(rw(p).read())
}
extern "C" fn rw_try_lock_shared(p: *mut c_void) -> c_int {
    took(rw(p).try_read())
}
extern "C" fn rw_unlock_shared(p: *mut c_void) {
    unsafe { rw(p).force_read_decrement() }
}

static MUTEX: MutexOps = MutexOps {
    size: size_of::<Mutex>(),
    align: align_of::<Mutex>(),
    init: init::<Mutex>,
    destroy: destroy::<Mutex>,
    lock: mutex_lock,
    try_lock: mutex_try_lock,
    unlock: mutex_unlock,
};

static RWLOCK: RwLockOps = RwLockOps {
    size: size_of::<RwLock>(),
    align: align_of::<RwLock>(),
    init: init::<RwLock>,
    destroy: destroy::<RwLock>,
    lock: rw_lock,
    try_lock: rw_try_lock,
    unlock: rw_unlock,
    lock_shared: rw_lock_shared,
    try_lock_shared: rw_try_lock_shared,
    unlock_shared: rw_unlock_shared,
    timed_lock: None,
    timed_lock_shared: None,
};

static PLUGIN: Plugin = Plugin {
    abi_version: ABI_VERSION,
    struct_size: size_of::<Plugin>() as u32,
    name: cstr(b"spin\0"),
    description: cstr(b"Rust spin 0.9: SpinMutex, RwLock (busy-waiting)\0"),
    futex: Ptr::NULL,
    mutex: Ptr(&MUTEX),
    rwlock: Ptr(&RWLOCK),
    condvar: Ptr::NULL,
    semaphore: Ptr::NULL,
};

#[no_mangle]
pub extern "C" fn jostle_plugin_entry() -> *const Plugin {
    &PLUGIN
}
