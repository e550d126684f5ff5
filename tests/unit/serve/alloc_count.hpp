// Counts operator new while enabled, to pin the query path's "no heap
// allocation" (OpenSSL allocates with malloc and is not counted). The
// replaced operators live in alloc_count.cpp, for the whole test binary.
#pragma once

#include <cstddef>

namespace satellite::testing {

// Starts counting from zero.
void start_counting_allocs();
// Stops counting; returns how many operator new calls there were.
std::size_t stop_counting_allocs();

}  // namespace satellite::testing
