# bi encryption key from a Secret with an empty key
# expect: a Secret data key
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  secrets {
    encryption_key_secret {
      name = "metabase-keys"
      key  = ""  # <-
    }
  }
}
