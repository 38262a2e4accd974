#define BOOST_TEST_MODULE ready_queues
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/ulid.hpp"
#include "engine/ready_queues.hpp"

// The per-shard claim order index: priority DESC, scheduledAt ASC (null = 0 first),
// createdAt ASC (the id), per (account, type) queue, and across an account's types.

using namespace baton;

namespace {

constexpr Millis kT0 = 1'767'225'600'000;

// Ids in creation order, as one shard makes them.
struct Ids {
  UlidGenerator gen{2026};
  Millis now = kT0;
  Ulid next() { return gen.next(now++, 17); }
};

std::string hex(const Ulid& u) {
  return hex_encode(std::string_view(reinterpret_cast<const char*>(u.data()), u.size()));
}

std::vector<std::string> drain(ReadyQueues& queues, ReadyQueues::Queue& queue) {
  std::vector<std::string> out;
  while (auto entry = queues.pop_best(queue)) out.push_back(hex(entry->id));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(make_ready_entry_stores_inverse_priority) {
  Ulid id{};
  BOOST_TEST(make_ready_entry(0, 0, id).inverse_priority == 255);
  BOOST_TEST(make_ready_entry(100, 0, id).inverse_priority == 155);
  BOOST_TEST(make_ready_entry(7, 123, id).scheduled_at == 123);
}

BOOST_AUTO_TEST_CASE(claim_order_is_priority_desc_then_scheduled_asc_null_first_then_id_asc) {
  Ids ids;
  Ulid a = ids.next(), b = ids.next(), c = ids.next(), d = ids.next(), e = ids.next(),
       f = ids.next(), g = ids.next();
  ReadyQueues queues;
  auto& q = queues.queue("acct_1", "render");
  // Pushed in an order unrelated to the claim order.
  queues.push(q, make_ready_entry(0, 0, a));        // 6th: lowest priority, unscheduled
  queues.push(q, make_ready_entry(10, 500, b));     // 4th: priority 10, scheduled
  queues.push(q, make_ready_entry(0, kT0, c));      // 7th: lowest priority, scheduled
  queues.push(q, make_ready_entry(10, 0, d));       // 2nd: priority 10, unscheduled, older
  queues.push(q, make_ready_entry(100, kT0 + 9, e));  // 1st: highest priority wins all
  queues.push(q, make_ready_entry(10, 0, f));       // 3rd: priority 10, unscheduled, newer
  queues.push(q, make_ready_entry(10, 501, g));     // 5th: priority 10, scheduled later
  BOOST_TEST(queues.size() == 7U);
  std::vector<std::string> expected = {hex(e), hex(d), hex(f), hex(b), hex(g), hex(a), hex(c)};
  BOOST_TEST(drain(queues, q) == expected, boost::test_tools::per_element());
  BOOST_TEST(queues.size() == 0U);
}

BOOST_AUTO_TEST_CASE(equal_priority_and_schedule_are_claimed_oldest_first) {
  Ids ids;
  std::vector<Ulid> made;
  for (int i = 0; i < 100; ++i) made.push_back(ids.next());
  ReadyQueues queues;
  auto& q = queues.queue("acct_1", "t");
  std::vector<Ulid> shuffled = made;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(1));
  for (const Ulid& id : shuffled) queues.push(q, make_ready_entry(5, 0, id));
  for (const Ulid& id : made) {
    auto best = queues.pop_best(q);
    BOOST_REQUIRE(best.has_value());
    BOOST_TEST(hex(best->id) == hex(id));
  }
}

BOOST_AUTO_TEST_CASE(ids_made_in_the_same_millisecond_are_claimed_in_creation_order) {
  UlidGenerator gen(5);
  std::vector<Ulid> made;
  for (int i = 0; i < 1'000; ++i) made.push_back(gen.next(kT0, 17, i % 1000));
  ReadyQueues queues;
  auto& q = queues.queue("acct_1", "t");
  for (auto it = made.rbegin(); it != made.rend(); ++it) queues.push(q, make_ready_entry(0, 0, *it));
  for (const Ulid& id : made) BOOST_TEST(hex(queues.pop_best(q)->id) == hex(id));
}

BOOST_AUTO_TEST_CASE(pop_best_of_an_empty_queue_is_nothing) {
  ReadyQueues queues;
  auto& q = queues.queue("acct_1", "t");
  BOOST_TEST(!queues.pop_best(q).has_value());
  BOOST_TEST(queues.size() == 0U);
  queues.push(q, make_ready_entry(0, 0, Ulid{}));
  BOOST_TEST(queues.pop_best(q).has_value());
  BOOST_TEST(!queues.pop_best(q).has_value());
  BOOST_TEST(queues.size() == 0U);
}

BOOST_AUTO_TEST_CASE(erase_removes_one_entry_and_reports_whether_it_was_there) {
  Ids ids;
  Ulid a = ids.next(), b = ids.next(), c = ids.next();
  ReadyQueues queues;
  auto& q = queues.queue("acct_1", "t");
  queues.push(q, make_ready_entry(1, 0, a));
  queues.push(q, make_ready_entry(1, 0, b));
  queues.push(q, make_ready_entry(1, 0, c));
  BOOST_TEST(queues.erase(q, make_ready_entry(1, 0, a)));
  BOOST_TEST(queues.size() == 2U);
  BOOST_TEST(!queues.erase(q, make_ready_entry(1, 0, a)));  // already gone
  BOOST_TEST(!queues.erase(q, make_ready_entry(2, 0, b)));  // other priority: not that entry
  BOOST_TEST(!queues.erase(q, make_ready_entry(1, 5, b)));  // other schedule: not that entry
  BOOST_TEST(queues.size() == 2U);
  std::vector<std::string> expected = {hex(b), hex(c)};
  BOOST_TEST(drain(queues, q) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(erase_from_the_wrong_queue_changes_nothing) {
  Ids ids;
  Ulid a = ids.next();
  ReadyQueues queues;
  auto& q1 = queues.queue("acct_1", "t1");
  auto& q2 = queues.queue("acct_1", "t2");
  queues.push(q1, make_ready_entry(1, 0, a));
  BOOST_TEST(!queues.erase(q2, make_ready_entry(1, 0, a)));
  BOOST_TEST(queues.size() == 1U);
  BOOST_TEST(q1.entries.size() == 1U);
}

BOOST_AUTO_TEST_CASE(pushing_the_same_entry_twice_counts_once) {
  ReadyQueues queues;
  auto& q = queues.queue("acct_1", "t");
  Ulid id = Ids{}.next();
  queues.push(q, make_ready_entry(3, 0, id));
  queues.push(q, make_ready_entry(3, 0, id));
  BOOST_TEST(queues.size() == 1U);
  BOOST_TEST(q.entries.size() == 1U);
  BOOST_TEST(queues.pop_best(q).has_value());
  BOOST_TEST(queues.size() == 0U);
}

BOOST_AUTO_TEST_CASE(size_counts_entries_across_all_queues) {
  Ids ids;
  ReadyQueues queues;
  auto& a1 = queues.queue("acct_a", "t1");
  auto& a2 = queues.queue("acct_a", "t2");
  auto& b1 = queues.queue("acct_b", "t1");
  for (int i = 0; i < 5; ++i) queues.push(a1, make_ready_entry(0, 0, ids.next()));
  for (int i = 0; i < 3; ++i) queues.push(a2, make_ready_entry(0, 0, ids.next()));
  for (int i = 0; i < 4; ++i) queues.push(b1, make_ready_entry(0, 0, ids.next()));
  BOOST_TEST(queues.size() == 12U);
  queues.pop_best(a2);
  BOOST_TEST(queues.size() == 11U);
  drain(queues, b1);
  BOOST_TEST(queues.size() == 7U);
  BOOST_TEST(queues.erase(a1, *a1.entries.begin()));
  BOOST_TEST(queues.size() == 6U);
}

BOOST_AUTO_TEST_CASE(queue_is_created_once_per_account_and_type) {
  ReadyQueues queues;
  BOOST_TEST(queues.find("acct_a", "t1") == nullptr);
  auto& q = queues.queue("acct_a", "t1");
  BOOST_TEST(q.account == "acct_a");
  BOOST_TEST(q.type == "t1");
  BOOST_TEST(&queues.queue("acct_a", "t1") == &q);
  BOOST_TEST(queues.find("acct_a", "t1") == &q);
  BOOST_TEST(queues.find("acct_a", "t2") == nullptr);
  BOOST_TEST(queues.find("acct_b", "t1") == nullptr);
}

BOOST_AUTO_TEST_CASE(queue_names_never_collide_across_account_and_type_boundaries) {
  ReadyQueues queues;
  auto& q1 = queues.queue("a", "bc");
  auto& q2 = queues.queue("ab", "c");
  auto& q3 = queues.queue("abc", "");
  BOOST_TEST(&q1 != &q2);
  BOOST_TEST(&q2 != &q3);
  BOOST_TEST(&q1 != &q3);
  BOOST_TEST(queue_key("a", "bc") != queue_key("ab", "c"));
}

BOOST_AUTO_TEST_CASE(best_queue_of_account_picks_the_type_whose_best_task_comes_first) {
  Ids ids;
  ReadyQueues queues;
  auto& low = queues.queue("acct_a", "low");
  auto& high = queues.queue("acct_a", "high");
  auto& later = queues.queue("acct_a", "later");
  queues.push(low, make_ready_entry(1, 0, ids.next()));
  queues.push(later, make_ready_entry(50, kT0, ids.next()));
  queues.push(high, make_ready_entry(50, 0, ids.next()));
  BOOST_TEST(queues.best_queue_of_account("acct_a") == &high);  // priority, then null schedule
  queues.pop_best(high);
  BOOST_TEST(queues.best_queue_of_account("acct_a") == &later);  // priority beats schedule
  queues.pop_best(later);
  BOOST_TEST(queues.best_queue_of_account("acct_a") == &low);
  queues.pop_best(low);
  BOOST_TEST(queues.best_queue_of_account("acct_a") == nullptr);  // all empty
}

BOOST_AUTO_TEST_CASE(best_queue_of_account_breaks_ties_between_types_by_creation) {
  Ids ids;
  ReadyQueues queues;
  auto& t1 = queues.queue("acct_a", "t1");
  auto& t2 = queues.queue("acct_a", "t2");
  auto& t3 = queues.queue("acct_a", "t3");
  Ulid first = ids.next(), second = ids.next(), third = ids.next();
  queues.push(t3, make_ready_entry(5, 0, second));
  queues.push(t2, make_ready_entry(5, 0, third));
  queues.push(t1, make_ready_entry(5, 0, first));
  BOOST_TEST(queues.best_queue_of_account("acct_a") == &t1);
  queues.pop_best(t1);
  BOOST_TEST(queues.best_queue_of_account("acct_a") == &t3);
  queues.pop_best(t3);
  BOOST_TEST(queues.best_queue_of_account("acct_a") == &t2);
}

BOOST_AUTO_TEST_CASE(best_queue_of_account_ties_across_types_use_creation_across_vnodes) {
  // Different types live on different vnodes; the id still orders them by creation.
  UlidGenerator gen(11);
  ReadyQueues queues;
  auto& t1 = queues.queue("acct_a", "t1");
  auto& t2 = queues.queue("acct_a", "t2");
  Ulid older = gen.next(kT0, 1000, 10);
  Ulid newer = gen.next(kT0, 3, 11);
  queues.push(t1, make_ready_entry(0, 0, newer));
  queues.push(t2, make_ready_entry(0, 0, older));
  BOOST_TEST(queues.best_queue_of_account("acct_a") == &t2);
}

BOOST_AUTO_TEST_CASE(best_queue_of_account_ignores_other_accounts) {
  Ids ids;
  ReadyQueues queues;
  auto& mine = queues.queue("acct_a", "t");
  auto& theirs = queues.queue("acct_b", "t");
  queues.push(theirs, make_ready_entry(100, 0, ids.next()));
  BOOST_TEST(queues.best_queue_of_account("acct_a") == nullptr);
  queues.push(mine, make_ready_entry(0, kT0, ids.next()));
  BOOST_TEST(queues.best_queue_of_account("acct_a") == &mine);
  BOOST_TEST(queues.best_queue_of_account("acct_b") == &theirs);
  BOOST_TEST(queues.best_queue_of_account("acct_c") == nullptr);
}

BOOST_AUTO_TEST_CASE(queues_stay_valid_as_many_more_are_created) {
  Ids ids;
  ReadyQueues queues;
  auto& first = queues.queue("acct_a", "t0");
  queues.push(first, make_ready_entry(9, 0, ids.next()));
  for (int i = 1; i < 2'000; ++i) {
    std::string type = "t";  // (not "t" + to_string(i): g++ 12 warns falsely, -Wrestrict)
    type += std::to_string(i);
    auto& q = queues.queue("acct_a", type);
    if (i % 100 == 0) queues.push(q, make_ready_entry(1, 0, ids.next()));
  }
  BOOST_TEST(queues.find("acct_a", "t0") == &first);
  BOOST_TEST(queues.best_queue_of_account("acct_a") == &first);
  BOOST_TEST(first.type == "t0");
  BOOST_TEST(queues.size() == 20U);
}

BOOST_AUTO_TEST_CASE(random_pushes_and_erases_pop_in_claim_order) {
  std::mt19937_64 rng(99);
  Ids ids;
  ReadyQueues queues;
  auto& q = queues.queue("acct_a", "t");
  struct Model {
    int priority;
    Millis scheduled;
    Ulid id;
  };
  std::vector<Model> model;
  for (int i = 0; i < 3'000; ++i) {
    Model m{static_cast<int>(rng() % 101), rng() % 3 ? 0 : static_cast<Millis>(kT0 + rng() % 5),
            ids.next()};
    model.push_back(m);
    queues.push(q, make_ready_entry(m.priority, m.scheduled, m.id));
  }
  // Erase a third of them.
  std::vector<Model> kept;
  for (std::size_t i = 0; i < model.size(); ++i) {
    if (i % 3 == 0) {
      BOOST_TEST(queues.erase(q, make_ready_entry(model[i].priority, model[i].scheduled, model[i].id)));
    } else {
      kept.push_back(model[i]);
    }
  }
  BOOST_TEST(queues.size() == kept.size());
  std::sort(kept.begin(), kept.end(), [](const Model& a, const Model& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.scheduled != b.scheduled) return a.scheduled < b.scheduled;
    return a.id < b.id;
  });
  for (const Model& m : kept) {
    auto best = queues.pop_best(q);
    BOOST_REQUIRE(best.has_value());
    BOOST_TEST(hex(best->id) == hex(m.id));
    BOOST_TEST(255 - best->inverse_priority == m.priority);
    BOOST_TEST(best->scheduled_at == m.scheduled);
  }
  BOOST_TEST(queues.size() == 0U);
}

BOOST_AUTO_TEST_CASE(emptied_queues_are_released_unless_refilled_first) {
  // An entry whose id is `n`, big-endian in the last bytes: unique and ordered by n.
  auto entry = [](int priority, Millis scheduled_at, int n) {
    Ulid id{};
    for (int i = 0; i < 4; ++i) id[15 - i] = static_cast<std::uint8_t>(n >> (8 * i));
    return make_ready_entry(priority, scheduled_at, id);
  };
  ReadyQueues rq;
  // A type per task, as a careless (or hostile) client might make them.
  for (int i = 0; i < 1000; ++i) {
    auto& q = rq.queue("acct_a", "type-" + std::to_string(i));
    rq.push(q, entry(0, 0, i));
  }
  auto& kept = rq.queue("acct_a", "kept");
  rq.push(kept, entry(0, 0, 5000));
  BOOST_TEST(rq.queue_count() == 1001u);
  for (int i = 0; i < 1000; ++i) {
    auto* q = rq.find("acct_a", "type-" + std::to_string(i));
    BOOST_REQUIRE(q);
    BOOST_TEST(rq.pop_best(*q).has_value());
  }
  // Emptied, then refilled before the release: it stays, with its entry.
  auto* refilled = rq.find("acct_a", "type-7");
  rq.push(*refilled, entry(3, 0, 7000));
  rq.release_empty();
  BOOST_TEST(rq.queue_count() == 2u);
  BOOST_TEST(rq.find("acct_a", "type-6") == nullptr);
  BOOST_REQUIRE(rq.find("acct_a", "type-7") != nullptr);
  BOOST_TEST(rq.size() == 2u);
  // The account's best queue is found among the survivors only.
  BOOST_TEST(rq.best_queue_of_account("acct_a") == rq.find("acct_a", "type-7"));
  // A released queue comes back empty-handed and works as new.
  auto& again = rq.queue("acct_a", "type-6");
  BOOST_TEST(again.entries.empty());
  rq.push(again, entry(9, 0, 9000));
  BOOST_TEST(rq.best_queue_of_account("acct_a") == &again);
  // Erasing the last entry empties a queue too; releasing twice is harmless.
  auto* k = rq.find("acct_a", "kept");
  BOOST_TEST(rq.erase(*k, entry(0, 0, 5000)));
  rq.release_empty();
  rq.release_empty();
  BOOST_TEST(rq.find("acct_a", "kept") == nullptr);
  BOOST_TEST(rq.queue_count() == 2u);
  BOOST_TEST(rq.size() == 2u);
}

BOOST_AUTO_TEST_CASE(oldest_due_is_the_longest_waiting_entry_of_any_priority) {
  ReadyQueues queues;
  auto& q = queues.queue("a", "t");
  BOOST_TEST(q.oldest_due() == 0);
  Ids ids;
  Ulid early = ids.next();  // created at kT0
  ids.now = kT0 + 5000;
  Ulid late = ids.next();
  // A high-priority task created late, a low-priority one created early, and a delayed
  // one that became due before either was created.
  queues.push(q, make_ready_entry(90, 0, late));
  queues.push(q, make_ready_entry(0, 0, early));
  BOOST_TEST(q.oldest_due() == kT0);
  queues.push(q, make_ready_entry(50, kT0 - 100, ids.next()));
  BOOST_TEST(q.oldest_due() == kT0 - 100);
  // Within one priority, a scheduled entry ranks after unscheduled ones yet may be older.
  ReadyQueues other;
  auto& r = other.queue("a", "t");
  other.push(r, make_ready_entry(7, 0, late));
  other.push(r, make_ready_entry(7, kT0 - 1, ids.next()));
  BOOST_TEST(r.oldest_due() == kT0 - 1);
  other.push(r, make_ready_entry(0, 0, early));  // priority 0: the last band
  BOOST_TEST(r.oldest_due() == kT0 - 1);
}

BOOST_AUTO_TEST_CASE(a_paused_type_is_passed_by_and_stays_paused_for_new_queues) {
  ReadyQueues queues;
  Ids ids;
  auto& own = queues.queue("a", "t");
  queues.push(own, make_ready_entry(9, 0, ids.next()));
  auto& other = queues.queue("a", "u");
  queues.push(other, make_ready_entry(1, 0, ids.next()));
  BOOST_TEST(queues.best_queue_of_account("a") == &own);
  queues.set_paused("a", "t", true);
  BOOST_TEST(queues.paused("a", "t"));
  BOOST_TEST(!queues.paused("b", "t"));
  BOOST_TEST(own.paused);
  BOOST_TEST(queues.best_queue_of_account("a") == &other);
  // A worker's pinned queue of the type is paused with it, made before or after.
  auto& pinned = queues.queue("a", pinned_type("t", "w"));
  BOOST_TEST(pinned.paused);
  BOOST_TEST(pinned.base_type() == "t");
  queues.push(pinned, make_ready_entry(99, 0, ids.next()));
  BOOST_TEST(queues.best_queue_of_account("a", "w") == &other);
  // clear() drops the indexes, not the pause.
  queues.clear();
  BOOST_TEST(queues.paused("a", "t"));
  BOOST_TEST(queues.queue("a", "t").paused);
  queues.set_paused("a", "t", false);
  BOOST_TEST(!queues.queue("a", "t").paused);
  BOOST_TEST(!queues.queue("a", pinned_type("t", "w")).paused);
}
