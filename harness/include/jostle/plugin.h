/* The jostle plugin ABI, version 2: how a shared library offers its own primitives to the harness.
 * Long because: the ABI is one C header by design (a plugin author copies one file), and every table is in it.
 * A plugin exports one C function,
 *
 *     const jostle_plugin* jostle_plugin_entry(void);
 *
 * returning a table that lives as long as the library stays loaded. The entry is called once, right after
 * dlopen, and must return promptly (the harness gives up after a few seconds and says so). The table names
 * the ABI version it was built against (JOSTLE_PLUGIN_ABI_VERSION), the plugin's name (the backend name in
 * instance ids, e.g. condvar/mutex_smoke@NAME; letters, digits and '_' only, at most 32 characters) and any
 * subset of the sub-tables below; a null sub-table means "not offered".
 *
 * Storage. Objects (a mutex, a condvar, an event...) are opaque to the harness. The plugin declares their size
 * and alignment; the harness owns the storage, calls init() on it before first use and destroy() after last
 * use (no thread is inside any other operation on it then), and never copies or moves an initialised object.
 * Every pointer the harness passes (an object, a node, an output argument) stays owned by the harness; the
 * plugin must not keep it past the call unless the function's text says so.
 *
 * Required functions. Every function pointer in an offered sub-table is required unless its comment says
 * "optional" (null there means the operation is not offered, and the cases that need it do not run).
 * Functions may be called from any thread, concurrently, as the primitive's contract allows; the contracts
 * with their clause ids are in harness/include/jostle/contracts/ and each sub-table below names its file.
 *
 * Time. Every timeout is a relative duration in nanoseconds, measured on CLOCK_MONOTONIC from the call. A timed
 * call gets timeout_ns >= 0 unless its text says "< 0: no timeout". A timed call that reports JOSTLE_TIMEDOUT
 * must not return before the duration has passed ([*.lower-bound] clauses) and should return within a few
 * milliseconds after it ([*.slack]); 0 is a non-blocking attempt.
 *
 * Versions. The harness speaks every version up to its own. A table built for version N is read as the
 * version-N layout: fields appended in a later version (marked "version 2" below) are never read from an older
 * plugin, so a version-1 plugin loads and runs unchanged. struct_size must be at least the size of the
 * jostle_plugin struct of the version the table claims. Later versions only append fields, to jostle_plugin and
 * to the sub-tables; no field is ever removed, reordered or retyped.
 *
 * Result codes. Functions that can fail return one of the JOSTLE_* codes below; each function lists the ones it
 * may return, and any other value is a contract violation the harness reports.
 *
 * Guide: docs/writing-a-plugin.md (what runs for each sub-table, worked examples in C, C++, Rust and Zig).
 * Example: harness/backends/plugin/examples/example_plugin.c. Check a build: ./jostle plugin check PATH.
 */
#ifndef JOSTLE_PLUGIN_H
#define JOSTLE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JOSTLE_PLUGIN_ABI_VERSION 2u
#define JOSTLE_PLUGIN_ENTRY_SYMBOL "jostle_plugin_entry"

/* Result codes. */
#define JOSTLE_OK 0        /* done: woken, acquired, sent, received */
#define JOSTLE_TIMEDOUT 1  /* the timeout passed first */
#define JOSTLE_AGAIN 2     /* futex / waiter list: the word did not hold the expected value */
/* version 2 */
#define JOSTLE_CLOSED 3    /* channel / executor: closed */
#define JOSTLE_FULL 4      /* channel try_send: no room */
#define JOSTLE_EMPTY 5     /* channel try_recv: nothing buffered */
#define JOSTLE_BUSY 6      /* owned mutex try_lock: held by another thread; executor: saturated */
#define JOSTLE_DEADLOCK 7  /* error-checking mutex: the caller already holds it */
#define JOSTLE_NOT_OWNER 8 /* owned mutex unlock by a thread that does not hold it */
#define JOSTLE_CANCELLED 9 /* executor: the task was cancelled */
#define JOSTLE_FAILED 10   /* executor: the body failed (threw) */
#define JOSTLE_INVALID 11  /* executor: a bad policy or a negative duration */

