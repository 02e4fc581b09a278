// The one translation unit that compiles Boost.JSON (header-only mode). Everything else includes
// <boost/json.hpp> and links troupe_common.
#include <boost/json/src.hpp>
