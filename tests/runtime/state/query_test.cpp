// Label terms, label queries, id queries and filters: every edge rule of COSI's.
#include "runtime/state/query.h"

#include <gtest/gtest.h>

#include "runtime/state/errors.h"

namespace runtime::state {
namespace {

using resource::Labels;

LabelTerm term(std::string key, LabelOp op, std::vector<std::string> values = {},
               bool invert = false) {
  return LabelTerm{std::move(key), op, std::move(values), invert};
}

// Checks the term and its inversion at once.
void expect_term(const LabelTerm& t, const Labels& labels, bool plain, bool inverted) {
  LabelTerm p = t;
  p.invert = false;
  LabelTerm i = t;
  i.invert = true;
  EXPECT_EQ(p.matches(labels), plain) << t.key;
  EXPECT_EQ(i.matches(labels), inverted) << t.key << " inverted";
}

const Labels kLabels{{"app", "web"}, {"empty", ""}, {"size", "10"}, {"mem", "2Gi"}};

TEST(LabelTermTest, Exists) {
  expect_term(term("app", LabelOp::kExists), kLabels, true, false);
  expect_term(term("empty", LabelOp::kExists), kLabels, true, false);
  expect_term(term("missing", LabelOp::kExists), kLabels, false, true);
  // No labels at all: false, and the inversion still applies.
  expect_term(term("app", LabelOp::kExists), Labels{}, false, true);
}

TEST(LabelTermTest, Equal) {
  expect_term(term("app", LabelOp::kEqual, {"web"}), kLabels, true, false);
  expect_term(term("app", LabelOp::kEqual, {"db"}), kLabels, false, true);
  expect_term(term("empty", LabelOp::kEqual, {""}), kLabels, true, false);
  expect_term(term("app", LabelOp::kEqual, {"web", "ignored"}), kLabels, true, false);
  expect_term(term("missing", LabelOp::kEqual, {"web"}), kLabels, false, true);
  // No values: false, inversion applies (the Go server would panic here).
  expect_term(term("app", LabelOp::kEqual, {}), kLabels, false, true);
}

TEST(LabelTermTest, In) {
  expect_term(term("app", LabelOp::kIn, {"db", "web"}), kLabels, true, false);
  expect_term(term("app", LabelOp::kIn, {"db", "cache"}), kLabels, false, true);
  expect_term(term("empty", LabelOp::kIn, {"x", ""}), kLabels, true, false);
  expect_term(term("missing", LabelOp::kIn, {"web"}), kLabels, false, true);
  expect_term(term("app", LabelOp::kIn, {}), kLabels, false, true);
}

TEST(LabelTermTest, LessThanComparesBytes) {
  expect_term(term("app", LabelOp::kLt, {"x"}), kLabels, true, false);
  expect_term(term("app", LabelOp::kLt, {"web"}), kLabels, false, true);
  expect_term(term("app", LabelOp::kLte, {"web"}), kLabels, true, false);
  expect_term(term("app", LabelOp::kLte, {"a"}), kLabels, false, true);
  // Byte-wise: "10" sorts before "9".
  expect_term(term("size", LabelOp::kLt, {"9"}), kLabels, true, false);
  expect_term(term("empty", LabelOp::kLt, {"a"}), kLabels, true, false);
  expect_term(term("size", LabelOp::kLt, {}), kLabels, false, true);
  expect_term(term("size", LabelOp::kLte, {}), kLabels, false, true);
}

TEST(LabelTermTest, MissingKeyUnderOrderingOpsNeverMatchesEvenInverted) {
  for (auto op : {LabelOp::kLt, LabelOp::kLte, LabelOp::kLtNumeric, LabelOp::kLteNumeric}) {
    expect_term(term("missing", op, {"5"}), kLabels, false, false);
    expect_term(term("missing", op, {"5"}), Labels{}, false, false);
  }
}

TEST(LabelTermTest, NumericComparesIntegers) {
  expect_term(term("size", LabelOp::kLtNumeric, {"9"}), kLabels, false, true);
  expect_term(term("size", LabelOp::kLtNumeric, {"11"}), kLabels, true, false);
  expect_term(term("size", LabelOp::kLtNumeric, {"10"}), kLabels, false, true);
  expect_term(term("size", LabelOp::kLteNumeric, {"10"}), kLabels, true, false);
  expect_term(term("size", LabelOp::kLteNumeric, {"-3"}), kLabels, false, true);
  expect_term(term("size", LabelOp::kLtNumeric, {}), kLabels, false, true);
  expect_term(term("n", LabelOp::kLtNumeric, {"0"}), Labels{{"n", "-1"}}, true, false);
}

TEST(LabelTermTest, NumericUnitsAreDecimalOrBinaryCaseInsensitiveAndTrimmed) {
  struct Case {
    std::string value;
    std::string bound;
    bool lte;
  };
  const std::vector<Case> cases = {
      {"1k", "1000", true},       {"1k", "999", false},        {"1ki", "1024", true},
      {"1Ki", "1023", false},     {"1KI", "1024", true},       {"1K", "1000", true},
      {"2m", "2000000", true},    {"1mi", "1048576", true},    {"1Mi", "1048575", false},
      {"1g", "1000000000", true}, {"2Gi", "2147483648", true}, {"1t", "1000000000000", true},
      {"1ti", "1099511627776", true}, {"1p", "1000000000000000", true},
      {"1pi", "1125899906842624", true}, {"1pi", "1125899906842623", false},
      {" 5 ", "5", true},         {"\t7\n", " 6 ", false},     {"3 k", "3000", true},
      {"-2k", "-1999", true},     {"-2k", "-2001", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(term("v", LabelOp::kLteNumeric, {c.bound}).matches(Labels{{"v", c.value}}), c.lte)
        << c.value << " <= " << c.bound;
  }
  EXPECT_TRUE(term("mem", LabelOp::kLtNumeric, {"3g"}).matches(kLabels));  // 2Gi < 3e9
  EXPECT_FALSE(term("mem", LabelOp::kLtNumeric, {"2g"}).matches(kLabels));
}

TEST(LabelTermTest, NumericParseFailureNeverMatchesEvenInverted) {
  for (const std::string bad : {"abc", "", " ", "1kb", "k", "1.5", "--1", "1x", "+1",
                                "99999999999999999999", "10000p", "9000000pi"}) {
    expect_term(term("v", LabelOp::kLtNumeric, {"5"}), Labels{{"v", bad}}, false, false);
    expect_term(term("v", LabelOp::kLteNumeric, {"5"}), Labels{{"v", bad}}, false, false);
    expect_term(term("size", LabelOp::kLtNumeric, {bad}), kLabels, false, false);
  }
}

TEST(LabelQueryTest, TermsAreAnded) {
  LabelQuery q{{term("app", LabelOp::kEqual, {"web"}), term("size", LabelOp::kLtNumeric, {"20"})}};
  EXPECT_TRUE(q.matches(kLabels));
  q.terms.push_back(term("app", LabelOp::kExists, {}, true));
  EXPECT_FALSE(q.matches(kLabels));
  EXPECT_TRUE(LabelQuery{}.matches(Labels{}));
}

TEST(IdQueryTest, SearchesUnanchored) {
  EXPECT_TRUE(IdQuery().matches("anything"));
  EXPECT_TRUE(IdQuery("").matches(""));
  EXPECT_TRUE(IdQuery("b").matches("abc"));
  EXPECT_FALSE(IdQuery("^b").matches("abc"));
  EXPECT_TRUE(IdQuery("^a.c$").matches("abc"));
  EXPECT_FALSE(IdQuery("^a.c$").matches("abcd"));
  EXPECT_EQ(IdQuery("x+").pattern(), "x+");
}

TEST(IdQueryTest, CompileErrorIsInvalidArgument) {
  for (const std::string bad : {"(", "[a-", "a{2,1}", "(?<!x)y"}) {
    try {
      IdQuery q(bad);
      ADD_FAILURE() << "pattern " << bad << " compiled";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(ResourceFilterTest, QueriesAreOredAndTheIdQueryAnded) {
  resource::Metadata md(resource::Pointer{"ns", "T", "node-1"});
  md.labels = kLabels;
  ResourceFilter f;
  EXPECT_TRUE(f.empty());
  EXPECT_TRUE(f.matches(md));

  f.label_queries = {LabelQuery{{term("app", LabelOp::kEqual, {"db"})}},
                     LabelQuery{{term("size", LabelOp::kEqual, {"10"})}}};
  EXPECT_FALSE(f.empty());
  EXPECT_TRUE(f.matches(md));
  f.id_query = IdQuery("^node-");
  EXPECT_TRUE(f.matches(md));
  f.id_query = IdQuery("^other");
  EXPECT_FALSE(f.matches(md));

  ResourceFilter none;
  none.label_queries = {LabelQuery{{term("app", LabelOp::kEqual, {"db"})}}};
  EXPECT_FALSE(none.matches(md));
}

}  // namespace
}  // namespace runtime::state