/* ---- futex: wait/wake on a 32-bit word (contracts/futex.h) ----------------------------------------------- */
typedef struct jostle_futex_ops {
  /* Blocks while *word == expected (the check and the block are one atomic step with respect to wake()) until
   * a wake or a spurious wakeup. timeout_ns < 0: no timeout. Returns JOSTLE_OK (woken or spurious), JOSTLE_AGAIN
   * (the value differed, at once) or JOSTLE_TIMEDOUT. */
  int (*wait)(uint32_t* word, uint32_t expected, int64_t timeout_ns);
  /* Wakes at most n waiters on word (n == 0 wakes none: Linux FUTEX_WAKE wakes one for 0, so do not pass 0
   * through); returns how many it woke, or -1 if it cannot tell. */
  int (*wake)(uint32_t* word, int n);
} jostle_futex_ops;

/* ---- mutex (contracts/mutex.h) ----------------------------------------------------------------------------- */
typedef struct jostle_mutex_ops {
  size_t size, align;
  void (*init)(void* m);
  void (*destroy)(void* m);
  /* Returns holding m. Not required when node_size != 0 (then the *_node forms are used instead). */
  void (*lock)(void* m);
  int (*try_lock)(void* m); /* 1 acquired, 0 busy (never blocks) */
  void (*unlock)(void* m);  /* only the holder calls it */
  /* version 2 */
  /* Optional: timed lock. JOSTLE_OK holding m, or JOSTLE_TIMEDOUT (m was held for the whole timeout; a locker
   * that gives up leaves m as it found it: blocked lockers are still woken by the next unlock). */
  int (*timed_lock)(void* m, int64_t timeout_ns);
  /* Per-acquisition storage for queue locks (MCS, CLH, oneTBB's queuing_mutex). node_size == 0: not used.
   * Otherwise the harness calls lock_node/try_lock_node/timed_lock_node/unlock_node instead of the plain forms,
   * passing a node of node_size bytes aligned to node_align that it owns: the same node for an acquisition and
   * its release, valid (and untouched by the harness) from the start of the locking call until unlock_node
   * returns, or until a failed try_lock_node/timed_lock_node returns. Distinct concurrent acquisitions get
   * distinct nodes; a node's bytes are unspecified at the start of each locking call. */
  size_t node_size, node_align;
  void (*lock_node)(void* m, void* node);
  int (*try_lock_node)(void* m, void* node); /* 1 acquired, 0 busy */
  void (*unlock_node)(void* m, void* node);
  int (*timed_lock_node)(void* m, void* node, int64_t timeout_ns); /* optional, as timed_lock */
} jostle_mutex_ops;

/* ---- reader-writer lock (contracts/rwlock.h) ------------------------------------------------------------------ */
typedef struct jostle_rwlock_ops {
  size_t size, align;
  void (*init)(void* rw);
  void (*destroy)(void* rw);
  void (*lock)(void* rw);
  int (*try_lock)(void* rw); /* 1 acquired, 0 busy */
  void (*unlock)(void* rw);
  void (*lock_shared)(void* rw);
  int (*try_lock_shared)(void* rw);
  void (*unlock_shared)(void* rw);
  /* Optional, offered together: JOSTLE_OK holding rw, or JOSTLE_TIMEDOUT no earlier than timeout_ns. A writer
   * that gives up leaves no trace: readers it was holding back are admitted at once. */
  int (*timed_lock)(void* rw, int64_t timeout_ns);
  int (*timed_lock_shared)(void* rw, int64_t timeout_ns);
} jostle_rwlock_ops;

/* ---- condition variable, used with the plugin's own mutex (contracts/condvar.h) ------------------------------
 * Requires the mutex sub-table with the plain lock/unlock (wait() receives an object made from that table). */
