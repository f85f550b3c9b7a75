//! parking_lot through the jostle plugin ABI: the worked example for authors outside C and C++.
//!
//! The harness owns every object's storage (size and alignment come from the tables below), calls `init` on it
//! once, never moves it, and calls `destroy` after last use. So each object here is a plain Rust value written
//! into that storage and dropped in place (`init`/`destroy` from the abi crate); the `extern "C"` functions only
//! cast the pointer back (`obj`).
//!
//! Offered: futex (parking_lot_core's address-keyed parking), mutex (parking_lot::Mutex), rwlock
//! (parking_lot::RawRwLock, with timed operations) and condvar (parking_lot::Condvar, which promises no spurious
//! wakeups: the strict profile).

use std::cell::UnsafeCell;
use std::mem::{align_of, size_of};
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use parking_lot::lock_api::{RawRwLock as _, RawRwLockTimed as _};
use parking_lot::{Condvar, Mutex, MutexGuard, RawRwLock};
use parking_lot_core::{FilterOp, ParkResult, DEFAULT_PARK_TOKEN, DEFAULT_UNPARK_TOKEN};

use jostle_plugin_abi::*;

fn nanos(t: i64) -> Duration {
    Duration::from_nanos(t.max(0) as u64)
}

// ---- futex: park on the word's address while it holds `expected`; unpark up to n parked threads ----

extern "C" fn futex_wait(word: *mut u32, expected: u32, timeout_ns: i64) -> c_int {
    let cell = unsafe { &*(word as *const AtomicU32) };
    let deadline = (timeout_ns >= 0).then(|| Instant::now() + nanos(timeout_ns));
    // `validate` runs under the address's queue lock, and wake takes the same lock: a store to the word
    // followed by a wake cannot slip between the check and the sleep.
    let validate = || cell.load(Ordering::SeqCst) == expected;
    match unsafe { parking_lot_core::park(word as usize, validate, || {}, |_, _| {}, DEFAULT_PARK_TOKEN, deadline) } {
        ParkResult::Unparked(_) => OK,
        ParkResult::Invalid => AGAIN,
        ParkResult::TimedOut => TIMEDOUT,
    }
}

extern "C" fn futex_wake(word: *mut u32, n: c_int) -> c_int {
    let mut left = n.max(0);
    let filter = |_| {
        if left == 0 {
            return FilterOp::Stop;
        }
        left -= 1;
        FilterOp::Unpark
    };
    let result = unsafe { parking_lot_core::unpark_filter(word as usize, filter, |_| DEFAULT_UNPARK_TOKEN) };
    result.unparked_threads as c_int
}

// ---- mutex: parking_lot::Mutex<()>. The C interface locks and unlocks in separate calls, so the guard of the
// owning thread waits in `guard` between them (only the owner touches it). ----

#[derive(Default)]
struct PlMutex {
    lock: Mutex<()>,
    guard: UnsafeCell<Option<MutexGuard<'static, ()>>>,
}

impl PlMutex {
    fn hold(&self, g: MutexGuard<'_, ()>) {
        // 'static is a lie the storage makes true: the harness destroys the mutex only after its last unlock.
        let g: MutexGuard<'static, ()> = unsafe { std::mem::transmute(g) };
        unsafe { *self.guard.get() = Some(g) }
    }
    fn take(&self) -> MutexGuard<'static, ()> {
        unsafe { (*self.guard.get()).take() }.expect("unlock of a parking_lot mutex this plugin did not lock")
    }
}

extern "C" fn mutex_lock(p: *mut c_void) {
    let m = obj::<PlMutex>(p);
    m.hold(m.lock.lock());
}
extern "C" fn mutex_try_lock(p: *mut c_void) -> c_int {
    let m = obj::<PlMutex>(p);
    match m.lock.try_lock() {
        Some(g) => {
            m.hold(g);
            1
        }
        None => 0,
    }
}
extern "C" fn mutex_unlock(p: *mut c_void) {
    drop(obj::<PlMutex>(p).take());
}

// ---- rwlock: the raw lock, whose operations map one to one ----

struct PlRwLock(RawRwLock);

impl Default for PlRwLock {
    fn default() -> Self {
        PlRwLock(RawRwLock::INIT)
    }
}

