// jxskiss base62 and machine-id vectors (values computed with the Go libraries Talos uses).
#include "controllers/internal/base62.h"

#include <gtest/gtest.h>

#include "controllers/cluster/node_identity.h"

namespace controllers {
namespace {

TEST(Base62, TalosVectorsDecodeTo32BytesAndReencode) {
  for (const char* id : {"sou7yy34ykX3n373Zw1DXKb8zD7UnyKT6HT3QDsGH6L",
                         "gvqfS27LxD58lPlASmpaueeRVzuof16iXoieRgEvBWaE"}) {
    auto bytes = internal::base62_decode(id);
    EXPECT_EQ(bytes.size(), 32u) << id;
    EXPECT_EQ(internal::base62_encode(bytes), id);
  }
  EXPECT_EQ(cluster::machine_id("sou7yy34ykX3n373Zw1DXKb8zD7UnyKT6HT3QDsGH6L"),
            "be871ac0d0dd31fa4caca753b0f3f1b2");
  EXPECT_EQ(cluster::machine_id("gvqfS27LxD58lPlASmpaueeRVzuof16iXoieRgEvBWaE"),
            "8d2c0de2408fa2a178bad7f45d9aa8fb");
}

TEST(Base62, GeneratedIdsAreFreshAndOfTalosLength) {
  for (int i = 0; i < 200; ++i) {
    auto a = cluster::generate_node_id();
    EXPECT_GE(a.size(), 43u);
    EXPECT_LE(a.size(), 45u);
    EXPECT_EQ(internal::base62_decode(a).size(), 32u);
    EXPECT_NE(a, cluster::generate_node_id());
  }
}

TEST(Base62, IllegalCharacterIsNamed) {
  try {
    internal::base62_decode("abc-def");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "illegal base62 data at input byte 3");
  }
}

}  // namespace
}  // namespace controllers