#define JOSTLE_CONDVAR_TIMEOUT_KEEPS_SIGNAL 1u /* flags: [condvar.timed.no-swallow], see below */
typedef struct jostle_condvar_ops {
  size_t size, align;
  void (*init)(void* cv);
  void (*destroy)(void* cv);
  /* The caller holds mutex. Atomically releases it and blocks; returns holding it again after a signal that
   * picked this waiter, or spuriously (the "posix" profile only). */
  void (*wait)(void* cv, void* mutex);
  int (*timed_wait)(void* cv, void* mutex, int64_t timeout_ns); /* JOSTLE_OK (woken) or JOSTLE_TIMEDOUT */
  void (*signal)(void* cv);
  void (*broadcast)(void* cv);
  /* "posix" (spurious wakeups allowed) or "strict" (none, FIFO), or null for "posix". */
  const char* profile;
  /* version 2 */
  /* JOSTLE_CONDVAR_TIMEOUT_KEEPS_SIGNAL: a signal that picked a waiter whose timer fires too is not lost: the
   * waiter reports JOSTLE_OK, or the signal moves on to another waiter. POSIX does not promise it; declare it
   * only if you do, and cv_timeout_signal_handoff checks it. */
  uint32_t flags;
} jostle_condvar_ops;

/* ---- counting semaphore (contracts/semaphore.h) ---------------------------------------------------------------- */
typedef struct jostle_semaphore_ops {
  size_t size, align;
  void (*init)(void* sem, uint32_t initial);
  void (*destroy)(void* sem);
  void (*acquire)(void* sem);                          /* takes one permit, blocking until one is available */
  int (*try_acquire)(void* sem);                       /* 1 acquired, 0 no permit */
  int (*timed_acquire)(void* sem, int64_t timeout_ns); /* JOSTLE_OK, or JOSTLE_TIMEDOUT having taken nothing */
  void (*release)(void* sem);                          /* adds one permit, waking one blocked acquirer if any */
  /* version 2 */
  /* Optional: the permits available now (asked only when no thread is inside another operation). Without it
   * the harness counts them by try_acquire until it fails and gives them back with release. */
  uint32_t (*permits)(void* sem);
} jostle_semaphore_ops;

/* ================================ version 2 sub-tables ================================ */

/* ---- reset event (contracts/event.h) ------------------------------------------------------------------------------
 * Starts unset. set() latches and releases every waiter; reset() unsets. set() happens-before every wait that
 * returns because of it. */
typedef struct jostle_event_ops {
  size_t size, align;
  void (*init)(void* e);
  void (*destroy)(void* e);
  void (*set)(void* e);
  void (*reset)(void* e);
  int (*is_set)(void* e); /* 1 set, 0 not */
  void (*wait)(void* e);  /* returns once set (at once if it is) */
  /* JOSTLE_OK once set, JOSTLE_TIMEDOUT if still unset after timeout_ns; 0 is a non-blocking is_set. */
  int (*timed_wait)(void* e, int64_t timeout_ns);
} jostle_event_ops;

/* ---- wait group (contracts/waitgroup.h) -----------------------------------------------------------------------------
 * A counter of outstanding work: starts at 0; wait returns once it is 0. The finish that brings it to 0
 * releases every waiter, also one that arrives while that finish runs. Reuse after a round someone waited in
 * needs reset() first, once every waiter returned. */
typedef struct jostle_waitgroup_ops {
  size_t size, align;
  void (*init)(void* g);
  void (*destroy)(void* g);
  void (*start)(void* g, uint32_t n); /* counter += n, never blocks */
  void (*finish)(void* g);            /* counter -= 1 */
  void (*wait)(void* g);
  int (*is_done)(void* g); /* 1 when the counter is 0 */
  void (*reset)(void* g);  /* back to the initial state; only when done and no waiter is inside wait */
  int (*timed_wait)(void* g, int64_t timeout_ns); /* optional: JOSTLE_OK done, JOSTLE_TIMEDOUT */
} jostle_waitgroup_ops;