fn rw<'a>(p: *mut c_void) -> &'a RawRwLock {
    &obj::<PlRwLock>(p).0
}
fn flag(b: bool) -> c_int {
    b as c_int
}
fn timed(acquired: bool) -> c_int {
    if acquired { OK } else { TIMEDOUT }
}
extern "C" fn rw_lock(p: *mut c_void) {
    rw(p).lock_exclusive()
}
extern "C" fn rw_try_lock(p: *mut c_void) -> c_int {
    flag(rw(p).try_lock_exclusive())
}
extern "C" fn rw_unlock(p: *mut c_void) {
    unsafe { rw(p).unlock_exclusive() }
}
extern "C" fn rw_lock_shared(p: *mut c_void) {
    rw(p).lock_shared()
}
extern "C" fn rw_try_lock_shared(p: *mut c_void) -> c_int {
    flag(rw(p).try_lock_shared())
}
extern "C" fn rw_unlock_shared(p: *mut c_void) {
    unsafe { rw(p).unlock_shared() }
}
extern "C" fn rw_timed_lock(p: *mut c_void, t: i64) -> c_int {
    timed(rw(p).try_lock_exclusive_for(nanos(t)))
}
extern "C" fn rw_timed_lock_shared(p: *mut c_void, t: i64) -> c_int {
    timed(rw(p).try_lock_shared_for(nanos(t)))
}

// ---- condvar: parking_lot::Condvar with the mutex above. The waiter takes its guard out of the mutex for the
// wait (another thread may lock the mutex meanwhile) and puts it back once it holds the mutex again. ----

extern "C" fn cv_wait(cv: *mut c_void, m: *mut c_void) {
    let m = obj::<PlMutex>(m);
    let mut g = m.take();
    obj::<Condvar>(cv).wait(&mut g);
    m.hold(g);
}
extern "C" fn cv_timed_wait(cv: *mut c_void, m: *mut c_void, t: i64) -> c_int {
    let m = obj::<PlMutex>(m);
    let mut g = m.take();
    let r = obj::<Condvar>(cv).wait_for(&mut g, nanos(t));
    m.hold(g);
    if r.timed_out() { TIMEDOUT } else { OK }
}
extern "C" fn cv_signal(cv: *mut c_void) {
    obj::<Condvar>(cv).notify_one();
}
extern "C" fn cv_broadcast(cv: *mut c_void) {
    obj::<Condvar>(cv).notify_all();
}

// ---- the tables ----

static FUTEX: FutexOps = FutexOps { wait: futex_wait, wake: futex_wake };

static MUTEX: MutexOps = MutexOps {
    size: size_of::<PlMutex>(),
    align: align_of::<PlMutex>(),
    init: init::<PlMutex>,
    destroy: destroy::<PlMutex>,
    lock: mutex_lock,
    try_lock: mutex_try_lock,
    unlock: mutex_unlock,
};

static RWLOCK: RwLockOps = RwLockOps {
    size: size_of::<PlRwLock>(),
    align: align_of::<PlRwLock>(),
    init: init::<PlRwLock>,
    destroy: destroy::<PlRwLock>,
    lock: rw_lock,
    try_lock: rw_try_lock,
    unlock: rw_unlock,
    lock_shared: rw_lock_shared,
    try_lock_shared: rw_try_lock_shared,
    unlock_shared: rw_unlock_shared,
    timed_lock: Some(rw_timed_lock),
    timed_lock_shared: Some(rw_timed_lock_shared),
};

static CONDVAR: CondvarOps = CondvarOps {
    size: size_of::<Condvar>(),
    align: align_of::<Condvar>(),
    init: init::<Condvar>,
    destroy: destroy::<Condvar>,
    wait: cv_wait,
    timed_wait: cv_timed_wait,
    signal: cv_signal,
    broadcast: cv_broadcast,
    // "A wait will only return a non-timeout result if it was woken up by notify_one or notify_all"
    // (parking_lot's Condvar documentation), and its waiters queue in arrival order.
    profile: cstr(b"strict\0"),
};

static PLUGIN: Plugin = Plugin {
    abi_version: ABI_VERSION,
    struct_size: size_of::<Plugin>() as u32,
    name: cstr(b"parking_lot\0"),
    description: cstr(b"Rust parking_lot 0.12: parking_lot_core park/unpark, Mutex, RawRwLock, Condvar\0"),
    futex: Ptr(&FUTEX),
    mutex: Ptr(&MUTEX),
    rwlock: Ptr(&RWLOCK),
    condvar: Ptr(&CONDVAR),
    semaphore: Ptr::NULL,
};

#[no_mangle]
pub extern "C" fn jostle_plugin_entry() -> *const Plugin {
    &PLUGIN
}
