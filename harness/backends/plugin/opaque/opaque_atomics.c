/* Opaque mutant: an engine's Atomics operations whose 1- and 2-byte cells are emulated on the aligned 32-bit
 * word that contains them (the lane-mask CAS expansion that compilers and JS engines use on targets without
 * byte or halfword atomics: MIPS, ARM before v6K, RISC-V without Zabha, as LL/SC or CAS loops), with a retry loop
 * that takes the CAS's expected value from a second load of the word instead of the word the new value was
 * computed from. The new word is built from the first load; a concurrent update of the same lane, or of a
 * NEIGHBOURING lane in the same word, that lands between that load and the re-read makes the re-read see it,
 * so the CAS succeeds and writes back the stale word: a lost update, and a neighbouring element silently
 * restored to its old value. This is the classic mistake of hand-written CAS loops: the expected value is
 * refreshed at the wrong place, as if the CAS meant "nobody is writing right now" rather than "nothing changed
 * since I read it". The window is the few instructions between the two loads (the lane arithmetic);
 * nothing in the library widens it. Widths 4 and 8 use the __atomic builtins directly and are correct. Loads
 * of 1/2-byte cells are one load of the word (correct); stores go through the same loop as the RMWs (a
 * sub-word store has to, to leave the neighbours alone), so they share the defect.
 *
 * Build with -DJOSTLE_OPAQUE_FIXED for the fixed library: the CAS's expected value is the word the new value
 * was computed from, and a failed CAS recomputes from the word it returns (the textbook expansion; the only
 * difference between the two builds).
 *
 * Layout: no state. A sub-word cell at address a lives in the word at a & ~3, in the lane at byte a & 3
 * (shifted by its byte offset on a little-endian machine, by the mirrored one on a big-endian one); every
 * operation is seq_cst (each word access is a seq_cst __atomic on the whole word). */
/* Needs neither futexes nor the spinlock, so not opaque_common.h (whose #define _GNU_SOURCE also clashes with a
 * -D_GNU_SOURCE build). */
#include <stdint.h>

#include "jostle/plugin.h"

typedef struct {
  uint32_t* word;
  unsigned shift;
  uint32_t mask; /* the lane's bits, unshifted: 0xff or 0xffff */
} oat_lane;

static oat_lane oat_lane_of(const void* cell, unsigned width) {
  const uintptr_t a = (uintptr_t)cell;
  const unsigned byte = (unsigned)(a & 3);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  const unsigned shift = (4 - width - byte) * 8;
#else
  const unsigned shift = byte * 8;
#endif
  const oat_lane l = {(uint32_t*)(a & ~(uintptr_t)3), shift, width == 1 ? 0xffu : 0xffffu};
  return l;
}

static uint32_t oat_extract(oat_lane l, uint32_t w) { return (w >> l.shift) & l.mask; }

static uint32_t oat_merge(oat_lane l, uint32_t w, uint32_t lane_value) {
  return (w & ~(l.mask << l.shift)) | ((lane_value & l.mask) << l.shift);
}

static uint64_t oat_apply(int op, uint64_t old, uint64_t operand) {
  switch (op) {
    case JOSTLE_RMW_ADD: return old + operand;
    case JOSTLE_RMW_SUB: return old - operand;
    case JOSTLE_RMW_AND: return old & operand;
    case JOSTLE_RMW_OR: return old | operand;
    case JOSTLE_RMW_XOR: return old ^ operand;
    default: return operand; /* exchange */
  }
}

/* Installs `next` (the whole new word, computed from w) if the word still allows it. Returns 1 on success; on
 * failure *w is the word now in memory, for the caller to recompute from. */
