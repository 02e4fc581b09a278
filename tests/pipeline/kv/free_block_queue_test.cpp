// FreeBlockQueue: order of push_front / push_back / pop_front, removal from the middle, misuse.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <vector>

#include "pipeline/kv/free_block_queue.hpp"

namespace troupe {

TEST_CASE("kv: free block queue keeps front and back order and removes from the middle", "[kv]") {
  FreeBlockQueue q(8);
  CHECK(q.empty());
  q.push_back(3);
  q.push_back(5);
  q.push_front(1);
  q.push_back(7);
  CHECK(q.to_vector() == std::vector<int32_t>{1, 3, 5, 7});
  CHECK(q.size() == 4);
  q.remove(5);
  CHECK(q.to_vector() == std::vector<int32_t>{1, 3, 7});
  q.remove(1);
  q.remove(7);
  CHECK(q.to_vector() == std::vector<int32_t>{3});
  CHECK(q.front() == 3);
  CHECK(q.pop_front() == 3);
  CHECK(q.empty());
  q.push_front(0);
  q.push_front(2);
  CHECK(q.to_vector() == std::vector<int32_t>{2, 0});
  CHECK(q.contains(2));
  CHECK_FALSE(q.contains(3));
  CHECK_FALSE(q.contains(-1));
  CHECK_FALSE(q.contains(8));
}

TEST_CASE("kv: free block queue rejects double pushes and removal of absent blocks", "[kv]") {
  FreeBlockQueue q(4);
  q.push_back(1);
  CHECK_THROWS_AS(q.push_back(1), std::logic_error);
  CHECK_THROWS_AS(q.push_front(1), std::logic_error);
  CHECK_THROWS_AS(q.remove(2), std::logic_error);
  q.pop_front();
  CHECK_THROWS_AS(q.pop_front(), std::logic_error);
}

}  // namespace troupe