/* ---- owner-checked mutex: error-checking or recursive (contracts/mutex.h, OwnerCheckedMutex) ---------------------
 * The locks a VM's threading layer gives its programs. recursive != 0: the holder may lock again (try_lock too)
 * and the mutex is released when the count returns to 0. recursive == 0 (error-checking): a relock by the
 * holder returns JOSTLE_DEADLOCK instead of hanging. */
typedef struct jostle_owned_mutex_ops {
  size_t size, align;
  int recursive;
  void (*init)(void* m);
  void (*destroy)(void* m);
  int (*lock)(void* m);     /* JOSTLE_OK holding it (count + 1), or JOSTLE_DEADLOCK (error-checking kind) */
  int (*try_lock)(void* m); /* JOSTLE_OK, JOSTLE_BUSY (another thread holds it) or JOSTLE_DEADLOCK */
  int (*unlock)(void* m);   /* JOSTLE_OK, or JOSTLE_NOT_OWNER having changed nothing */
} jostle_owned_mutex_ops;

/* ---- bounded channel of 64-bit items (contracts/channel.h) -----------------------------------------------------------
 * MPMC FIFO with a fixed capacity >= 1 that can be closed. Every item sent with JOSTLE_OK is received exactly
 * once, one sender's items in its order; never more than capacity items are buffered. After close(), sends
 * return JOSTLE_CLOSED, items already sent are still received, then receives return JOSTLE_CLOSED; every
 * blocked sender and receiver returns. */
typedef struct jostle_channel_ops {
  size_t size, align;
  void (*init)(void* ch, size_t capacity);
  void (*destroy)(void* ch);
  int (*send)(void* ch, uint64_t v);                         /* JOSTLE_OK or JOSTLE_CLOSED; blocks while full */
  int (*try_send)(void* ch, uint64_t v);                     /* JOSTLE_OK, JOSTLE_FULL or JOSTLE_CLOSED */
  int (*timed_send)(void* ch, uint64_t v, int64_t timeout_ns); /* JOSTLE_OK, JOSTLE_CLOSED or JOSTLE_TIMEDOUT */
  int (*recv)(void* ch, uint64_t* out);                      /* JOSTLE_OK (*out set) or JOSTLE_CLOSED */
  int (*try_recv)(void* ch, uint64_t* out);                  /* JOSTLE_OK, JOSTLE_EMPTY or JOSTLE_CLOSED */
  int (*timed_recv)(void* ch, uint64_t* out, int64_t timeout_ns); /* JOSTLE_OK, JOSTLE_CLOSED, JOSTLE_TIMEDOUT */
  void (*close)(void* ch);
} jostle_channel_ops;

/* ---- threads (contracts/thread.h) -------------------------------------------------------------------------------------
 * A handle is 64 bytes of harness-owned storage the plugin fills in spawn(); the harness may copy those bytes
 * (memcpy) between spawn and the one join/detach, so keep no pointer into the handle itself. */
