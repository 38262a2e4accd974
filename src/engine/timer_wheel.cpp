#include "engine/timer_wheel.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <limits>
#include <stdexcept>

// Placement rule: a timer whose tick T is ahead of the current tick C sits at the level of
// the highest 8-bit digit in which T and C differ, in the slot named by T's digit there.
// The slot is emptied (its timers re-placed, landing lower) when C reaches the first tick
// of that slot's range, i.e. when C's digits at and above that level match T's.
// A tick whose digits above the top level differ from C's waits in the overflow list,
// re-placed each time C crosses a 2^32-tick boundary (~497 days at 10 ms).
// Ticks at or before C go to C's level-0 slot: that is the "fires on the next advance".

namespace baton {
namespace {

constexpr std::int64_t low_mask(int bits) { return (std::int64_t{1} << bits) - 1; }

// The first set bit of a 256-bit map at an index above `digit`, or -1.
int first_set_after(const std::array<std::uint64_t, 4>& bits, int digit) {
  const auto from = static_cast<std::size_t>(digit) + 1;
  if (from >= 256) return -1;
  std::size_t word = from / 64;
  std::uint64_t m = bits[word] & (~std::uint64_t{0} << (from % 64));
  for (;;) {
    if (m != 0) return static_cast<int>(word * 64) + std::countr_zero(m);
    if (++word == bits.size()) return -1;
    m = bits[word];
  }
}

}  // namespace

TimerWheel::TimerWheel(std::int64_t start_ms, std::int64_t tick_ms) : tick_ms_(tick_ms) {
  if (tick_ms < 1) throw std::invalid_argument("TimerWheel: tick_ms must be >= 1");
  cur_tick_ = tick_of(start_ms);
  now_ms_ = start_ms;
}

TimerWheel::~TimerWheel() {
  for (List& list : lists_) {
    WheelTimer* t = list.head;
    while (t != nullptr) {
      WheelTimer* next = t->next_;
      t->prev_ = t->next_ = nullptr;
      t->list_ = nullptr;
      t = next;
    }
  }
}

std::int64_t TimerWheel::now_ms() const { return now_ms_; }

// Floor, not truncation: every tick stays tick_ms_ wide, including the one around 0.
std::int64_t TimerWheel::tick_of(std::int64_t ms) const {
  std::int64_t q = ms / tick_ms_;
  if (ms % tick_ms_ != 0 && ms < 0) --q;
  return q;
}

void TimerWheel::schedule(WheelTimer& timer, std::int64_t due_ms) {
  if (timer.armed()) {
    unlink(timer);
  } else {
    ++size_;
  }
  timer.due_ms = due_ms;
  if (advancing_ && due_ms <= limit_ms_) {
    link(timer, kDeferred);
  } else {
    place(timer);
  }
}

void TimerWheel::cancel(WheelTimer& timer) {
  if (!timer.armed()) return;
  unlink(timer);
  timer.list_ = nullptr;
  --size_;
}

// Pushes at the head: order within a slot is irrelevant since a slot is one tick (level 0)
// or gets re-placed wholesale (higher levels).
void TimerWheel::link(WheelTimer& timer, std::size_t list) {
  List& l = lists_[list];
  timer.prev_ = nullptr;
  timer.next_ = l.head;
  if (l.head != nullptr) l.head->prev_ = &timer;
  l.head = &timer;
  timer.list_ = &l;
  if (list < kOverflow) {
    occupied_[list / kSlots][(list % kSlots) / 64] |= std::uint64_t{1} << (list % 64);
  }
}

// Leaves list_ set: callers either re-link at once or clear it to disarm.
void TimerWheel::unlink(WheelTimer& timer) {
  auto* l = static_cast<List*>(timer.list_);
  assert(l >= lists_.data() && l < lists_.data() + kListCount && "timer of another wheel");
  if (timer.prev_ != nullptr) {
    timer.prev_->next_ = timer.next_;
  } else {
    l->head = timer.next_;
  }
  if (timer.next_ != nullptr) timer.next_->prev_ = timer.prev_;
  timer.prev_ = timer.next_ = nullptr;
  const auto list = static_cast<std::size_t>(l - lists_.data());
  if (list < kOverflow && l->head == nullptr) {
    occupied_[list / kSlots][(list % kSlots) / 64] &= ~(std::uint64_t{1} << (list % 64));
  }
}

void TimerWheel::place(WheelTimer& timer) {
  const std::int64_t tick = tick_of(timer.due_ms);
  if (tick <= cur_tick_) {
    link(timer, static_cast<std::size_t>(cur_tick_ & low_mask(kSlotBits)));
    return;
  }
  const auto diff = static_cast<std::uint64_t>(tick) ^ static_cast<std::uint64_t>(cur_tick_);
  if ((diff >> kHorizonBits) != 0) {
    link(timer, kOverflow);
    return;
  }
  const int level = static_cast<int>(std::bit_width(diff) - 1) / kSlotBits;
  const auto slot = static_cast<std::size_t>((tick >> (level * kSlotBits)) & low_mask(kSlotBits));
  link(timer, static_cast<std::size_t>(level) * kSlots + slot);
}

// Detaches the whole list first: re-placing can never target the list being emptied
// (see the placement rule), but detaching makes that independent of the argument.
void TimerWheel::replace_all(std::size_t list) {
  WheelTimer* t = lists_[list].head;
  if (t == nullptr) return;
  lists_[list].head = nullptr;
  if (list < kOverflow) {
    occupied_[list / kSlots][(list % kSlots) / 64] &= ~(std::uint64_t{1} << (list % 64));
  }
  while (t != nullptr) {
    WheelTimer* next = t->next_;
    place(*t);
    t = next;
  }
}

// Scans the current slot only: every tick before it is already empty, and a partly
// elapsed tick needs the exact comparison so that due <= now fires and due > now waits.
void TimerWheel::collect_due(std::int64_t now_ms) {
  const auto slot = static_cast<std::size_t>(cur_tick_ & low_mask(kSlotBits));
  WheelTimer* t = lists_[slot].head;
  while (t != nullptr) {
    WheelTimer* next = t->next_;
    if (t->due_ms <= now_ms) {
      unlink(*t);
      link(*t, kFiring);
    }
    t = next;
  }
}

WheelTimer* TimerWheel::pop_firing() {
  WheelTimer* t = lists_[kFiring].head;
  if (t == nullptr) return nullptr;
  unlink(*t);
  t->list_ = nullptr;
  --size_;
  return t;
}

// The first tick after the current one at which anything happens: a busy level-0 slot
// fires, a busy higher slot cascades, or an epoch boundary releases the overflow list.
// Lower levels' events always precede higher ones', so the first hit is the answer.
std::int64_t TimerWheel::next_event() const {
  for (int level = 0; level < kLevels; ++level) {
    const int shift = level * kSlotBits;
    const auto digit = static_cast<int>((cur_tick_ >> shift) & low_mask(kSlotBits));
    const int slot = first_set_after(occupied_[static_cast<std::size_t>(level)], digit);
    if (slot >= 0) {
      return (cur_tick_ & ~low_mask(shift + kSlotBits)) | (std::int64_t{slot} << shift);
    }
  }
  if (lists_[kOverflow].head != nullptr) return (cur_tick_ | low_mask(kHorizonBits)) + 1;
  return std::numeric_limits<std::int64_t>::max();
}

// Only called once the current tick is fully elapsed and fired, so its slot is empty.
void TimerWheel::step_toward(std::int64_t target_tick) {
  const std::int64_t tick = std::min(next_event(), target_tick);
  cur_tick_ = tick;
  if ((tick & low_mask(kHorizonBits)) == 0) replace_all(kOverflow);
  for (int level = kLevels - 1; level >= 1; --level) {
    const int shift = level * kSlotBits;
    if ((tick & low_mask(shift)) != 0) continue;
    const auto slot = static_cast<std::size_t>((tick >> shift) & low_mask(kSlotBits));
    replace_all(static_cast<std::size_t>(level) * kSlots + slot);
  }
}

void TimerWheel::begin_advance(std::int64_t now_ms) {
  assert(!advancing_ && "advance() called from its own callback");
  advancing_ = true;
  limit_ms_ = now_ms;
}

void TimerWheel::end_advance() {
  advancing_ = false;
  // Only a throwing callback leaves timers here; they stay armed and due.
  replace_all(kFiring);
  const bool reached = cur_tick_ >= tick_of(limit_ms_);
  now_ms_ = std::max(now_ms_, reached ? limit_ms_ : cur_tick_ * tick_ms_);
  replace_all(kDeferred);
}

}  // namespace baton
