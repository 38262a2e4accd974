// Fuzz target: the storage encodings (store/keys.hpp, store/records.hpp) read back what is
// on disk, so they must take any bytes. The first byte picks the decoder, the rest is
// what it reads.
//
// Properties: nothing crashes or reads out of bounds; whatever decodes encodes to bytes
// that decode to the same thing (encode(decode(x)) is a fixed point), and a decoded key
// names the same task when it is made again.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ulid.hpp"
#include "property.hpp"
#include "store/keys.hpp"
#include "store/records.hpp"

namespace baton::fuzz {
namespace {

// decode, encode, decode again, encode again: the two encodings agree.
template <typename Decode, typename Encode>
void expect_stable(std::string_view bytes, Decode decode, Encode encode, std::string_view what) {
  auto first = decode(bytes);
  if (!first) return;
  std::string encoded = encode(*first);
  auto second = decode(encoded);
  expect(second.has_value(), "an encoding decodes", what);
  expect(encode(*second) == encoded, "encode(decode(x)) is a fixed point", what);
}

}  // namespace
}  // namespace baton::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace baton;
  using namespace baton::fuzz;
  using namespace baton::keys;
  using namespace baton::records;
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0:
      expect_stable(bytes, decode_task, encode_task, "task");
      break;
    case 1:
      expect_stable(bytes, decode_active, encode_active, "active entry");
      break;
    case 2:
      expect_stable(bytes, decode_account, encode_account, "account");
      break;
    case 3:
      expect_stable(bytes, decode_key, encode_key, "api key");
      break;
    case 4:
      expect_stable(bytes, decode_response, encode_response, "stored response");
      break;
    case 5:
      if (auto id = task_key_id(bytes)) {
        expect(task_key_id(task_key(*id)) == id, "a task key names its task again");
      }
      break;
    case 6:
      if (auto key = decode_active_key(bytes)) {
        auto again = decode_active_key(active_key(key->account, key->id));
        expect(again && again->account == key->account && again->id == key->id,
               "an active key decodes to its account and task again");
      }
      break;
    case 7:
      if (auto id = list_key_id(bytes)) {
        std::string key = list_key(ListIndex::all, "acct", "type", TaskStatus::pending, *id);
        expect(list_key_id(key) == id, "a listing key names its task again");
      }
      break;
  }
  return 0;
}
