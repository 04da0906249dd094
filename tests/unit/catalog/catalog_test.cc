#include "finlake/catalog/catalog.h"

#include <gtest/gtest.h>

#include "testing/test_env.h"

namespace finlake::catalog {
namespace {

TEST(Catalog, BuiltinNamespacesAndTables) {
  testing::ScratchDir dir;
  auto catalog = Catalog::Open(dir.path() + "/catalog.db", /*create=*/true);
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ(*(*catalog)->ListNamespaces(), (std::vector<std::string>{"bronze", "gold", "silver", "system"}));
  TableEntry entry{"silver", "bars_1d", "/x/silver/bars_1d", "daily bars", "me", "", false};
  ASSERT_TRUE((*catalog)->AddTable(entry).ok());
  EXPECT_EQ((*catalog)->AddTable(entry).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ((*catalog)->GetTable("silver", "bars_1d")->location, "/x/silver/bars_1d");
  auto missing = (*catalog)->GetTable("silver", "nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("silver.nope"), std::string::npos);
  EXPECT_EQ((*catalog)->GetTable("nowhere", "t").status().message().find("no namespace 'nowhere'") != std::string::npos, true);
  EXPECT_FALSE((*catalog)->CreateNamespace("Bad-Name", "").ok());
  EXPECT_FALSE(SplitQualifiedName("justone").ok());
  EXPECT_EQ(SplitQualifiedName("Silver.Bars")->second, "bars");
  // A second handle (another process in real use) sees the same state.
  auto again = Catalog::Open(dir.path() + "/catalog.db", /*create=*/false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->ListTables(std::string("silver"))->size(), 1u);
}

TEST(Catalog, OpeningAMissingCatalogSaysHowToCreateIt) {
  testing::ScratchDir dir;
  auto catalog = Catalog::Open(dir.path() + "/none.db", /*create=*/false);
  ASSERT_FALSE(catalog.ok());
  EXPECT_NE(catalog.status().message().find("finlake init"), std::string::npos);
}

}  // namespace
}  // namespace finlake::catalog
