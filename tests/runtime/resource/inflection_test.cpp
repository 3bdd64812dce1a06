// Tests of the English inflection rules. Expected values are what go-pluralize v0.2.1 (the library
// COSI validates type names with) returns for the same words.
#include "runtime/resource/inflection.h"

#include <gtest/gtest.h>

namespace runtime::resource::inflection {
namespace {

struct Case {
  const char* word;
  bool plural;
  const char* singular;
};

// Names each case by its word in test names and ctest entries, not by the struct's bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << '"' << c.word << '"'; }

class Inflection : public testing::TestWithParam<Case> {};

TEST_P(Inflection, AgreesWithGoPluralize) {
  EXPECT_EQ(is_plural(GetParam().word), GetParam().plural) << GetParam().word;
  EXPECT_EQ(singular(GetParam().word), GetParam().singular) << GetParam().word;
}

INSTANTIATE_TEST_SUITE_P(
    ResourceNames, Inflection,
    testing::Values(
        Case{"Members", true, "Member"}, Case{"Affiliates", true, "Affiliate"},
        Case{"Identities", true, "Identity"}, Case{"Infos", true, "Info"},
        Case{"Configs", true, "Config"}, Case{"KubeSpanPeerSpecs", true, "KubeSpanPeerSpec"},
        Case{"NodeAddresses", true, "NodeAddress"}, Case{"Nodenames", true, "Nodename"},
        Case{"MachineTypes", true, "MachineType"},
        Case{"HostnameStatuses", true, "HostnameStatus"},
        Case{"AddressStatuses", true, "AddressStatus"},
        Case{"ResourceDefinitions", true, "ResourceDefinition"},
        Case{"Namespaces", true, "Namespace"}, Case{"DiscoveryConfigs", true, "DiscoveryConfig"},
        Case{"DeviceConfigSpecs", true, "DeviceConfigSpec"},
        Case{"KubeSpanIdentities", true, "KubeSpanIdentity"},
        Case{"SystemInformations", true, "SystemInformation"}, Case{"Endpoints", true, "Endpoint"},
        Case{"CertSANs", true, "CertSAN"}, Case{"Policies", true, "Policy"},
        Case{"Processes", true, "Process"}, Case{"Keys", true, "Key"}));

INSTANTIATE_TEST_SUITE_P(
    Singulars, Inflection,
    testing::Values(Case{"Member", false, "Member"}, Case{"Info", false, "Info"},
                    Case{"Config", false, "Config"}, Case{"Identity", false, "Identity"},
                    Case{"Status", false, "Status"}, Case{"Address", false, "Address"},
                    Case{"Test", false, "Test"},
                    // go-pluralize reads the "us" of CPUs as a singular ending (like "bus").
                    Case{"CPUs", false, "CPUs"}));

INSTANTIATE_TEST_SUITE_P(
    EnglishEdges, Inflection,
    testing::Values(
        Case{"Aliases", true, "Alias"}, Case{"Movies", true, "Movie"},
        Case{"Houses", true, "House"}, Case{"Buses", true, "Bus"},
        Case{"Analyses", true, "Analysis"}, Case{"Data", true, "Datum"},
        Case{"Metadata", true, "Metadatum"}, Case{"People", true, "Person"},
        Case{"KubePeople", true, "KubePerson"}, Case{"Indices", true, "Index"},
        Case{"Indexes", true, "Index"}, Case{"Quizzes", true, "Quiz"},
        Case{"Series", true, "Series"}, Case{"Knives", true, "Knife"},
        Case{"Leaves", true, "Leaf"}, Case{"Heroes", true, "Hero"}, Case{"Mice", true, "Mouse"},
        Case{"Information", true, "Information"}, Case{"Firmware", true, "Firmware"},
        Case{"Ideas", true, "Idea"}, Case{"Schemas", true, "Schema"}, Case{"Boxes", true, "Box"},
        Case{"Patches", true, "Patch"}, Case{"Wolves", true, "Wolf"}, Case{"Lives", true, "Life"},
        Case{"Olives", true, "Olive"}, Case{"Children", true, "Child"}, Case{"Men", true, "Man"},
        Case{"Women", true, "Woman"}, Case{"Specimens", true, "Specimen"},
        Case{"Tomatoes", true, "Tomato"}, Case{"Echoes", true, "Echo"}));

TEST(Inflection, DeliberateDifferenceFromGoPluralize) {
  // go-pluralize gives "Cach"; "Cache" is what a display name wants.
  EXPECT_TRUE(is_plural("ImageCaches"));
  EXPECT_EQ(singular("ImageCaches"), "ImageCache");
}

TEST(Inflection, PluralForms) {
  EXPECT_EQ(plural("Member"), "Members");
  EXPECT_EQ(plural("Identity"), "Identities");
  EXPECT_EQ(plural("Key"), "Keys");
  EXPECT_EQ(plural("Status"), "Statuses");
  EXPECT_EQ(plural("Address"), "Addresses");
  EXPECT_EQ(plural("Patch"), "Patches");
  EXPECT_EQ(plural("Analysis"), "Analyses");
  EXPECT_EQ(plural("Info"), "Infos");
  EXPECT_EQ(plural("KubePerson"), "KubePeople");
  EXPECT_EQ(plural("Child"), "Children");
  EXPECT_EQ(plural("MEMBER"), "MEMBERS");
  EXPECT_EQ(plural(""), "");
  EXPECT_FALSE(is_plural(""));
}

}  // namespace
}  // namespace runtime::resource::inflection
