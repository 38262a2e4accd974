#pragma once
// A hierarchical timer wheel (Varghese & Lauck) for one shard: O(1) schedule and cancel,
// timers are intrusive nodes owned by the caller, so re-arming a lease (a heartbeat)
// neither allocates nor frees. Not thread-safe: one wheel per shard, used on its thread.
//
// Times are absolute milliseconds (wall clock). The wheel has a tick (default 10 ms);
// a timer due at time t fires at the first advance(now) with now >= t, never earlier.
// Levels: 4 x 256 slots; tick 10 ms covers ~497 days; farther timers wait in an overflow
// list and are re-placed as the wheel turns.
#include <array>
#include <cstddef>
#include <cstdint>

namespace baton {

class TimerWheel;

struct WheelTimer {
  std::int64_t due_ms = 0;
  std::uint32_t kind = 0;       // the owner's tag (lease, delay, waiter, ...)
  void* owner = nullptr;        // the owner's back pointer, untouched by the wheel
  bool armed() const { return list_ != nullptr; }

 private:
  friend class TimerWheel;
  WheelTimer* prev_ = nullptr;
  WheelTimer* next_ = nullptr;
  void* list_ = nullptr;  // the slot it is linked in; nullptr when not armed
};

class TimerWheel {
 public:
  explicit TimerWheel(std::int64_t start_ms, std::int64_t tick_ms = 10);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  ~TimerWheel();  // unlinks every armed timer (their nodes stay valid)

  // Arms or re-arms `timer` for `due_ms` (a time in the past fires on the next advance).
  void schedule(WheelTimer& timer, std::int64_t due_ms);
  void cancel(WheelTimer& timer);  // no-op when not armed

  // Fires every timer due at or before `now_ms`, in due order within a tick's granularity.
  // The callback receives the timer already disarmed; it may schedule or cancel any timer
  // (including the one it got). Returns the number fired.
  template <typename F>
  std::size_t advance(std::int64_t now_ms, F&& on_fire);

  std::size_t size() const { return size_; }
  std::int64_t now_ms() const;  // the time the wheel has turned to

 private:
  // The wheel writes into armed nodes until they are cancelled, fired or the wheel dies,
  // so an owner must cancel a timer before freeing it (or free it after the wheel).
  // A slot's list is null-terminated, not circular, so an empty slot is one null pointer
  // and the whole wheel is a flat array the destructor can sweep.
  struct List {
    WheelTimer* head = nullptr;
  };
  struct AdvanceScope {  // restores the wheel's invariants even if a callback throws
    TimerWheel& wheel;
    ~AdvanceScope() { wheel.end_advance(); }
  };

  static constexpr int kLevels = 4;
  static constexpr int kSlotBits = 8;
  static constexpr int kSlots = 1 << kSlotBits;
  static constexpr int kHorizonBits = kLevels * kSlotBits;
  static constexpr std::size_t kOverflow = std::size_t{kLevels} * kSlots;
  static constexpr std::size_t kDeferred = kOverflow + 1;  // armed by a callback, due <= now
  static constexpr std::size_t kFiring = kOverflow + 2;    // due in this advance, not yet fired
  static constexpr std::size_t kListCount = kOverflow + 3;

  std::int64_t tick_of(std::int64_t ms) const;
  void link(WheelTimer& timer, std::size_t list);
  void unlink(WheelTimer& timer);
  void place(WheelTimer& timer);
  void replace_all(std::size_t list);
  void collect_due(std::int64_t now_ms);
  WheelTimer* pop_firing();
  std::int64_t next_event() const;
  void step_toward(std::int64_t target_tick);
  void begin_advance(std::int64_t now_ms);
  void end_advance();

  // Every list lives in one array so a timer's list_ maps back to its level and slot by
  // pointer arithmetic, with no extra field in WheelTimer.
  std::array<List, kListCount> lists_{};
  // One bit per slot per level: finding the next busy slot is a few word scans, which is
  // what lets advance() leap over days of empty ticks.
  std::array<std::array<std::uint64_t, kSlots / 64>, kLevels> occupied_{};
  const std::int64_t tick_ms_;
  std::int64_t cur_tick_;  // ticks before it are fully fired; it may be partly fired
  std::int64_t now_ms_;
  std::int64_t limit_ms_ = 0;  // the now of the advance in progress
  std::size_t size_ = 0;
  bool advancing_ = false;
};

// Timers armed from a callback with due <= now_ms wait for the next advance call rather
// than firing in this one: each advance fires a timer at most once, so a callback that
// re-arms its own timer into the past (a lease catching up after a long pause) cannot
// spin. Overdue timers (armed in the past) count as due at the wheel's current tick for
// ordering. If a callback throws, the timers still due stay armed for the next advance.
// advance() must not be called from its own callback.
template <typename F>
std::size_t TimerWheel::advance(std::int64_t now_ms, F&& on_fire) {
  begin_advance(now_ms);
  AdvanceScope scope{*this};
  const std::int64_t target = tick_of(now_ms);
  std::size_t fired = 0;
  for (;;) {
    collect_due(now_ms);
    // The callback may free the node it got, so nothing touches it afterwards.
    while (WheelTimer* timer = pop_firing()) {
      ++fired;
      on_fire(*timer);
    }
    if (cur_tick_ >= target) break;
    step_toward(target);
  }
  return fired;
}

}  // namespace baton