typedef struct jostle_thread_handle {
  uint64_t words[8];
} jostle_thread_handle;
typedef struct jostle_thread_stats {
  uint64_t acquired, released, double_released, exited;
} jostle_thread_stats;
typedef struct jostle_thread_ops {
  size_t max_name_len; /* longest name set_name accepts: 15 (Linux; the thread cases check that limit) */
  /* Starts a thread running entry(arg): 0, or an errno (EAGAIN) and no thread. */
  int (*spawn)(jostle_thread_handle* h, void (*entry)(void* arg), void* arg);
  void (*join)(jostle_thread_handle* h); /* everything the thread wrote is visible afterwards */
  /* Optional: 0 joined (as join), or ETIMEDOUT after at least timeout_ns with the handle untouched (still
   * joinable). A thread that already finished is joined at once. */
  int (*timed_join)(jostle_thread_handle* h, int64_t timeout_ns);
  /* The thread keeps running; its resources are released exactly once when it and the detach are both done. */
  void (*detach)(jostle_thread_handle* h);
  /* Names: 0 or an errno; a name longer than max_name_len fails with ERANGE and changes nothing; get_name with
   * len <= max_name_len fails with ERANGE. */
  int (*set_name)(jostle_thread_handle* h, const char* name);
  int (*get_name)(jostle_thread_handle* h, char* buf, size_t len);
  int (*set_name_self)(const char* name);
  int (*get_name_self)(char* buf, size_t len);
  uint64_t (*current_id)(void); /* distinct among live threads */
  void (*yield)(void);
  void (*sleep)(int64_t ns); /* at least ns */
  unsigned (*cpu_count)(void); /* >= 1 */
  /* Control-block accounting, process-wide: every block acquired is released exactly once (acquired == released
   * once all threads exited, double_released == 0); exited is bumped as the thread's very last step. */
  void (*stats)(jostle_thread_stats* out);
} jostle_thread_ops;

/* ---- virtual-thread executor (contracts/executor.h) ---------------------------------------------------------------
 * Tasks are plugin-owned, referred to by an opaque pointer; spawn_on hands the harness one reference, which it
 * gives back with release() exactly once (after which the pointer is not used). A body is harness code: call
 * body.run exactly once on a carrier unless the task is cancelled before it starts, then body.drop exactly once
 * after run returned (or instead of run). run stores the value and returns JOSTLE_OK, JOSTLE_FAILED (the body
 * threw) or JOSTLE_CANCELLED (the body acknowledged a cancel request); join reports that outcome. */
typedef struct jostle_vt_body {
  int (*run)(void* arg, int64_t* value);
  void (*drop)(void* arg);
  void* arg;
} jostle_vt_body;
#define JOSTLE_SATURATION_BUSY 0
#define JOSTLE_SATURATION_TIMEOUT 1
#define JOSTLE_VT_FOREVER INT64_MAX
typedef struct jostle_executor_policy {
  int32_t min_carriers, max_carriers, queue_limit; /* tasks admitted (queued + running + parked) <= queue_limit */
  int32_t on_saturation;                           /* JOSTLE_SATURATION_* */
  int64_t timeout_ns;                              /* for JOSTLE_SATURATION_TIMEOUT; JOSTLE_VT_FOREVER: none */
} jostle_executor_policy;
typedef struct jostle_executor_ops {
  size_t size, align;
  /* JOSTLE_OK, or JOSTLE_INVALID for a bad policy (max < 1, min > max, queue_limit < 1, timeout < 0); then the
   * object is not initialised and destroy is not called. */
  int (*init)(void* ex, const jostle_executor_policy* policy);
  void (*destroy)(void* ex); /* after close(), once every task was joined or released */
  void (*close)(void* ex);   /* later spawn_on returns JOSTLE_CLOSED */
  /* in_use + free == limit at every observation */
  void (*slots)(void* ex, int32_t* in_use, int32_t* free_slots, int32_t* limit);
  /* JOSTLE_OK (*task set), JOSTLE_BUSY (saturated, on_saturation busy), JOSTLE_TIMEDOUT (saturated for the whole
   * policy timeout), JOSTLE_CLOSED. On anything but JOSTLE_OK the body is dropped before returning. A submitter
   * that gives up never strands one queued behind it. */
  int (*spawn_on)(void* ex, jostle_vt_body body, void** task);
  /* The terminal state: JOSTLE_OK (*value set), JOSTLE_FAILED (dominates a cancel), JOSTLE_CANCELLED, or
   * JOSTLE_CLOSED when an earlier join already took the result. */
  int (*join)(void* task, int64_t* value);
  /* As join, or JOSTLE_TIMEDOUT when no terminal state exists after timeout_ns (consumes nothing);
   * JOSTLE_INVALID for timeout_ns < 0. */
  int (*join_timeout)(void* task, int64_t timeout_ns, int64_t* value);
  /* Cooperative, idempotent. A task that has not started never starts; its slot is released at once. */
  void (*cancel)(void* task);
  void (*release)(void* task);
  /* Inside a task's body: */
  int (*cancelled)(void);        /* 1 when the current task has a cancel request */
  int (*sleep)(int64_t ns);      /* JOSTLE_OK after at least ns, JOSTLE_CANCELLED early, JOSTLE_INVALID if < 0 */
  /* Consumes the permit: JOSTLE_OK, JOSTLE_TIMEDOUT, JOSTLE_CANCELLED, JOSTLE_INVALID (< 0); JOSTLE_VT_FOREVER:
   * no deadline. */
  int (*park)(int64_t ns);
  void (*unpark)(void* task); /* one permit (they do not accumulate); an unpark before the park is kept */
} jostle_executor_ops;