static int oat_word_cas(uint32_t* word, uint32_t* w, uint32_t next) {
#ifdef JOSTLE_OPAQUE_FIXED
  /* Fixed: the expected value is the word `next` was computed from; any change since then fails the CAS. */
  return __atomic_compare_exchange_n(word, w, next, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
#else
  /* The defect: the expected value is a fresh load, not *w. An update of this lane or a neighbouring one
     between the load that produced *w and this one is in `seen`, so the CAS succeeds and overwrites it with
     the stale lanes of `next`. */
  uint32_t seen = __atomic_load_n(word, __ATOMIC_SEQ_CST);
  if (__atomic_compare_exchange_n(word, &seen, next, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return 1;
  *w = seen;
  return 0;
#endif
}

/* One RMW of a 1/2-byte lane through the containing word; returns the old lane value (zero-extended). */
static uint64_t oat_lane_rmw(void* cell, unsigned width, int op, uint64_t operand) {
  const oat_lane l = oat_lane_of(cell, width);
  uint32_t w = __atomic_load_n(l.word, __ATOMIC_SEQ_CST);
  for (;;) {
    const uint32_t old = oat_extract(l, w);
    const uint32_t next = oat_merge(l, w, (uint32_t)oat_apply(op, old, operand));
    if (oat_word_cas(l.word, &w, next)) return old;
  }
}

static uint64_t oat_lane_cas(void* cell, unsigned width, uint64_t expected, uint64_t replacement) {
  const oat_lane l = oat_lane_of(cell, width);
  const uint32_t want = (uint32_t)expected & l.mask;
  uint32_t w = __atomic_load_n(l.word, __ATOMIC_SEQ_CST);
  for (;;) {
    const uint32_t old = oat_extract(l, w);
    if (old != want) return old; /* the failing compare: the load of w is the operation's seq_cst point */
    /* Retry only when the CAS failed: with the fixed build that is a change anywhere in the word (a neighbour
       or this lane); the loop then compares this lane again. */
    if (oat_word_cas(l.word, &w, oat_merge(l, w, (uint32_t)replacement))) return old;
  }
}

static uint64_t oat_load(const void* cell, unsigned width) {
  switch (width) {
    case 1:
    case 2: {
      const oat_lane l = oat_lane_of(cell, width);
      return oat_extract(l, __atomic_load_n(l.word, __ATOMIC_SEQ_CST));
    }
    case 4: return __atomic_load_n((const uint32_t*)cell, __ATOMIC_SEQ_CST);
    default: return __atomic_load_n((const uint64_t*)cell, __ATOMIC_SEQ_CST);
  }
}

static void oat_store(void* cell, unsigned width, uint64_t v) {
  switch (width) {
    case 1:
    case 2: oat_lane_rmw(cell, width, JOSTLE_RMW_EXCHANGE, v); break; /* shares the loop, and the defect */
    case 4: __atomic_store_n((uint32_t*)cell, (uint32_t)v, __ATOMIC_SEQ_CST); break;
    default: __atomic_store_n((uint64_t*)cell, v, __ATOMIC_SEQ_CST); break;
  }
}

#define OAT_RMW(T, p, op, v)                                                                     \
  switch (op) {                                                                                  \
    case JOSTLE_RMW_ADD: return __atomic_fetch_add((T*)(p), (T)(v), __ATOMIC_SEQ_CST);           \
    case JOSTLE_RMW_SUB: return __atomic_fetch_sub((T*)(p), (T)(v), __ATOMIC_SEQ_CST);           \
    case JOSTLE_RMW_AND: return __atomic_fetch_and((T*)(p), (T)(v), __ATOMIC_SEQ_CST);           \
    case JOSTLE_RMW_OR: return __atomic_fetch_or((T*)(p), (T)(v), __ATOMIC_SEQ_CST);             \
    case JOSTLE_RMW_XOR: return __atomic_fetch_xor((T*)(p), (T)(v), __ATOMIC_SEQ_CST);           \
    default: return __atomic_exchange_n((T*)(p), (T)(v), __ATOMIC_SEQ_CST);                      \
  }

static uint64_t oat_rmw(void* cell, unsigned width, int op, uint64_t operand) {
  switch (width) {
    case 1:
    case 2: return oat_lane_rmw(cell, width, op, operand);
    case 4: OAT_RMW(uint32_t, cell, op, operand)
    default: OAT_RMW(uint64_t, cell, op, operand)
  }
}
#undef OAT_RMW

static uint64_t oat_compare_exchange(void* cell, unsigned width, uint64_t expected, uint64_t replacement) {
  switch (width) {
    case 1:
    case 2: return oat_lane_cas(cell, width, expected, replacement);
    case 4: {
      uint32_t e = (uint32_t)expected;
      __atomic_compare_exchange_n((uint32_t*)cell, &e, (uint32_t)replacement, 0, __ATOMIC_SEQ_CST,
                                  __ATOMIC_SEQ_CST);
      return e;
    }
    default: {
      uint64_t e = expected;
      __atomic_compare_exchange_n((uint64_t*)cell, &e, replacement, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      return e;
    }
  }
}

static int oat_is_lock_free(unsigned bytes) { return bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8; }

static void oat_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static const jostle_atomics_ops oat_ops = {.load = oat_load,
                                           .store = oat_store,
                                           .rmw = oat_rmw,
                                           .compare_exchange = oat_compare_exchange,
                                           .is_lock_free = oat_is_lock_free,
                                           .pause = oat_pause,
                                           .native = 1};

static const jostle_plugin oat_plugin = {
    .abi_version = JOSTLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(jostle_plugin),
    .name = "opaque_atomics",
#ifdef JOSTLE_OPAQUE_FIXED
    .description = "sub-word atomics as a CAS loop on the containing word, textbook expansion (the fixed build)",
#else
    .description = "sub-word atomics as a CAS loop on the containing word whose expected value is re-read just "
                   "before the CAS (natural window)",
#endif
    .atomics = &oat_ops};

__attribute__((visibility("default"))) const jostle_plugin* jostle_plugin_entry(void) { return &oat_plugin; }
