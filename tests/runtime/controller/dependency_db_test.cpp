// Dependency database: registration conflicts and dependent lookups.
#include "runtime/controller/internal/dependency_db.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/state/errors.h"

namespace runtime::controller::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string add_error(DependencyDatabase& db, const std::string& name,
                      const std::vector<Input>& inputs, const std::vector<Output>& outputs) {
  try {
    db.add_controller(name, inputs, outputs);
  } catch (const state::Error& e) {
    EXPECT_EQ(e.code(), state::ErrorCode::kInvalidArgument);
    return e.what();
  }
  return "";
}

TEST(DependencyDatabase, RefusesDuplicateControllerName) {
  DependencyDatabase db;
  db.add_controller("A", {}, {{"T1", OutputKind::kExclusive}});
  EXPECT_THAT(add_error(db, "A", {}, {}), HasSubstr("already registered"));
}

TEST(DependencyDatabase, RefusesExclusiveOutputClaimedTwice) {
  DependencyDatabase db;
  db.add_controller("A", {}, {{"T1", OutputKind::kExclusive}});
  EXPECT_THAT(add_error(db, "B", {}, {{"T1", OutputKind::kExclusive}}),
              HasSubstr("already an exclusive output of A"));
  EXPECT_THAT(add_error(db, "C", {}, {{"T1", OutputKind::kShared}}),
              HasSubstr("already an exclusive output of A"));
}

TEST(DependencyDatabase, RefusesExclusiveOverShared) {
  DependencyDatabase db;
  db.add_controller("A", {}, {{"T1", OutputKind::kShared}});
  db.add_controller("B", {}, {{"T1", OutputKind::kShared}});  // shared by many is fine
  EXPECT_THAT(add_error(db, "C", {}, {{"T1", OutputKind::kExclusive}}),
              HasSubstr("already a shared output"));
}

TEST(DependencyDatabase, RefusesSharedOutputListedTwiceByOneController) {
  DependencyDatabase db;
  EXPECT_THAT(add_error(db, "A", {}, {{"T1", OutputKind::kShared}, {"T1", OutputKind::kShared}}),
              HasSubstr("declared twice"));
}

TEST(DependencyDatabase, RefusesDuplicateInputs) {
  DependencyDatabase db;
  EXPECT_THAT(add_error(db, "A",
                        {{"ns", "T0", std::nullopt, InputKind::kWeak},
                         {"ns", "T0", std::nullopt, InputKind::kStrong}},
                        {}),
              HasSubstr("duplicate input ns/T0"));
  EXPECT_THAT(
      add_error(db, "A", {{"ns", "T0", "x", InputKind::kWeak}, {"ns", "T0", "x", InputKind::kWeak}},
                {}),
      HasSubstr("duplicate input ns/T0/x"));
}

TEST(DependencyDatabase, FailedRegistrationChangesNothing) {
  DependencyDatabase db;
  db.add_controller("A", {}, {{"T1", OutputKind::kExclusive}});
  // T2 is fine but T1 conflicts: neither may be recorded for B.
  add_error(db, "B", {{"ns", "T0", std::nullopt, InputKind::kWeak}},
            {{"T2", OutputKind::kExclusive}, {"T1", OutputKind::kExclusive}});
  EXPECT_THAT(db.dependents(resource::Kind{"ns", "T0"}), IsEmpty());
  db.add_controller("B", {}, {{"T2", OutputKind::kExclusive}});
}

TEST(DependencyDatabase, LooksUpDependentsByIdAndByKind) {
  DependencyDatabase db;
  db.add_controller("A", {{"ns", "T0", std::nullopt, InputKind::kWeak}}, {});
  db.add_controller("B", {{"ns", "T0", "x", InputKind::kStrong}}, {});
  db.add_controller("C", {{"ns", "T0", "y", InputKind::kDestroyReady}}, {});
  db.add_controller("D", {{"other", "T0", std::nullopt, InputKind::kWeak}}, {});

  EXPECT_THAT(db.dependents(resource::Pointer{"ns", "T0", "x"}),
              ElementsAre(Dependent{"B", "x", InputKind::kStrong},
                          Dependent{"A", std::nullopt, InputKind::kWeak}));
  EXPECT_THAT(db.dependents(resource::Pointer{"ns", "T0", "z"}),
              ElementsAre(Dependent{"A", std::nullopt, InputKind::kWeak}));
  EXPECT_THAT(db.dependents(resource::Kind{"ns", "T0"}),
              ElementsAre(Dependent{"A", std::nullopt, InputKind::kWeak},
                          Dependent{"B", "x", InputKind::kStrong},
                          Dependent{"C", "y", InputKind::kDestroyReady}));
  EXPECT_THAT(db.dependents(resource::Kind{"ns", "T9"}), IsEmpty());
  EXPECT_THAT(db.input_kinds(),
              ElementsAre(resource::Kind{"ns", "T0"}, resource::Kind{"other", "T0"}));
}

TEST(DependencyDatabase, UpdatesInputsAtRunTime) {
  DependencyDatabase db;
  db.add_controller("A", {{"ns", "T0", std::nullopt, InputKind::kWeak}}, {});
  db.update_inputs("A", {{"ns", "T5", "only", InputKind::kWeak}});
  EXPECT_THAT(db.dependents(resource::Kind{"ns", "T0"}), IsEmpty());
  EXPECT_THAT(db.dependents(resource::Pointer{"ns", "T5", "only"}),
              ElementsAre(Dependent{"A", "only", InputKind::kWeak}));
  EXPECT_THAT(db.input_kinds(), ElementsAre(resource::Kind{"ns", "T5"}));

  // A bad update changes nothing.
  EXPECT_THROW(db.update_inputs("A", {{"ns", "T6", std::nullopt, InputKind::kWeak},
                                      {"ns", "T6", std::nullopt, InputKind::kWeak}}),
               state::Error);
  EXPECT_THAT(db.inputs("A"), ElementsAre(Input{"ns", "T5", "only", InputKind::kWeak}));
  EXPECT_THROW(db.update_inputs("nobody", {}), state::Error);
}

}  // namespace
}  // namespace runtime::controller::internal