/* ---- waiter list: Atomics.wait / waitAsync / notify with the engine's own list (contracts/waiter_list.h) -------
 * One object per agent cluster. cell points at a naturally aligned int32 (width 4) or int64 (width 8) element of
 * memory shared by the agents; the list key is the cell's address. The harness does the spec's argument checks
 * (shared buffer, index range, [[CanBlock]]) before calling; the plugin owns the list: one FIFO per cell, sync
 * and async waiters together in arrival order. The value comparison (seq_cst) and the enqueue are one step with
 * respect to notify; nothing but a notify or the deadline ends a wait. */
typedef void (*jostle_settle_fn)(void* arg, int status);
typedef struct jostle_waiter_list_ops {
  size_t size, align;
  void (*init)(void* wl);
  void (*destroy)(void* wl); /* no waiter is pending then */
  /* JOSTLE_AGAIN (not-equal, at once), JOSTLE_OK (a notify removed it) or JOSTLE_TIMEDOUT (still in the list
   * at the deadline: it removes itself). A notify that removed the waiter wins over its deadline. timeout_ns
   * < 0: no timeout; 0: JOSTLE_AGAIN or JOSTLE_TIMEDOUT without blocking. */
  int (*wait)(void* wl, void* cell, unsigned width, int64_t expected, int64_t timeout_ns);
  /* JOSTLE_AGAIN or JOSTLE_TIMEDOUT (timeout 0) at once, settle never called; or JOSTLE_OK: enqueued, and the
   * plugin later calls settle(arg, JOSTLE_OK or JOSTLE_TIMEDOUT) exactly once, from any thread (the harness
   * moves it onto the waiting agent's loop), never before the deadline for JOSTLE_TIMEDOUT. */
  int (*wait_async)(void* wl, void* cell, unsigned width, int64_t expected, int64_t timeout_ns,
                    jostle_settle_fn settle, void* arg);
  /* Removes min(count, waiters) from the head of the cell's list and returns exactly that many; count
   * UINT64_MAX: all. */
  uint64_t (*notify)(void* wl, void* cell, uint64_t count);
  size_t (*waiter_count)(void* wl, void* cell); /* sync + async waiters in the cell's list now */
  void (*on_write)(void* wl, void* cell);       /* optional: called after every atomic store/RMW on a cell */
} jostle_waiter_list_ops;

/* ---- atomics on 8/16/32/64-bit cells (contracts/atomics.h) ----------------------------------------------------------
 * An engine's Atomics operations. Each call is one indivisible, sequentially consistent operation on a naturally
 * aligned cell of width 1, 2, 4 or 8 bytes; values travel zero-extended in a uint64_t (the harness truncates and
 * sign-converts). add/sub wrap modulo 2^(8*width); an operation never changes a neighbouring cell. */
