#include "dns/serial.hpp"

#include <gtest/gtest.h>

using satellite::dns::serial_newer;
using satellite::dns::serial_older;

// RFC 1982 §3.2 and §5 examples.
TEST(Serial, NewerAndOlder) {
    EXPECT_TRUE(serial_newer(2, 1));
    EXPECT_FALSE(serial_newer(1, 2));
    EXPECT_FALSE(serial_newer(7, 7));
    EXPECT_TRUE(serial_older(1000, 2000));
    EXPECT_FALSE(serial_older(2000, 1000));
}

TEST(Serial, WrapsAround) {
    EXPECT_TRUE(serial_newer(0, 0xffffffffu));
    EXPECT_TRUE(serial_newer(5, 0xfffffff0u));
    EXPECT_FALSE(serial_newer(0xfffffff0u, 5));
    EXPECT_TRUE(serial_newer(0x7fffffffu, 0));  // the largest step forward
}

TEST(Serial, HalfwayApartIsUndefinedAndNeitherIsNewer) {
    EXPECT_FALSE(serial_newer(0x80000000u, 0));
    EXPECT_FALSE(serial_newer(0, 0x80000000u));
    EXPECT_FALSE(serial_newer(0x80000010u, 0x10));
}
