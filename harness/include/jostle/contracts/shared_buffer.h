// Shared buffer storage: the data block behind a SharedArrayBuffer (or, with Sharing::unshared, a plain
// ArrayBuffer), and the integer typed views the Atomics operations work on.
//
// SharedBuffer::create(byte_length, max_byte_length = byte_length, sharing = Sharing::shared)
//   [buffer.create.zeroed]        every byte reads 0.
//   [buffer.create.outside-arena] the storage is its own anonymous mmap mapping, never a heap or arena
//                                 allocation: max_byte_length (rounded up to whole pages) is reserved
//                                 PROT_NONE and the first byte_length bytes are made read/write.
//   Throws std::bad_alloc when the reservation fails, std::length_error when byte_length > max_byte_length.
//
// b.data()                        [buffer.stable-address] the same address for the life of the block: growth
//                                 happens in place, the block never moves.
// b.byte_length()                 the current length (an acquire load).
// b.grow(new_byte_length) -> bool
//   [buffer.grow.in-place]        on success data() is unchanged and the new bytes read 0.
//   [buffer.grow.bounds]          fails (false, nothing changed) when new_byte_length > max_byte_length or
//                                 < the current length; equal to the current length succeeds.
//   [buffer.grow.atomic-length]   the pages are made accessible first, then the length is bumped with one
//                                 compare-exchange (release). A thread that reads the new length (acquire) may
//                                 access every byte below it. Concurrent grows never lose one another's length:
//                                 the length only ever increases, to the largest successful request.
// Copies share the block (a reference count, acq_rel); the mapping is released with the last handle.
// [buffer.views] TypedView<T> (Int8View ... BigUint64View below) is a (buffer, byte offset, length) window:
//   a fixed length, or kLengthTracking (the length follows the buffer as it grows).
//   view.length() -> elements now in bounds; view.element(i) -> T* (unchecked); view.byte_index(i) -> the
//   byte index of element i inside the block (the key of its Atomics waiter list).
//   Construction throws AtomicsError(range_error) for a misaligned offset or a window past the end.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace jostle {

// The errors ECMAScript throws from Atomics and buffer operations (TypeError, RangeError), as a C++ exception.
struct AtomicsError : std::runtime_error {
  enum Kind { type_error, range_error };
  AtomicsError(Kind k, const std::string& what) : std::runtime_error(what), kind(k) {}
  Kind kind;
};

enum class Sharing { shared, unshared };

class SharedBuffer {
 public:
  SharedBuffer() = default;