#define JOSTLE_RMW_ADD 0
#define JOSTLE_RMW_SUB 1
#define JOSTLE_RMW_AND 2
#define JOSTLE_RMW_OR 3
#define JOSTLE_RMW_XOR 4
#define JOSTLE_RMW_EXCHANGE 5
typedef struct jostle_atomics_ops {
  uint64_t (*load)(const void* cell, unsigned width);
  void (*store)(void* cell, unsigned width, uint64_t v);
  uint64_t (*rmw)(void* cell, unsigned width, int op, uint64_t operand); /* returns the old value */
  /* Stores replacement iff the old value == expected; returns the old value. */
  uint64_t (*compare_exchange)(void* cell, unsigned width, uint64_t expected, uint64_t replacement);
  int (*is_lock_free)(unsigned bytes); /* the same answer every time, from any thread */
  void (*pause)(void);                 /* optional: a spin-wait hint */
  int native; /* nonzero: width-4 operations are lock-free (is_lock_free(4) must then say 1) */
} jostle_atomics_ops;

/* ---- stop-the-world safepoints (contracts/safepoint.h) ---------------------------------------------------------------
 * One object per VM. Mutators attach, poll and detach; one collector at a time (not itself a mutator) stops the
 * world and resumes it. */
typedef struct jostle_safepoint_ops {
  size_t size, align;
  void (*init)(void* sp);
  void (*destroy)(void* sp);
  uint64_t (*attach)(void* sp);          /* waits while a stop is in progress; returns the mutator's id */
  void (*detach)(void* sp, uint64_t id); /* a pending stop no longer waits for it */
  void (*poll)(void* sp, uint64_t id);   /* returns at once unless a stop is requested; then stops until resume */
  void (*stop_the_world)(void* sp);      /* returns once every attached mutator is stopped in poll */
  void (*resume)(void* sp);              /* releases the stopped mutators and threads waiting in attach */
} jostle_safepoint_ops;

/* ---- cross-thread async notifier, an event loop's wakeup (contracts/async.h) -----------------------------------
 * Loop side: a pollable file descriptor. The harness's loop (one thread) arms, waits with epoll for EPOLLIN on
 * fd(), drains, then runs its callback. notify() may come from any thread at any time and never blocks; a
 * notification sent before the wait is armed is kept; pending notifications coalesce into one callback; one sent
 * after the last drain fires another callback. (libuv: the loop's uv_backend_fd, drained with UV_RUN_NOWAIT.) */
typedef struct jostle_async_ops {
  size_t size, align;
  int (*init)(void* a); /* 0, or an errno (no object then) */
  void (*destroy)(void* a);
  void (*notify)(void* a);
  int (*fd)(void* a);      /* readable while a notification is pending; the same fd for the object's life */
  void (*arm)(void* a);    /* a wait is being armed (keep pending notifications) */
  void (*drain)(void* a);  /* consume every pending notification; the fd is then not readable unless a newer
                            * notify arrived */
} jostle_async_ops;

/* ---- the plugin table ------------------------------------------------------------------------------------------ */
typedef struct jostle_plugin {
  uint32_t abi_version; /* JOSTLE_PLUGIN_ABI_VERSION */
  uint32_t struct_size; /* sizeof(jostle_plugin) */
  const char* name;
  const char* description;
  const jostle_futex_ops* futex;
  const jostle_mutex_ops* mutex;
  const jostle_rwlock_ops* rwlock;
  const jostle_condvar_ops* condvar;
  const jostle_semaphore_ops* semaphore;
  /* version 2 */
  const jostle_event_ops* event;
  const jostle_waitgroup_ops* waitgroup;
  const jostle_owned_mutex_ops* owned_mutex;
  const jostle_channel_ops* channel;
  const jostle_thread_ops* thread;
  const jostle_executor_ops* executor;
  const jostle_waiter_list_ops* waiter_list;
  const jostle_atomics_ops* atomics;
  const jostle_safepoint_ops* safepoint;
  const jostle_async_ops* async;
} jostle_plugin;

/* The size of a version-1 table (the fields before `event`). */
#define JOSTLE_PLUGIN_V1_SIZE offsetof(jostle_plugin, event)

typedef const jostle_plugin* (*jostle_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* JOSTLE_PLUGIN_H */
