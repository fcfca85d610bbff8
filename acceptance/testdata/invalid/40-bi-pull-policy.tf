# bi pull policy
# expect: Sometimes
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  image {
    pull_policy = "Sometimes"  # <-
  }
}
