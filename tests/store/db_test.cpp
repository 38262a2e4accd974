#define BOOST_TEST_MODULE store_db
#include <boost/test/unit_test.hpp>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <ostream>

#include "core/ulid.hpp"
#include "store/db.hpp"
#include "store/keys.hpp"
#include "store/records.hpp"
#include "store/task_listing.hpp"
#include "store/task_writes.hpp"
#include "support/temp_dir.hpp"

using namespace baton;

namespace baton {
std::ostream& operator<<(std::ostream& out, TaskStatus status) { return out << to_string(status); }
}  // namespace baton

namespace {

struct TempDb {
  test::TempDir dir{"baton-store"};
  std::unique_ptr<Db> db;  // closed before dir is removed (declared after it)
  TempDb() { reopen(); }
  void reopen() {
    db.reset();
    std::string error;
    db = Db::open(dir.path.string(), &error);
    BOOST_REQUIRE_MESSAGE(db, error);
  }
};

UlidGenerator ids(42);

Task make_task(const std::string& account, const std::string& type, Ulid& id, Millis now,
               UlidGenerator& generator = ids) {
  id = generator.next(now, 7);
  Task task;
  task.id = task_id_string(id);
  task.account_id = account;
  task.type = type;
  task.payload_json = "{}";
  task.created_at = task.updated_at = now;
  return task;
}

void commit(Db& db, const Task* before, const Task& after, const Ulid& id) {
  rocksdb::WriteBatch batch;
  store::write_transition(db, batch,
                          store::plan_transition(before, std::make_shared<const Task>(after), id));
  BOOST_REQUIRE(db.write(batch, false).ok());
}

std::vector<std::vector<std::string>> pages(Db& db, store::ListQuery query) {
  std::vector<std::vector<std::string>> out;
  for (;;) {
    auto page = store::list_tasks(db, query);
    out.emplace_back();
    for (auto& task : page.tasks) out.back().push_back(task.id);
    if (!page.next_before) return out;
    query.before = page.next_before;
  }
}

// Every page of a listing, joined. A page that came with a cursor is never followed by an
// empty one (a cursor is given only when a readable task follows): checked on each call.
std::vector<std::string> listed(Db& db, const store::ListQuery& query) {
  std::vector<std::string> out;
  auto all = pages(db, query);
  for (const auto& page : all) {
    if (all.size() > 1) BOOST_TEST(!page.empty());
    out.insert(out.end(), page.begin(), page.end());
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(transitions_keep_the_active_index_to_live_tasks) {
  TempDb t;
  Ulid a, b;
  Task first = make_task("acct_1", "x", a, 1000);
  Task second = make_task("acct_1", "y", b, 1001);
  commit(*t.db, nullptr, first, a);
  commit(*t.db, nullptr, second, b);
  Task claimed = first;
  claimed.status = TaskStatus::claimed;
  claimed.lease_expires_at = 5000;
  commit(*t.db, &first, claimed, a);
  Task done = second;
  done.status = TaskStatus::completed;
  commit(*t.db, &second, done, b);

  std::vector<std::pair<Ulid, records::ActiveEntry>> seen;
  store::scan_active(*t.db, [&](const keys::ActiveKey& key, const records::ActiveEntry& entry) {
    BOOST_TEST(key.account == "acct_1");
    seen.emplace_back(key.id, entry);
  });
  BOOST_REQUIRE_EQUAL(seen.size(), 1u);
  BOOST_TEST(seen[0].first == a);
  BOOST_TEST(seen[0].second.status == TaskStatus::claimed);
  BOOST_TEST(seen[0].second.lease_expires_at == 5000);
}

// The plan compares the active entry's fields (status, priority, schedule, lease) without
// encoding them: each kind of change must still reach the index, and nothing else may.
BOOST_AUTO_TEST_CASE(each_active_field_change_rewrites_the_active_entry) {
  TempDb t;
  Ulid a;
  Task task = make_task("acct_1", "x", a, 1000);
  commit(*t.db, nullptr, task, a);
  auto active_of = [&] {
    std::vector<records::ActiveEntry> seen;
    store::scan_active(*t.db, [&](const keys::ActiveKey&, const records::ActiveEntry& entry) {
      seen.push_back(entry);
    });
    BOOST_REQUIRE_EQUAL(seen.size(), 1u);
    return seen[0];
  };
  auto step = [&](auto change) {
    Task next = task;
    change(next);
    commit(*t.db, &task, next, a);
    task = next;
    return active_of();
  };
  BOOST_TEST(step([](Task& x) { x.priority = 7; }).priority == 7);
  BOOST_TEST(step([](Task& x) { x.scheduled_at = 9000; }).scheduled_at == 9000);
  auto claimed = step([](Task& x) {
    x.status = TaskStatus::claimed;
    x.lease_expires_at = 5000;
  });
  BOOST_TEST(claimed.status == TaskStatus::claimed);
  BOOST_TEST(claimed.lease_expires_at == 5000);
  BOOST_TEST(step([](Task& x) { x.lease_expires_at = 8000; }).lease_expires_at == 8000);
  BOOST_TEST(step([](Task& x) { x.updated_at = 8001; }).lease_expires_at == 8000);
  auto plan = store::plan_transition(&task, std::make_shared<const Task>(task), a);
  BOOST_TEST(!plan.active_changed);  // same active fields: the entry is not rewritten
  // Out of a terminal state (requeue from the dead letter) the entry comes back.
  Task dead = task;
  dead.status = TaskStatus::dead_letter;
  commit(*t.db, &task, dead, a);
  task = dead;
  int live = 0;
  store::scan_active(*t.db, [&](const keys::ActiveKey&, const records::ActiveEntry&) { ++live; });
  BOOST_TEST(live == 0);
  BOOST_TEST(step([](Task& x) { x.status = TaskStatus::pending; }).status == TaskStatus::pending);
}

BOOST_AUTO_TEST_CASE(listing_filters_and_pages_newest_first) {
  TempDb t;
  std::vector<Ulid> made(6);
  std::vector<Task> tasks;
  for (int i = 0; i < 6; ++i) {
    tasks.push_back(make_task("acct_1", i % 2 ? "odd" : "even", made[i], 2000 + i));
    commit(*t.db, nullptr, tasks[i], made[i]);
  }
  // Another account's task never shows.
  Ulid foreign;
  commit(*t.db, nullptr, make_task("acct_2", "even", foreign, 2100), foreign);
  // Complete tasks 1 and 4; claim task 2.
  for (int i : {1, 4}) {
    Task done = tasks[i];
    done.status = TaskStatus::completed;
    commit(*t.db, &tasks[i], done, made[i]);
    tasks[i] = done;
  }
  Task claimed = tasks[2];
  claimed.status = TaskStatus::claimed;
  commit(*t.db, &tasks[2], claimed, made[2]);

  auto id = [&](int i) { return tasks[i].id; };
  store::ListQuery all{"acct_1", std::nullopt, std::nullopt, 2, std::nullopt};
  BOOST_TEST(listed(*t.db, all) == (std::vector<std::string>{id(5), id(4), id(3), id(2), id(1), id(0)}),
             boost::test_tools::per_element());
  store::ListQuery even{"acct_1", std::string("even"), std::nullopt, 1, std::nullopt};
  BOOST_TEST(listed(*t.db, even) == (std::vector<std::string>{id(4), id(2), id(0)}),
             boost::test_tools::per_element());
  store::ListQuery pending{"acct_1", std::nullopt, TaskStatus::pending, 2, std::nullopt};
  BOOST_TEST(listed(*t.db, pending) == (std::vector<std::string>{id(5), id(3), id(0)}),
             boost::test_tools::per_element());
  store::ListQuery claimed_even{"acct_1", std::string("even"), TaskStatus::claimed, 5, std::nullopt};
  BOOST_TEST(listed(*t.db, claimed_even) == (std::vector<std::string>{id(2)}),
             boost::test_tools::per_element());
  store::ListQuery completed_odd{"acct_1", std::string("odd"), TaskStatus::completed, 5, std::nullopt};
  BOOST_TEST(listed(*t.db, completed_odd) == (std::vector<std::string>{id(1)}),
             boost::test_tools::per_element());
  store::ListQuery completed{"acct_1", std::nullopt, TaskStatus::completed, 1, std::nullopt};
  BOOST_TEST(listed(*t.db, completed) == (std::vector<std::string>{id(4), id(1)}),
             boost::test_tools::per_element());
}

namespace {

// Removes a task's record and keeps its index entries: what a damaged data directory
// could hold. The listing skips such an entry rather than answer with a hole.
void drop_record(Db& db, const Ulid& id) {
  rocksdb::WriteBatch batch;
  batch.Delete(db.cf(Cf::tasks), keys::task_key(id));
  BOOST_REQUIRE(db.write(batch, false).ok());
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_cursor_is_given_only_when_a_readable_task_follows) {
  TempDb t;
  std::vector<Ulid> made(4);
  std::vector<Task> tasks;
  for (int i = 0; i < 4; ++i) {
    tasks.push_back(make_task("acct_1", "x", made[i], 4000 + i));
    commit(*t.db, nullptr, tasks[i], made[i]);
  }
  drop_record(*t.db, made[0]);  // the oldest: nothing readable after task 1
  drop_record(*t.db, made[2]);  // one in the middle: skipped, task 1 still follows task 3
  using Pages = std::vector<std::vector<std::string>>;
  for (auto status : {std::optional<TaskStatus>{}, std::optional<TaskStatus>{TaskStatus::pending}}) {
    store::ListQuery query{"acct_1", std::nullopt, status, 1, std::nullopt};
    // Before, task 1's page got a cursor (task 0's index entry) that led to an empty page.
    BOOST_TEST((pages(*t.db, query) == Pages{{tasks[3].id}, {tasks[1].id}}));
    query.limit = 2;
    BOOST_TEST((pages(*t.db, query) == Pages{{tasks[3].id, tasks[1].id}}));
  }
}

// The pending and claimed listings walk back in time by windows, each read forward; these
// tasks put live entries in every shape of window: weeks old, a burst an hour ago bigger
// than a dense window, more than a dense window in one millisecond, seconds old, thousands
// finished (deleted keys) at the new end, and ids dated past the clock.
BOOST_AUTO_TEST_CASE(active_listings_page_through_bursts_deleted_keys_and_any_age) {
  TempDb t;
  UlidGenerator generator(7);
  const Millis now = wall_now_ms();
  std::vector<Task> live;
  auto add = [&](Millis at, TaskStatus status, const std::string& type = "x") {
    Ulid id;
    Task task = make_task("acct_1", type, id, at, generator);
    commit(*t.db, nullptr, task, id);
    if (status != TaskStatus::pending) {
      Task next = task;
      next.status = status;
      commit(*t.db, &task, next, id);
      task = next;
    }
    if (status == TaskStatus::pending || status == TaskStatus::claimed) live.push_back(task);
  };
  for (int day = 30; day > 0; day -= 7) add(now - day * 86'400'000LL, TaskStatus::pending);
  for (int i = 0; i < 3000; ++i) {
    add(now - 3'600'000 + i / 3, i % 5 == 0 ? TaskStatus::claimed : TaskStatus::pending);
  }
  for (int i = 0; i < 1500; ++i) add(now - 600'000, TaskStatus::pending, i % 3 == 0 ? "y" : "x");
  for (int i = 0; i < 20; ++i) add(now - 20'000 + i * 500, TaskStatus::pending);
  for (int i = 0; i < 5000; ++i) {
    add(now - 2000 + i / 5, i % 100 == 0 ? TaskStatus::pending : TaskStatus::completed);
  }
  add(now + 3'600'000, TaskStatus::pending, "y");
  add(now + 3'600'001, TaskStatus::claimed);

  for (TaskStatus status : {TaskStatus::pending, TaskStatus::claimed}) {
    for (std::optional<std::string> type : {std::optional<std::string>{}, std::optional<std::string>{"y"}}) {
      std::vector<std::string> expected;
      for (auto it = live.rbegin(); it != live.rend(); ++it) {
        if (it->status == status && (!type || it->type == *type)) expected.push_back(it->id);
      }
      for (int limit : {1, 7, 1000}) {
        store::ListQuery query{"acct_1", type, status, limit, std::nullopt};
        BOOST_TEST(listed(*t.db, query) == expected, boost::test_tools::per_element());
      }
    }
  }
  BOOST_TEST(live.size() > 4000u);
}

// Windows holding more live entries than the page has room for, with unreadable records
// among their newest: the rest of each window is read, below the ids already taken. One
// is a dense burst (three tasks a millisecond), one a sparse run.
BOOST_AUTO_TEST_CASE(unreadable_records_in_a_window_leave_no_hole_in_the_pages) {
  TempDb t;
  UlidGenerator generator(9);
  const Millis now = wall_now_ms();
  std::vector<Ulid> made;
  std::vector<Task> tasks;
  auto add = [&](Millis at) {
    made.emplace_back();
    tasks.push_back(make_task("acct_1", "x", made.back(), at, generator));
    commit(*t.db, nullptr, tasks.back(), made.back());
  };
  for (int i = 0; i < 3000; ++i) add(now - 3'600'000 + i / 3);
  for (int i = 0; i < 50; ++i) add(now - 100'000 + i);
  std::set<std::size_t> dropped{0, 1500, 2990, 2991, 2992, 2993, 2994, 2995, 2996, 2997, 2998, 2999,
                                3020};
  for (std::size_t i = 3044; i < 3050; ++i) dropped.insert(i);
  for (std::size_t i : dropped) drop_record(*t.db, made[i]);
  std::vector<std::string> expected;
  for (std::size_t i = tasks.size(); i-- > 0;) {
    if (!dropped.count(i)) expected.push_back(tasks[i].id);
  }
  for (int limit : {1, 2, 5, 43, 44, 3000}) {
    store::ListQuery query{"acct_1", std::nullopt, TaskStatus::pending, limit, std::nullopt};
    BOOST_TEST(listed(*t.db, query) == expected, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(a_view_reads_the_database_as_it_was_when_taken) {
  TempDb t;
  Ulid a, b;
  Task first = make_task("acct_1", "x", a, 5000);
  commit(*t.db, nullptr, first, a);
  Db::View view = t.db->view();
  Task done = first;
  done.status = TaskStatus::completed;
  commit(*t.db, &first, done, a);
  commit(*t.db, nullptr, make_task("acct_1", "x", b, 5001), b);

  auto then = records::decode_task(*view.get(Cf::tasks, keys::task_key(a)));
  BOOST_REQUIRE(then);
  BOOST_TEST(then->status == TaskStatus::pending);
  BOOST_TEST(!view.get(Cf::tasks, keys::task_key(b)));
  int active = 0;
  auto it = view.iterate(Cf::active);
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++active;
  BOOST_TEST(active == 1);  // task a still live, task b not yet made
  auto now = records::decode_task(*t.db->get(Cf::tasks, keys::task_key(a)));
  BOOST_REQUIRE(now);
  BOOST_TEST(now->status == TaskStatus::completed);
}

BOOST_AUTO_TEST_CASE(requeue_moves_a_dead_letter_back_out_of_the_terminal_index) {
  TempDb t;
  Ulid a;
  Task task = make_task("acct_1", "x", a, 3000);
  commit(*t.db, nullptr, task, a);
  Task dead = task;
  dead.status = TaskStatus::dead_letter;
  commit(*t.db, &task, dead, a);
  store::ListQuery dead_query{"acct_1", std::nullopt, TaskStatus::dead_letter, 10, std::nullopt};
  BOOST_TEST(listed(*t.db, dead_query).size() == 1u);
  Task again = dead;
  again.status = TaskStatus::pending;
  commit(*t.db, &dead, again, a);
  BOOST_TEST(listed(*t.db, dead_query).empty());
  store::ListQuery pending{"acct_1", std::nullopt, TaskStatus::pending, 10, std::nullopt};
  BOOST_TEST(listed(*t.db, pending).size() == 1u);
}

BOOST_AUTO_TEST_CASE(records_survive_reopen) {
  TempDb t;
  Ulid a;
  Task task = make_task("acct_1", "x", a, 4000);
  task.payload_json = "{\"k\":[1,2,3]}";
  commit(*t.db, nullptr, task, a);
  t.reopen();
  auto bytes = t.db->get(Cf::tasks, keys::task_key(a));
  BOOST_REQUIRE(bytes);
  auto back = records::decode_task(*bytes);
  BOOST_REQUIRE(back);
  BOOST_TEST(back->payload_json == task.payload_json);
  BOOST_TEST(back->id == task.id);
}

BOOST_AUTO_TEST_CASE(compaction_drops_expired_idempotency_records_only) {
  TempDb t;
  rocksdb::WriteBatch batch;
  store::write_response(*t.db, batch, "expired", records::StoredResponse{"h", 201, "{}", 1});
  store::write_response(*t.db, batch, "live",
                        records::StoredResponse{"h", 201, "{}", wall_now_ms() + 3600000});
  BOOST_REQUIRE(t.db->write(batch, false).ok());
  BOOST_TEST(t.db->get(Cf::idempotency, "expired").has_value());
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  BOOST_REQUIRE(t.db->raw().CompactRange(options, t.db->cf(Cf::idempotency), nullptr, nullptr).ok());
  BOOST_TEST(!t.db->get(Cf::idempotency, "expired").has_value());
  BOOST_TEST(t.db->get(Cf::idempotency, "live").has_value());
}

// Group commit writes everything a shard queued during one fsync as one batch: the
// records of several batches under one header, applied in order, across families, and
// durable across a reopen.
BOOST_AUTO_TEST_CASE(several_batches_are_written_as_one_in_order) {
  TempDb t;
  rocksdb::WriteBatch first, second, third, empty;
  first.Put(t.db->cf(Cf::meta), "a", "1");
  first.Put(t.db->cf(Cf::meta), "b", "1");
  second.Put(t.db->cf(Cf::meta), "a", "2");  // a later batch wins
  second.Delete(t.db->cf(Cf::meta), "b");
  third.Put(t.db->cf(Cf::accounts), "c", "3");
  auto before = t.db->raw().GetLatestSequenceNumber();
  BOOST_TEST(t.db->write_all({&first, &second, &empty, &third}, true).ok());
  // One write: five operations took five sequence numbers in one group.
  BOOST_TEST(t.db->raw().GetLatestSequenceNumber() == before + 5);
  BOOST_TEST(t.db->write_all({&empty}, true).ok());
  t.reopen();
  BOOST_TEST(t.db->get(Cf::meta, "a").value_or("") == "2");
  BOOST_TEST(!t.db->get(Cf::meta, "b"));
  BOOST_TEST(t.db->get(Cf::accounts, "c").value_or("") == "3");
}

BOOST_AUTO_TEST_CASE(log_lines_are_read_in_seq_order_dropped_and_purged_with_their_task) {
  TempDb t;
  Ulid id{}, other{};
  Task task = make_task("acct_logs", "t", id, 1'767'225'600'000);
  Task neighbour = make_task("acct_logs", "t", other, 1'767'225'600'001);
  commit(*t.db, nullptr, task, id);
  commit(*t.db, nullptr, neighbour, other);
  auto lines_of = [](std::int64_t from, std::int64_t to) {
    std::vector<LogLine> lines;
    for (std::int64_t seq = from; seq <= to; ++seq) {
      lines.push_back(LogLine{seq, 1, "info", "line " + std::to_string(seq), "", "w"});
    }
    return lines;
  };
  {
    rocksdb::WriteBatch batch;
    store::write_log_lines(*t.db, batch, id, lines_of(1, 300));
    store::write_log_lines(*t.db, batch, other, lines_of(1, 3));
    BOOST_REQUIRE(t.db->write(batch, false).ok());
  }
  auto seqs = [&](const Ulid& of, std::int64_t after, std::size_t limit) {
    std::vector<std::int64_t> out;
    for (const LogLine& line : store::read_log_lines(*t.db, of, after, limit)) out.push_back(line.seq);
    return out;
  };
  BOOST_TEST((seqs(id, 0, 3) == std::vector<std::int64_t>{1, 2, 3}));
  BOOST_TEST((seqs(id, 298, 10) == std::vector<std::int64_t>{299, 300}));  // not the neighbour's
  BOOST_TEST(seqs(id, INT64_MAX, 10).empty());
  {
    // A few dropped (point deletes), then many (a range).
    rocksdb::WriteBatch batch;
    store::drop_log_lines(*t.db, batch, id, 1, 11);
    store::drop_log_lines(*t.db, batch, id, 11, 201);
    BOOST_REQUIRE(t.db->write(batch, false).ok());
  }
  BOOST_TEST(seqs(id, 0, 1000).size() == 100u);
  BOOST_TEST(seqs(id, 0, 1).front() == 201);
  // The purge takes the task's lines with it, and leaves the neighbour's.
  task.status = TaskStatus::completed;
  task.log_first_seq = 201;
  task.log_last_seq = 300;
  {
    rocksdb::WriteBatch batch;
    store::write_purge(*t.db, batch, task, id);
    BOOST_REQUIRE(t.db->write(batch, false).ok());
  }
  BOOST_TEST(seqs(id, 0, 1000).empty());
  BOOST_TEST(seqs(other, 0, 1000).size() == 3u);
  t.reopen();
  BOOST_TEST(seqs(id, 0, 1000).empty());
}

BOOST_AUTO_TEST_CASE(queue_facts_are_counted_once_from_the_dead_letters_stored) {
  TempDb t;
  // Two accounts' dead letters and a completed task, as a data directory from before
  // queues were counted holds them.
  for (const std::string account : {"acct_1", "acct_2"}) {
    BOOST_REQUIRE(t.db->write_built([&](rocksdb::WriteBatch& b) {
      b.Put(t.db->cf(Cf::accounts), account, "a");
    }, false).ok());
  }
  auto dead_letter = [&](const std::string& account, const std::string& type, Millis now) {
    Ulid id;
    Task task = make_task(account, type, id, now);
    commit(*t.db, nullptr, task, id);
    Task dead = task;
    dead.status = TaskStatus::dead_letter;
    commit(*t.db, &task, dead, id);
  };
  dead_letter("acct_1", "x", 1000);
  dead_letter("acct_1", "x", 1001);
  dead_letter("acct_1", "y", 1002);
  dead_letter("acct_2", "x", 1003);
  Ulid done;
  Task task = make_task("acct_1", "z", done, 1004);
  commit(*t.db, nullptr, task, done);
  Task completed = task;
  completed.status = TaskStatus::completed;
  commit(*t.db, &task, completed, done);

  BOOST_REQUIRE(store::count_queue_facts(*t.db).ok());
  std::map<std::string, std::int64_t> counted;
  store::scan_queue_facts(*t.db, keys::kQueueFactsPrefix,
                          [&](const keys::QueueFactsKey& key, const QueueFacts& facts) {
                            counted[key.account + "/" + key.type] = facts.dead_lettered;
                          });
  BOOST_TEST(counted.size() == 3u);
  BOOST_TEST(counted["acct_1/x"] == 2);
  BOOST_TEST(counted["acct_1/y"] == 1);
  BOOST_TEST(counted["acct_2/x"] == 1);
  // Only once: counts kept since are not counted again.
  rocksdb::WriteBatch batch;
  store::write_queue_facts(*t.db, batch, keys::queue_facts_key("acct_1", "x"), QueueFacts{7, true, 5});
  BOOST_REQUIRE(t.db->write(batch, false).ok());
  BOOST_REQUIRE(store::count_queue_facts(*t.db).ok());
  auto kept = store::read_queue_facts(*t.db, keys::queue_facts_key("acct_1", "x"));
  BOOST_REQUIRE(kept.has_value());
  BOOST_TEST(kept->dead_lettered == 7);
  BOOST_TEST(kept->paused);
  // An empty queue's facts are deleted, not kept as zeros.
  rocksdb::WriteBatch empty;
  store::write_queue_facts(*t.db, empty, keys::queue_facts_key("acct_1", "y"), QueueFacts{});
  BOOST_REQUIRE(t.db->write(empty, false).ok());
  BOOST_TEST(!t.db->get(Cf::meta, keys::queue_facts_key("acct_1", "y")).has_value());
}