  static SharedBuffer create(std::size_t byte_length, std::size_t max_byte_length = 0,
                             Sharing sharing = Sharing::shared) {
    if (max_byte_length == 0) max_byte_length = byte_length;
    if (byte_length > max_byte_length) throw std::length_error("byte_length > max_byte_length");
    const std::size_t reserved = round_to_pages(max_byte_length == 0 ? 1 : max_byte_length);
    void* p = ::mmap(nullptr, reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    auto* block = new Block;
    block->base = static_cast<std::byte*>(p);
    block->reserved = reserved;
    block->max_length = max_byte_length;
    block->shared = sharing == Sharing::shared;
    block->committed.store(0, std::memory_order_relaxed);
    block->length.store(0, std::memory_order_relaxed);
    SharedBuffer b(block);
    if (!b.grow(byte_length)) throw std::bad_alloc();
    return b;
  }

  SharedBuffer(const SharedBuffer& o) : b_(o.b_) {
    if (b_) b_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  SharedBuffer(SharedBuffer&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  SharedBuffer& operator=(SharedBuffer o) noexcept {
    std::swap(b_, o.b_);
    return *this;
  }
  ~SharedBuffer() { release(); }

  explicit operator bool() const { return b_ != nullptr; }
  std::byte* data() const { return b_->base; }
  std::size_t byte_length() const { return b_->length.load(std::memory_order_acquire); }
  std::size_t max_byte_length() const { return b_->max_length; }
  bool is_shared() const { return b_->shared; }
  long use_count() const { return b_ ? static_cast<long>(b_->refs.load(std::memory_order_relaxed)) : 0; }
  // The block's identity (two handles on one block compare equal).
  const void* id() const { return b_; }

  bool grow(std::size_t new_length) {
    if (new_length > b_->max_length) return false;
    std::size_t cur = b_->length.load(std::memory_order_acquire);
    if (new_length < cur) return false;
    commit(new_length);
    // T1 grow(8k) and T2 grow(12k) race: each commits its own pages first (mprotect is idempotent), then the
    // CAS publishes the length; a loser retries only while its request is still larger than what won.
    while (cur < new_length) {
      if (b_->length.compare_exchange_weak(cur, new_length, std::memory_order_acq_rel, std::memory_order_acquire))
        return true;
    }
    return true;
  }

 private:
  struct Block {
    std::atomic<std::size_t> refs{1};
    std::atomic<std::size_t> length{0};
    std::atomic<std::size_t> committed{0};  // bytes made read/write so far (page multiple)
    std::size_t max_length = 0;
    std::size_t reserved = 0;
    std::byte* base = nullptr;
    bool shared = true;
  };

  explicit SharedBuffer(Block* b) : b_(b) {}

  static std::size_t page() {
    static const std::size_t p = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return p;
  }
  static std::size_t round_to_pages(std::size_t n) { return (n + page() - 1) / page() * page(); }

  void commit(std::size_t length) {
    const std::size_t want = round_to_pages(length);
    std::size_t have = b_->committed.load(std::memory_order_acquire);
    if (want <= have) return;
    if (::mprotect(b_->base, want, PROT_READ | PROT_WRITE) != 0) throw std::bad_alloc();
    while (have < want &&
           !b_->committed.compare_exchange_weak(have, want, std::memory_order_acq_rel, std::memory_order_acquire)) {
    }
  }

  void release() {
    if (b_ && b_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      ::munmap(b_->base, b_->reserved);
      delete b_;
    }
    b_ = nullptr;
  }

  Block* b_ = nullptr;
};

template <class T>
class TypedView {
 public:
  using Element = T;

  static constexpr std::size_t kLengthTracking = static_cast<std::size_t>(-1);

  // length: a fixed element count, or kLengthTracking for a view whose length follows the buffer.
  explicit TypedView(SharedBuffer buf, std::size_t byte_offset = 0, std::size_t length = kLengthTracking)
      : buf_(std::move(buf)), offset_(byte_offset), fixed_(length) {
    if (byte_offset % sizeof(T) != 0) throw AtomicsError(AtomicsError::range_error, "misaligned view offset");
    if (byte_offset > buf_.byte_length() ||
        (fixed_ != kLengthTracking && fixed_ > (buf_.byte_length() - byte_offset) / sizeof(T)))
      throw AtomicsError(AtomicsError::range_error, "view past the end of its buffer");
  }

  std::size_t length() const {
    if (fixed_ != kLengthTracking) return fixed_;
    const std::size_t bl = buf_.byte_length();
    return bl < offset_ ? 0 : (bl - offset_) / sizeof(T);
  }
  T* element(std::size_t i) const { return reinterpret_cast<T*>(buf_.data() + offset_) + i; }
  std::size_t byte_index(std::size_t i) const { return offset_ + i * sizeof(T); }
  std::size_t byte_offset() const { return offset_; }
  const SharedBuffer& buffer() const { return buf_; }

 private:
  SharedBuffer buf_;
  std::size_t offset_;
  std::size_t fixed_;
};

using Int8View = TypedView<std::int8_t>;
using Uint8View = TypedView<std::uint8_t>;
using Int16View = TypedView<std::int16_t>;
using Uint16View = TypedView<std::uint16_t>;
using Int32View = TypedView<std::int32_t>;
using Uint32View = TypedView<std::uint32_t>;
using BigInt64View = TypedView<std::int64_t>;
using BigUint64View = TypedView<std::uint64_t>;

}  // namespace jostle
