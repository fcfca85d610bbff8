# bi secret_version empty
# expect: between 1 and 256 characters
resource "dataplatform_bi_service" "x" {
  name           = "metabase"
  engine         = "metabase"
  secret_version = ""  # <-
}
